// AVX-512 dense-scan dot products: coordinates along lanes, each row loaded once (widened
// from float16 / bfloat16 / int8 on load) and multiplied into up to 4 queries, one to four
// rows at a time, with two accumulators per (row, query) to hide FMA latency. Several rows
// at once also keep several memory streams in flight, which one core needs to approach the
// memory's read bandwidth.
#include <immintrin.h>

#include "avx512_widen.h"
#include "scan_kernels.h"

namespace muvera_nano::scan_detail {
namespace {

using avx512::widen16;

// RB rows at once against NQ queries: each query chunk is loaded once for RB rows (with one
// row at a time, re-reading a 10,240-float query from L2 for every row cost as much as the row).
// Each row's arithmetic is the same for any RB (two accumulators, even and odd 16-coordinate
// chunks, then the same tail and reduction), so a row's score never depends on its neighbours.
template <DType T, int NQ, int RB>
inline __attribute__((always_inline)) void dots_rows(const float* q, const RowStore& rows, int64_t begin, int64_t n,
                                                     int64_t j, float* out) {
  const int64_t cols = rows.cols;
  const int64_t full = cols & ~int64_t{31};
  const unsigned char* row[RB];
  for (int r = 0; r < RB; ++r) row[r] = rows.data + (begin + j + r) * rows.row_stride;
  __m512 a0[RB][NQ], a1[RB][NQ];
  for (int r = 0; r < RB; ++r)
    for (int i = 0; i < NQ; ++i) a0[r][i] = a1[r][i] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k < full; k += 32) {
    __m512 q0[NQ], q1[NQ];
    for (int i = 0; i < NQ; ++i) {
      q0[i] = _mm512_loadu_ps(q + i * cols + k);
      q1[i] = _mm512_loadu_ps(q + i * cols + k + 16);
    }
    for (int r = 0; r < RB; ++r) {
      const __m512 x0 = widen16<T, true>(row[r], k, 0), x1 = widen16<T, true>(row[r], k + 16, 0);
      for (int i = 0; i < NQ; ++i) {
        a0[r][i] = _mm512_fmadd_ps(q0[i], x0, a0[r][i]);
        a1[r][i] = _mm512_fmadd_ps(q1[i], x1, a1[r][i]);
      }
    }
  }
  for (; k < cols; k += 16) {
    const int64_t left = cols - k;
    const __mmask16 m = left >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << left) - 1);
    for (int r = 0; r < RB; ++r) {
      const __m512 x = widen16<T, false>(row[r], k, m);
      for (int i = 0; i < NQ; ++i) a0[r][i] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + i * cols + k), x, a0[r][i]);
    }
  }
  for (int r = 0; r < RB; ++r) {
    const float scale = T == DType::i8 ? load<float>(rows.scales + (begin + j + r) * rows.scale_stride) : 1.0f;
    for (int i = 0; i < NQ; ++i) {
      const float dot = _mm512_reduce_add_ps(_mm512_add_ps(a0[r][i], a1[r][i]));
      out[i * n + j + r] = T == DType::i8 ? dot * scale : dot;
    }
  }
}

template <DType T, int NQ>
void dots_nq(const float* q, const RowStore& rows, int64_t begin, int64_t n, float* out) {
  constexpr int RB = NQ == 1 ? 4 : (NQ == 2 ? 2 : 1);  // at most 16 accumulators
  int64_t j = 0;
  for (; j + RB <= n; j += RB) dots_rows<T, NQ, RB>(q, rows, begin, n, j, out);
  for (; j < n; ++j) dots_rows<T, NQ, 1>(q, rows, begin, n, j, out);
}

template <DType T>
void dots(const float* q, int nq, const RowStore& rows, int64_t begin, int64_t n, float* out) {
  switch (nq) {
    case 1: dots_nq<T, 1>(q, rows, begin, n, out); break;
    case 2: dots_nq<T, 2>(q, rows, begin, n, out); break;
    case 3: dots_nq<T, 3>(q, rows, begin, n, out); break;
    default: dots_nq<T, 4>(q, rows, begin, n, out); break;
  }
}

}  // namespace

DotsTable avx512_dots() {
  return {dots<DType::f32>, dots<DType::f16>, dots<DType::bf16>, dots<DType::i8>};
}

}  // namespace muvera_nano::scan_detail
