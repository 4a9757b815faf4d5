// AVX2 dense-scan dot products: the AVX-512 scheme (several rows at once) with 8 lanes;
// tails use a scalar loop.
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

// RB rows at once, each query chunk loaded once for all of them; a row's arithmetic is the
// same for any RB, so its score never depends on its neighbours (see scan_avx512.cpp).
template <DType T, int NQ, int RB>
inline __attribute__((always_inline)) void dots_rows(const float* q, const RowStore& rows, int64_t begin, int64_t n,
                                                     int64_t j, float* out) {
  const int64_t cols = rows.cols;
  const int64_t full = cols & ~int64_t{15};
  const unsigned char* row[RB];
  for (int r = 0; r < RB; ++r) row[r] = rows.data + (begin + j + r) * rows.row_stride;
  __m256 a0[RB][NQ], a1[RB][NQ];
  for (int r = 0; r < RB; ++r)
    for (int i = 0; i < NQ; ++i) a0[r][i] = a1[r][i] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k < full; k += 16) {
    __m256 q0[NQ], q1[NQ];
    for (int i = 0; i < NQ; ++i) {
      q0[i] = _mm256_loadu_ps(q + i * cols + k);
      q1[i] = _mm256_loadu_ps(q + i * cols + k + 8);
    }
    for (int r = 0; r < RB; ++r) {
      const __m256 x0 = widen8<T>(row[r], k), x1 = widen8<T>(row[r], k + 8);
      for (int i = 0; i < NQ; ++i) {
        a0[r][i] = _mm256_fmadd_ps(q0[i], x0, a0[r][i]);
        a1[r][i] = _mm256_fmadd_ps(q1[i], x1, a1[r][i]);
      }
    }
  }
  if (k + 8 <= cols) {
    for (int r = 0; r < RB; ++r) {
      const __m256 x = widen8<T>(row[r], k);
      for (int i = 0; i < NQ; ++i) a0[r][i] = _mm256_fmadd_ps(_mm256_loadu_ps(q + i * cols + k), x, a0[r][i]);
    }
    k += 8;
  }
  for (int r = 0; r < RB; ++r) {
    float dot[NQ];
    for (int i = 0; i < NQ; ++i) dot[i] = hsum(_mm256_add_ps(a0[r][i], a1[r][i]));
    for (int64_t t = k; t < cols; ++t) {
      const float x = value<T>(row[r], t);
      for (int i = 0; i < NQ; ++i) dot[i] += q[i * cols + t] * x;
    }
    const float scale = T == DType::i8 ? load<float>(rows.scales + (begin + j + r) * rows.scale_stride) : 1.0f;
    for (int i = 0; i < NQ; ++i) out[i * n + j + r] = T == DType::i8 ? dot[i] * scale : dot[i];
  }
}

template <DType T, int NQ>
void dots_nq(const float* q, const RowStore& rows, int64_t begin, int64_t n, float* out) {
  constexpr int RB = NQ == 1 ? 4 : (NQ == 2 ? 2 : 1);  // at most 8 accumulators of 16 registers
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

DotsTable avx2_dots() {
  return {dots<DType::f32>, dots<DType::f16>, dots<DType::bf16>, dots<DType::i8>};
}

}  // namespace muvera_nano::scan_detail
