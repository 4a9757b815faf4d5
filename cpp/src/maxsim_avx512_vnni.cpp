// AVX512_VNNI MaxSim for int8 documents: VPDPBUSD multiplies unsigned by signed bytes and
// adds groups of four into int32, four coordinates per instruction. The document row is
// made unsigned by flipping its sign bit (d + 128, into a small buffer); the query
// (signed, along lanes) then contributes the constant 128 * sum(q), removed per lane.
// Integer dots are exact; each is scaled by its document row's scale before the max and
// by the query row's scale after it.
#include <immintrin.h>

#include "maxsim_avx512_common.h"
#include "maxsim_kernels.h"

namespace muvera_nano::maxsim_detail {
namespace {

using namespace avx512;

// Row r of the buffer: the document row + 128 as bytes, zero-padded (i.e. 128) to `width`.
inline void flip_rows(const unsigned char* src, int64_t stride, int n, int64_t dim, int64_t width, uint8_t* dst) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int r = 0; r < n; ++r) {
    const unsigned char* row = src + r * stride;
    for (int64_t k = 0; k < width; k += 64) {
      const int64_t left = dim - k;
      const __mmask64 m = left >= 64 ? ~__mmask64(0) : (left <= 0 ? __mmask64(0) : (__mmask64(1) << left) - 1);
      _mm512_store_si512(dst + r * width + k, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, row + k), flip));
    }
  }
}

template <int QV, int R, bool kCheckNaN>
inline __attribute__((always_inline)) void rows_block(const PackedQuery& q, const int8_t* qp, const int32_t* bias,
                                                      const uint8_t* rows, int64_t width,
                                                      const unsigned char* scales, int64_t sstride,
                                                      const char* pf, LaneMax<QV>& st) {
  __m512i acc[R][QV];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < QV; ++v) acc[r][v] = _mm512_setzero_si512();
  const int64_t quads = (q.dim + 3) / 4, lanes = q.lanes;
  for (int64_t kq = 0; kq < quads; ++kq) {
    // The next block's source rows, prefetched a little per step (one quad = 4 bytes per row).
    _mm_prefetch(pf + kq * 4 * R, _MM_HINT_T0);
    __m512i qv[QV];
#pragma GCC unroll 4
    for (int v = 0; v < QV; ++v) qv[v] = _mm512_loadu_si512(qp + (kq * lanes + 16 * v) * 4);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m512i b = _mm512_set1_epi32(load<int32_t>(rows + r * width + 4 * kq));
#pragma GCC unroll 4
      for (int v = 0; v < QV; ++v) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], b, qv[v]);
    }
  }
  __m512i bv[QV];
  for (int v = 0; v < QV; ++v) bv[v] = _mm512_loadu_si512(bias + 16 * v);
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    const __m512 s = _mm512_set1_ps(load<float>(scales + r * sstride));
#pragma GCC unroll 4
    for (int v = 0; v < QV; ++v) {
      const __m512 x = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][v], bv[v])), s);
      if constexpr (kCheckNaN) st.fold(v, x);
      else st.mx[v] = _mm512_max_ps(x, st.mx[v]);
    }
  }
}

template <int QV, int R, bool kCheckNaN>
void lane_block(const PackedQuery& q, int64_t lb, const DocRows& d, uint8_t* buf, int64_t width, LaneMax<QV>& st) {
  const int8_t* qp = q.i8 + lb * 4;
  const int32_t* bias = q.lane_bias + lb;
  int64_t t = 0;
  for (; t < d.rows; t += R) {
    const int n = static_cast<int>(d.rows - t < R ? d.rows - t : R);
    flip_rows(d.data + t * d.row_stride, d.row_stride, n, q.dim, width, buf);
    const unsigned char* sc = d.scales + t * d.scale_stride;
    const char* pf = reinterpret_cast<const char*>(d.data + (t + n) * d.row_stride);
    if (n == R) {
      rows_block<QV, R, kCheckNaN>(q, qp, bias, buf, width, sc, d.scale_stride, pf, st);
      continue;
    }
    switch (n) {
#define MN_TAIL(k) \
  case k:          \
    if constexpr (k < R) rows_block<QV, k, kCheckNaN>(q, qp, bias, buf, width, sc, d.scale_stride, pf, st); \
    break;
      MN_TAIL(1) MN_TAIL(2) MN_TAIL(3) MN_TAIL(4) MN_TAIL(5) MN_TAIL(6) MN_TAIL(7) MN_TAIL(8) MN_TAIL(9)
      MN_TAIL(10) MN_TAIL(11)
#undef MN_TAIL
      default: break;
    }
  }
}

// Integer dots are finite, so only a non-finite row scale can make a product NaN.
bool scales_finite(const DocRows& d) {
  for (int64_t t = 0; t < d.rows; ++t) {
    const float s = load<float>(d.scales + t * d.scale_stride);
    if (!(s - s == 0.0f)) return false;
  }
  return true;
}

template <bool kCheckNaN>
float score_rows(const PackedQuery& q, const DocRows& d) {
  const int64_t width = (q.dim + 63) / 64 * 64;
  uint8_t* buf = scratch_u8(12 * width);
  ScoreSum sum;
  for (int64_t lb = 0; lb < q.rows; lb += 32) {
    const int64_t valid = q.rows - lb;
    if (valid > 16) {
      LaneMax<2> st;
      lane_block<2, 6, kCheckNaN>(q, lb, d, buf, width, st);
      sum.add(st, valid, q.lane_scale + lb);
    } else {
      LaneMax<1> st;
      lane_block<1, 12, kCheckNaN>(q, lb, d, buf, width, st);
      sum.add(st, valid, q.lane_scale + lb);
    }
  }
  return sum.result();
}

float score(const PackedQuery& q, const DocRows& d) {
  float out;
  if (trivial_score(q, d, &out)) return out;
  return scales_finite(d) ? score_rows<false>(q, d) : score_rows<true>(q, d);
}

}  // namespace

PairFn avx512_vnni_kernel() { return score; }

}  // namespace muvera_nano::maxsim_detail
