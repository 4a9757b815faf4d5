// AVX-512 dense-scan dot products: coordinates along lanes, each row loaded once (widened
// from float16 / bfloat16 / int8 on load) and multiplied into up to 4 queries, with two
// accumulators per query to hide FMA latency. The scan streams rows once, so it runs at
// memory speed for large matrices.
#include <immintrin.h>

#include "scan_kernels.h"

namespace muvera_nano::scan_detail {
namespace {

template <DType T, bool kFull>
inline __attribute__((always_inline)) __m512 widen16(const unsigned char* row, int64_t k, __mmask16 m) {
  if constexpr (T == DType::f32) {
    return kFull ? _mm512_loadu_ps(row + 4 * k) : _mm512_maskz_loadu_ps(m, row + 4 * k);
  } else if constexpr (T == DType::f16) {
    const __m256i h = kFull ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * k))
                            : _mm256_maskz_loadu_epi16(m, row + 2 * k);
    return _mm512_cvtph_ps(h);
  } else if constexpr (T == DType::bf16) {
    const __m256i h = kFull ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * k))
                            : _mm256_maskz_loadu_epi16(m, row + 2 * k);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  } else {
    const __m128i b = kFull ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + k)) : _mm_maskz_loadu_epi8(m, row + k);
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(b));
  }
}

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
