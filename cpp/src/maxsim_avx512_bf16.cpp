// AVX512_BF16 MaxSim for bfloat16 documents: VDPBF16PS multiplies bf16 pairs (the query,
// rounded to bf16, along lanes; a broadcast pair of document coordinates) and accumulates
// in float32, two coordinates per instruction. Products of bf16 values are exact in
// float32; denormal inputs are flushed to zero by the instruction.
#include <immintrin.h>

#include "maxsim_avx512_common.h"
#include "maxsim_kernels.h"

namespace muvera_nano::maxsim_detail {
namespace {

using namespace avx512;

template <int QV, int R>
inline __attribute__((always_inline)) void rows_block(const uint16_t* qp, int64_t lanes, int64_t dim,
                                                      const unsigned char* rows, int64_t stride, LaneMax<QV>& st) {
  // The next block's rows, prefetched a little per step (one pair = 4 bytes per row).
  const char* pf = reinterpret_cast<const char*>(rows + R * stride);
  __m512 acc[R][QV];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < QV; ++v) acc[r][v] = _mm512_setzero_ps();
  const unsigned char* rp[R];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) rp[r] = rows + r * stride;
  const int64_t full = dim / 2;
  for (int64_t kp = 0; kp < full; ++kp) {
    _mm_prefetch(pf + kp * 4 * R, _MM_HINT_T0);
    __m512bh qv[QV];
#pragma GCC unroll 4
    for (int v = 0; v < QV; ++v) qv[v] = (__m512bh)_mm512_loadu_si512(qp + (kp * lanes + 16 * v) * 2);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m512bh b = (__m512bh)_mm512_set1_epi32(load<int32_t>(rp[r] + 4 * kp));
#pragma GCC unroll 4
      for (int v = 0; v < QV; ++v) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], qv[v], b);
    }
  }
  if (dim & 1) {  // last coordinate alone: its pair partner is 0 in both operands
    __m512bh qv[QV];
    for (int v = 0; v < QV; ++v) qv[v] = (__m512bh)_mm512_loadu_si512(qp + (full * lanes + 16 * v) * 2);
    for (int r = 0; r < R; ++r) {
      const __m512bh b = (__m512bh)_mm512_set1_epi32(static_cast<int32_t>(load<uint16_t>(rp[r] + 4 * full)));
      for (int v = 0; v < QV; ++v) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], qv[v], b);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < QV; ++v) st.fold(v, acc[r][v]);
}

template <int QV, int R>
void lane_block(const PackedQuery& q, const uint16_t* qp, const DocRows& d, LaneMax<QV>& st) {
  int64_t t = 0;
  for (; t + R <= d.rows; t += R) rows_block<QV, R>(qp, q.lanes, q.dim, d.data + t * d.row_stride, d.row_stride, st);
  const unsigned char* rows = d.data + t * d.row_stride;
  switch (d.rows - t) {
#define MN_TAIL(n) \
  case n:          \
    if constexpr (n < R) rows_block<QV, n>(qp, q.lanes, q.dim, rows, d.row_stride, st); \
    break;
    MN_TAIL(1) MN_TAIL(2) MN_TAIL(3) MN_TAIL(4) MN_TAIL(5) MN_TAIL(6) MN_TAIL(7) MN_TAIL(8) MN_TAIL(9) MN_TAIL(10)
    MN_TAIL(11)
#undef MN_TAIL
    default: break;
  }
}

float score(const PackedQuery& q, const DocRows& d) {
  float out;
  if (trivial_score(q, d, &out)) return out;
  ScoreSum sum;
  for (int64_t lb = 0; lb < q.rows; lb += 32) {
    const uint16_t* qp = q.bf16 + lb * 2;
    const int64_t valid = q.rows - lb;
    if (valid > 16) {
      LaneMax<2> st;
      lane_block<2, 6>(q, qp, d, st);
      sum.add(st, valid, nullptr);
    } else {
      LaneMax<1> st;
      lane_block<1, 12>(q, qp, d, st);
      sum.add(st, valid, nullptr);
    }
  }
  return sum.result();
}

}  // namespace

PairFn avx512_bf16_dot_kernel() { return score; }

}  // namespace muvera_nano::maxsim_detail
