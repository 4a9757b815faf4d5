// AVX-512 dense-scan dot products: coordinates along lanes, each row loaded once (widened
// from float16 / bfloat16 / int8 on load) and multiplied into up to 4 queries, with two
// accumulators per query to hide FMA latency. The scan streams rows once, so it runs at
// memory speed for large matrices.
#include <immintrin.h>

#include "avx512_widen.h"
#include "scan_kernels.h"

namespace muvera_nano::scan_detail {
namespace {

using avx512::widen16;

template <DType T, int NQ>
void dots_nq(const float* q, const RowStore& rows, int64_t begin, int64_t n, float* out) {
  const int64_t cols = rows.cols;
  const int64_t full = cols & ~int64_t{31};
  for (int64_t j = 0; j < n; ++j) {
    const unsigned char* row = rows.data + (begin + j) * rows.row_stride;
    __m512 a0[NQ], a1[NQ];
    for (int i = 0; i < NQ; ++i) a0[i] = a1[i] = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k < full; k += 32) {
      const __m512 x0 = widen16<T, true>(row, k, 0), x1 = widen16<T, true>(row, k + 16, 0);
      for (int i = 0; i < NQ; ++i) {
        a0[i] = _mm512_fmadd_ps(_mm512_loadu_ps(q + i * cols + k), x0, a0[i]);
        a1[i] = _mm512_fmadd_ps(_mm512_loadu_ps(q + i * cols + k + 16), x1, a1[i]);
      }
    }
    for (; k < cols; k += 16) {
      const int64_t left = cols - k;
      const __mmask16 m = left >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << left) - 1);
      const __m512 x = widen16<T, false>(row, k, m);
      for (int i = 0; i < NQ; ++i) a0[i] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + i * cols + k), x, a0[i]);
    }
    const float scale = T == DType::i8 ? load<float>(rows.scales + (begin + j) * rows.scale_stride) : 1.0f;
    for (int i = 0; i < NQ; ++i) {
      const float dot = _mm512_reduce_add_ps(_mm512_add_ps(a0[i], a1[i]));
      out[i * n + j] = T == DType::i8 ? dot * scale : dot;
    }
  }
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
