// AVX2 dense-scan dot products: the AVX-512 scheme with 8 lanes; tails use a scalar loop.
#include <immintrin.h>

#include "scan_kernels.h"

namespace muvera_nano::scan_detail {
namespace {

template <DType T>
inline __attribute__((always_inline)) __m256 widen8(const unsigned char* row, int64_t k) {
  if constexpr (T == DType::f32) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(row + 4 * k));
  } else if constexpr (T == DType::f16) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * k)));
  } else if constexpr (T == DType::bf16) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * k));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  } else {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + k))));
  }
}

template <DType T>
inline __attribute__((always_inline)) float value(const unsigned char* row, int64_t k) {
  if constexpr (T == DType::f32) return load<float>(row + 4 * k);
  else if constexpr (T == DType::f16) return _cvtsh_ss(load<uint16_t>(row + 2 * k));
  else if constexpr (T == DType::bf16) {
    const uint32_t bits = static_cast<uint32_t>(load<uint16_t>(row + 2 * k)) << 16;
    return load<float>(&bits);
  } else return static_cast<float>(static_cast<int8_t>(row[k]));
}

inline __attribute__((always_inline)) float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

template <DType T, int NQ>
void dots_nq(const float* q, const RowStore& rows, int64_t begin, int64_t n, float* out) {
  const int64_t cols = rows.cols;
  const int64_t full = cols & ~int64_t{15};
  for (int64_t j = 0; j < n; ++j) {
    const unsigned char* row = rows.data + (begin + j) * rows.row_stride;
    __m256 a0[NQ], a1[NQ];
    for (int i = 0; i < NQ; ++i) a0[i] = a1[i] = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k < full; k += 16) {
      const __m256 x0 = widen8<T>(row, k), x1 = widen8<T>(row, k + 8);
      for (int i = 0; i < NQ; ++i) {
        a0[i] = _mm256_fmadd_ps(_mm256_loadu_ps(q + i * cols + k), x0, a0[i]);
        a1[i] = _mm256_fmadd_ps(_mm256_loadu_ps(q + i * cols + k + 8), x1, a1[i]);
      }
    }
    for (; k + 8 <= cols; k += 8) {
      const __m256 x = widen8<T>(row, k);
      for (int i = 0; i < NQ; ++i) a0[i] = _mm256_fmadd_ps(_mm256_loadu_ps(q + i * cols + k), x, a0[i]);
    }
    float dot[NQ];
    for (int i = 0; i < NQ; ++i) dot[i] = hsum(_mm256_add_ps(a0[i], a1[i]));
    for (; k < cols; ++k) {
      const float x = value<T>(row, k);
      for (int i = 0; i < NQ; ++i) dot[i] += q[i * cols + k] * x;
    }
    const float scale = T == DType::i8 ? load<float>(rows.scales + (begin + j) * rows.scale_stride) : 1.0f;
    for (int i = 0; i < NQ; ++i) out[i * n + j] = T == DType::i8 ? dot[i] * scale : dot[i];
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

DotsTable avx2_dots() {
  return {dots<DType::f32>, dots<DType::f16>, dots<DType::bf16>, dots<DType::i8>};
}

}  // namespace muvera_nano::scan_detail
