// Internal, AVX-512 translation units only: 16 stored values (float32, float16, bfloat16 or
// int8) widened exactly to float32, masked when `m` is not full.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "muvera_nano/views.h"

namespace muvera_nano::avx512 {
// Internal linkage: each AVX-512 translation unit gets its own copy.
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

}  // namespace
}  // namespace muvera_nano::avx512
