// AVX-512 (F/BW/DQ/VL) MaxSim: a GEMM micro-kernel with the max fused in. Query rows sit
// along lanes (16 per zmm); each step broadcasts one coordinate of R document rows and
// FMAs it into R x QV accumulators, which are folded into running maxima after the
// coordinate loop. Reduced-precision documents are widened a block of rows at a time
// into an L1-resident buffer and take the same float32 path.
#include <immintrin.h>

#include <limits>

#include "avx512_widen.h"
#include "maxsim_avx512_common.h"
#include "maxsim_kernels.h"

namespace muvera_nano::maxsim_detail {
namespace {

using namespace avx512;
using muvera_nano::avx512::widen16;

// R rows starting at `rows` (stride in bytes) against QV lane vectors at qp ([dim][lanes]).
template <int QV, int R, bool kScaled>
inline __attribute__((always_inline)) void rows_block(const float* qp, int64_t lanes, int64_t dim,
                                                      const unsigned char* rows, int64_t stride,
                                                      const unsigned char* scales, int64_t sstride,
                                                      const char* pf, int64_t pf_step, LaneMax<QV>& st) {
  __m512 acc[R][QV];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < QV; ++v) acc[r][v] = _mm512_setzero_ps();
  const unsigned char* rp[R];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) rp[r] = rows + r * stride;
  for (int64_t k = 0; k < dim; ++k) {
    // Spread the next block's prefetches over this block's compute, one per coordinate.
    _mm_prefetch(pf + k * pf_step, _MM_HINT_T0);
    __m512 qv[QV];
#pragma GCC unroll 4
    for (int v = 0; v < QV; ++v) qv[v] = _mm512_loadu_ps(qp + k * lanes + 16 * v);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m512 b = _mm512_set1_ps(load<float>(rp[r] + 4 * k));
#pragma GCC unroll 4
      for (int v = 0; v < QV; ++v) acc[r][v] = _mm512_fmadd_ps(qv[v], b, acc[r][v]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    __m512 s = _mm512_set1_ps(1.0f);
    if constexpr (kScaled) s = _mm512_set1_ps(load<float>(scales + r * sstride));
#pragma GCC unroll 4
    for (int v = 0; v < QV; ++v) st.fold(v, kScaled ? _mm512_mul_ps(acc[r][v], s) : acc[r][v]);
  }
}

// Widens n rows of a reduced-precision document into dst (n x dim float32).
template <DType S>
inline void widen_rows(const unsigned char* src, int64_t stride, int n, int64_t dim, float* dst) {
  const int64_t full = dim & ~int64_t{15};
  const __mmask16 tail = static_cast<__mmask16>((1u << (dim - full)) - 1);
  for (int r = 0; r < n; ++r) {
    const unsigned char* row = src + r * stride;
    float* out = dst + r * dim;
    for (int64_t k = 0; k < full; k += 16) _mm512_storeu_ps(out + k, widen16<S, true>(row, k, 0));
    if (tail) _mm512_mask_storeu_ps(out + full, tail, widen16<S, false>(row, full, tail));
  }
}

// N rows starting at document row t. f32 rows are read in place; other types from `rows`,
// the block widened earlier.
template <DType S, int QV, int N>
inline __attribute__((always_inline)) void run_rows(const PackedQuery& q, const float* qp, const DocRows& d,
                                                    int64_t t, const float* rows, LaneMax<QV>& st) {
  constexpr bool kScaled = S == DType::i8;
  constexpr int64_t kElemBytes = S == DType::f32 ? 4 : (S == DType::i8 ? 1 : 2);
  const unsigned char* src = d.data + t * d.row_stride;
  const unsigned char* sc = kScaled ? d.scales + t * d.scale_stride : nullptr;
  // Prefetch the rows read next: the next block in place (f32), or the block after it, which
  // is the next to be widened.
  const char* pf = reinterpret_cast<const char*>(src + (S == DType::f32 ? N : 2 * N) * d.row_stride);
  if constexpr (S == DType::f32)
    rows_block<QV, N, false>(qp, q.lanes, q.dim, src, d.row_stride, sc, d.scale_stride, pf, N * kElemBytes, st);
  else
    rows_block<QV, N, kScaled>(qp, q.lanes, q.dim, reinterpret_cast<const unsigned char*>(rows), q.dim * 4, sc,
                               d.scale_stride, pf, N * kElemBytes, st);
}

template <DType S, int QV, int R>
inline void run_block(const PackedQuery& q, const float* qp, const DocRows& d, int64_t t, int n, const float* rows,
                      LaneMax<QV>& st) {
  switch (n) {
#define MN_ROWS(k) \
  case k:          \
    if constexpr (k <= R) run_rows<S, QV, k>(q, qp, d, t, rows, st); \
    break;
    MN_ROWS(1) MN_ROWS(2) MN_ROWS(3) MN_ROWS(4) MN_ROWS(5) MN_ROWS(6) MN_ROWS(7) MN_ROWS(8) MN_ROWS(9) MN_ROWS(10)
    MN_ROWS(11) MN_ROWS(12)
#undef MN_ROWS
    default: break;
  }
}

// All document rows against one lane block, R rows at a time. Reduced-precision rows are
// widened one block ahead into the other half of `buf` (2 x R x dim floats), so the stores
// have retired before the FMA loop broadcasts from them.
template <DType S, int QV, int R>
void lane_block(const PackedQuery& q, const float* qp, const DocRows& d, float* buf, LaneMax<QV>& st) {
  const int64_t dim = q.dim;
  float* cur = buf;
  float* next = buf + R * dim;
  auto rows_at = [&](int64_t t) { return static_cast<int>(d.rows - t < R ? d.rows - t : R); };
  if constexpr (S != DType::f32) widen_rows<S>(d.data, d.row_stride, rows_at(0), dim, cur);
  for (int64_t t = 0; t < d.rows; t += R) {
    if constexpr (S != DType::f32) {
      if (t + R < d.rows) widen_rows<S>(d.data + (t + R) * d.row_stride, d.row_stride, rows_at(t + R), dim, next);
    }
    run_block<S, QV, R>(q, qp, d, t, rows_at(t), cur, st);
    float* tmp = cur;
    cur = next;
    next = tmp;
  }
}

// Blocking: 32 lanes x 6 rows (12 accumulators) or 16 lanes x 12 rows for short tails.
constexpr int kRows2 = 6, kRows1 = 12;

template <DType S>
float score(const PackedQuery& q, const DocRows& d) {
  float out;
  if (trivial_score(q, d, &out)) return out;
  float* buf = S == DType::f32 ? nullptr : scratch_f32(2 * kRows1 * q.dim);
  ScoreSum sum;
  for (int64_t lb = 0; lb < q.rows; lb += 32) {
    const float* qp = q.f32 + lb;
    const int64_t valid = q.rows - lb;
    const float* ls = q.lane_scale ? q.lane_scale + lb : nullptr;
    if (valid > 16) {
      LaneMax<2> st;
      lane_block<S, 2, kRows2>(q, qp, d, buf, st);
      sum.add(st, valid, ls);
    } else {
      LaneMax<1> st;
      lane_block<S, 1, kRows1>(q, qp, d, buf, st);
      sum.add(st, valid, ls);
    }
  }
  return sum.result();
}

}  // namespace

KernelTable avx512_kernels() {
  KernelTable t;
  t.f32 = {score<DType::f32>, Layout::f32_lanes};
  t.f16 = {score<DType::f16>, Layout::f32_lanes};
  t.bf16 = {score<DType::bf16>, Layout::f32_lanes};
  t.i8 = {score<DType::i8>, Layout::f32_lanes};
  return t;
}

}  // namespace muvera_nano::maxsim_detail
