// Internal, AVX2 + FMA + F16C translation units only: 8 float32 lanes; masks are vectors
// (all-ones lanes), turned into bits with movemask.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "muvera_nano/views.h"
#include "simd/simd.h"

namespace muvera_nano::simd {
namespace {

struct Avx2 {
  using F = __m256;
  using Mask = __m256;
  static constexpr int kLanes = 8;

  // 16 registers: 2 query vectors x 6 rows = 12 accumulators.
  static constexpr int kMaxSimWideQV = 2, kMaxSimWideRows = 6;
  static constexpr int kMaxSimNarrowQV = 2, kMaxSimNarrowRows = 6;
  static constexpr int kScanRows(int nq) { return nq == 1 ? 4 : (nq == 2 ? 2 : 1); }  // <= 8 accumulators
  static constexpr int kFdeTokenVecs = 2, kFdeMaxCols = 6, kFdeProjectVecs = 4;

  static MN_INLINE __m256i lanes_ivec(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n > 8 ? 8 : n)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }

  static MN_INLINE F zero() { return _mm256_setzero_ps(); }
  static MN_INLINE F set1(float x) { return _mm256_set1_ps(x); }
  static MN_INLINE F load(const float* p) { return _mm256_load_ps(p); }
  static MN_INLINE F loadu(const void* p) { return _mm256_loadu_ps(static_cast<const float*>(p)); }
  static MN_INLINE F loadu_first(const void* p, int64_t n) {
    return _mm256_maskload_ps(static_cast<const float*>(p), lanes_ivec(n));
  }
  static MN_INLINE void store(float* p, F v) { _mm256_store_ps(p, v); }
  static MN_INLINE void storeu(void* p, F v) { _mm256_storeu_ps(static_cast<float*>(p), v); }
  static MN_INLINE void store_first(void* p, int64_t n, F v) {
    _mm256_maskstore_ps(static_cast<float*>(p), lanes_ivec(n), v);
  }

  static MN_INLINE F add(F a, F b) { return _mm256_add_ps(a, b); }
  static MN_INLINE F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static MN_INLINE F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static MN_INLINE F max(F a, F b) { return _mm256_max_ps(a, b); }
  static MN_INLINE F abs(F a) { return _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff))); }
  static MN_INLINE F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static MN_INLINE float reduce_add(F v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static MN_INLINE float reduce_add_first(F v, int64_t n) {
    return reduce_add(_mm256_and_ps(v, _mm256_castsi256_ps(lanes_ivec(n))));
  }

  static MN_INLINE Mask mask_none() { return _mm256_setzero_ps(); }
  static MN_INLINE Mask nan_mask(F v) { return _mm256_cmp_ps(v, v, _CMP_UNORD_Q); }
  static MN_INLINE Mask gt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  static MN_INLINE Mask mask_or(Mask a, Mask b) { return _mm256_or_ps(a, b); }
  static MN_INLINE Mask mask_and(Mask a, Mask b) { return _mm256_and_ps(a, b); }
  static MN_INLINE F select(Mask m, F a, F b) { return _mm256_blendv_ps(b, a, m); }
  static MN_INLINE Mask eq(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
  static MN_INLINE float reduce_min(F v) {  // lanes without NaN
    __m128 s = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_min_ps(s, _mm_movehl_ps(s, s));
    s = _mm_min_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static MN_INLINE uint32_t bits(Mask m) { return static_cast<uint32_t>(_mm256_movemask_ps(m)); }
  static MN_INLINE bool any_first(Mask m, int64_t n) { return (bits(m) & (n >= 8 ? 0xffu : (1u << n) - 1u)) != 0; }
  static MN_INLINE void or_lanes(uint32_t* p, Mask m, uint32_t bit) {
    __m256i* q = reinterpret_cast<__m256i*>(p);
    const __m256i add = _mm256_and_si256(_mm256_castps_si256(m), _mm256_set1_epi32(static_cast<int>(bit)));
    _mm256_store_si256(q, _mm256_or_si256(_mm256_load_si256(q), add));
  }

  template <DType T>
  static MN_INLINE F widen(const unsigned char* row, int64_t k) {
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
  // No masked 16/8-bit loads before AVX-512: the n values go through a zeroed local copy.
  template <DType T>
  static MN_INLINE F widen_first(const unsigned char* row, int64_t k, int64_t n) {
    if constexpr (T == DType::f32) {
      return loadu_first(row + 4 * k, n);
    } else {
      constexpr int64_t kSize = T == DType::i8 ? 1 : 2;
      alignas(32) unsigned char tmp[32] = {};
      std::memcpy(tmp, row + kSize * k, static_cast<size_t>(n * kSize));
      return widen<T>(tmp, 0);
    }
  }

  static MN_INLINE void transpose(F r[8]) {
    F t[8], u[8];
    for (int k = 0; k < 4; ++k) {
      t[2 * k] = _mm256_unpacklo_ps(r[2 * k], r[2 * k + 1]);
      t[2 * k + 1] = _mm256_unpackhi_ps(r[2 * k], r[2 * k + 1]);
    }
    for (int k = 0; k < 2; ++k) {
      u[4 * k + 0] = _mm256_shuffle_ps(t[4 * k], t[4 * k + 2], 0x44);
      u[4 * k + 1] = _mm256_shuffle_ps(t[4 * k], t[4 * k + 2], 0xee);
      u[4 * k + 2] = _mm256_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0x44);
      u[4 * k + 3] = _mm256_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0xee);
    }
    for (int e = 0; e < 4; ++e) {
      r[e] = _mm256_permute2f128_ps(u[e], u[4 + e], 0x20);
      r[4 + e] = _mm256_permute2f128_ps(u[e], u[4 + e], 0x31);
    }
  }

  struct Norm2 {
    __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  };
  static MN_INLINE void norm2_add(Norm2& n, F v) {
    const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    const __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    n.lo = _mm256_fmadd_pd(lo, lo, n.lo);
    n.hi = _mm256_fmadd_pd(hi, hi, n.hi);
  }
  static MN_INLINE void norm2_store(const Norm2& n, double* out) {
    _mm256_storeu_pd(out, n.lo);
    _mm256_storeu_pd(out + 4, n.hi);
  }

  static MN_INLINE void to_half_store(uint16_t* p, F v) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  static MN_INLINE void to_half_store_first(uint16_t* p, int64_t n, F v) {
    alignas(16) uint16_t tmp[8];
    to_half_store(tmp, v);
    std::memcpy(p, tmp, static_cast<size_t>(n) * 2);
  }

  // 4-bit fast scan (kernels/pq4.h): a step is one nibble pair of 32 rows (32 code bytes); a
  // pair's 16-byte table sits twice in a 32-byte load, once per 128-bit half, for vpshufb.
  // Sums of table bytes accumulate in 16-bit lanes: `a` adds each byte pair as one u16 (even
  // row + 256 x odd row), `b` the odd rows alone (r >> 8), so even = a - (b << 8) mod 2^16.
  using Pq4Codes = __m256i;
  using Pq4Table = __m256i;
  struct Pq4Acc {
    __m256i a, b;
  };
  static constexpr int64_t kPq4PairsPerStep = 1;
  static MN_INLINE Pq4Codes pq4_codes(const uint8_t* p, int64_t) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  static MN_INLINE Pq4Table pq4_table(const uint8_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  static MN_INLINE Pq4Codes pq4_low(Pq4Codes c) { return _mm256_and_si256(c, _mm256_set1_epi8(15)); }
  static MN_INLINE Pq4Codes pq4_high(Pq4Codes c) {
    return _mm256_and_si256(_mm256_srli_epi16(c, 4), _mm256_set1_epi8(15));
  }
  static MN_INLINE Pq4Codes pq4_lookup(Pq4Table t, Pq4Codes idx) { return _mm256_shuffle_epi8(t, idx); }
  static MN_INLINE Pq4Acc pq4_acc_zero() { return {_mm256_setzero_si256(), _mm256_setzero_si256()}; }
  static MN_INLINE void pq4_acc_add(Pq4Acc& acc, Pq4Codes r) {
    acc.a = _mm256_add_epi16(acc.a, r);
    acc.b = _mm256_add_epi16(acc.b, _mm256_srli_epi16(r, 8));
  }
  // sums[0, 32) += the 32 rows' sums, in row order.
  static MN_INLINE void pq4_flush(const Pq4Acc& acc, uint32_t* sums) {
    const __m256i even = _mm256_sub_epi16(acc.a, _mm256_slli_epi16(acc.b, 8)), odd = acc.b;
    const __m256i lo = _mm256_unpacklo_epi16(even, odd);  // rows 0-7 | 16-23
    const __m256i hi = _mm256_unpackhi_epi16(even, odd);  // rows 8-15 | 24-31
    const __m128i part[4] = {_mm256_castsi256_si128(lo), _mm256_castsi256_si128(hi), _mm256_extracti128_si256(lo, 1),
                             _mm256_extracti128_si256(hi, 1)};
    for (int i = 0; i < 4; ++i) {
      __m256i* s = reinterpret_cast<__m256i*>(sums + 8 * i);
      _mm256_storeu_si256(s, _mm256_add_epi32(_mm256_loadu_si256(s), _mm256_cvtepu16_epi32(part[i])));
    }
  }

  static MN_INLINE void prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }
};

}  // namespace
}  // namespace muvera_nano::simd
