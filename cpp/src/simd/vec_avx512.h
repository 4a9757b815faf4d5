// Internal, AVX-512 (F/BW/DQ/VL) translation units only: 16 float32 lanes; masks are __mmask16.
// AVX512_BF16 (vdpbf16ps) and AVX512_VNNI (vpdpbusd) dot steps exist only where their flags are on.
#pragma once

// GCC's -O1 + sanitizer builds report -Wmaybe-uninitialized inside avx512fintrin.h for the
// intentionally undefined vectors behind _mm512_undefined_* (a known false positive); the
// state at the header's own lines decides, so the pragma must precede its first inclusion.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstdint>

#include "muvera_nano/views.h"
#include "simd/simd.h"

namespace muvera_nano::simd {
namespace {

struct Avx512 {
  using F = __m512;
  using Mask = __mmask16;
  static constexpr int kLanes = 16;

  // MaxSim micro-kernel: query vectors x document rows of float32 accumulators (of 32
  // registers); the narrow shape serves the last <= 16 query rows.
  static constexpr int kMaxSimWideQV = 2, kMaxSimWideRows = 6;
  static constexpr int kMaxSimNarrowQV = 1, kMaxSimNarrowRows = 12;
  // Dense scan: rows scored at once for nq queries (2 accumulators per (row, query) <= 16).
  static constexpr int kScanRows(int nq) { return nq == 1 ? 4 : (nq == 2 ? 2 : 1); }
  // FDE: token vectors per sketch tile (x up to kFdeMaxCols hyperplanes) and per projection group.
  static constexpr int kFdeTokenVecs = 2, kFdeMaxCols = 12, kFdeProjectVecs = 4;

  static MN_INLINE Mask lanes_mask(int64_t n) {
    return n >= 16 ? static_cast<Mask>(0xffff) : static_cast<Mask>((1u << n) - 1u);
  }

  static MN_INLINE F zero() { return _mm512_setzero_ps(); }
  static MN_INLINE F set1(float x) { return _mm512_set1_ps(x); }
  static MN_INLINE F load(const float* p) { return _mm512_load_ps(p); }
  static MN_INLINE F loadu(const void* p) { return _mm512_loadu_ps(p); }
  static MN_INLINE F loadu_first(const void* p, int64_t n) { return _mm512_maskz_loadu_ps(lanes_mask(n), p); }
  static MN_INLINE void store(float* p, F v) { _mm512_store_ps(p, v); }
  static MN_INLINE void storeu(void* p, F v) { _mm512_storeu_ps(p, v); }
  static MN_INLINE void store_first(void* p, int64_t n, F v) { _mm512_mask_storeu_ps(p, lanes_mask(n), v); }

  static MN_INLINE F add(F a, F b) { return _mm512_add_ps(a, b); }
  static MN_INLINE F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static MN_INLINE F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static MN_INLINE F max(F a, F b) { return _mm512_max_ps(a, b); }
  static MN_INLINE F abs(F a) { return _mm512_abs_ps(a); }
  static MN_INLINE F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static MN_INLINE float reduce_add(F v) { return _mm512_reduce_add_ps(v); }
  static MN_INLINE float reduce_add_first(F v, int64_t n) { return _mm512_mask_reduce_add_ps(lanes_mask(n), v); }

  static MN_INLINE Mask mask_none() { return 0; }
  static MN_INLINE Mask nan_mask(F v) { return _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q); }
  static MN_INLINE Mask gt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static MN_INLINE Mask mask_or(Mask a, Mask b) { return a | b; }
  static MN_INLINE Mask mask_and(Mask a, Mask b) { return a & b; }
  static MN_INLINE F select(Mask m, F a, F b) { return _mm512_mask_blend_ps(m, b, a); }
  static MN_INLINE Mask eq(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
  static MN_INLINE float reduce_min(F v) { return _mm512_reduce_min_ps(v); }  // lanes without NaN
  static MN_INLINE uint32_t bits(Mask m) { return m; }
  static MN_INLINE bool any_first(Mask m, int64_t n) { return (m & lanes_mask(n)) != 0; }
  static MN_INLINE void or_lanes(uint32_t* p, Mask m, uint32_t bit) {
    const __m512i old = _mm512_load_si512(p);
    _mm512_store_si512(p, _mm512_mask_or_epi32(old, m, old, _mm512_set1_epi32(static_cast<int>(bit))));
  }

  // Stored values k .. k + 15 of a row as exact float32 (kFull) or only the first n (masked).
  template <DType T, bool kFull>
  static MN_INLINE F widen_masked(const unsigned char* row, int64_t k, Mask m) {
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
      const __m128i b =
          kFull ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + k)) : _mm_maskz_loadu_epi8(m, row + k);
      return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(b));
    }
  }
  template <DType T>
  static MN_INLINE F widen(const unsigned char* row, int64_t k) {
    return widen_masked<T, true>(row, k, 0);
  }
  template <DType T>
  static MN_INLINE F widen_first(const unsigned char* row, int64_t k, int64_t n) {
    return widen_masked<T, false>(row, k, lanes_mask(n));
  }

  static MN_INLINE void transpose(F r[16]) {
    F t[16], u[16];
    for (int k = 0; k < 8; ++k) {
      t[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
      t[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
    }
    for (int k = 0; k < 4; ++k) {
      const __m512d a = _mm512_castps_pd(t[4 * k]), b = _mm512_castps_pd(t[4 * k + 1]);
      const __m512d c = _mm512_castps_pd(t[4 * k + 2]), d = _mm512_castps_pd(t[4 * k + 3]);
      u[4 * k + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
      u[4 * k + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
      u[4 * k + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
      u[4 * k + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int e = 0; e < 4; ++e) {
      t[e] = _mm512_shuffle_f32x4(u[e], u[4 + e], 0x88);
      t[4 + e] = _mm512_shuffle_f32x4(u[e], u[4 + e], 0xdd);
      t[8 + e] = _mm512_shuffle_f32x4(u[8 + e], u[12 + e], 0x88);
      t[12 + e] = _mm512_shuffle_f32x4(u[8 + e], u[12 + e], 0xdd);
    }
    for (int e = 0; e < 4; ++e) {
      r[e] = _mm512_shuffle_f32x4(t[e], t[8 + e], 0x88);
      r[4 + e] = _mm512_shuffle_f32x4(t[4 + e], t[12 + e], 0x88);
      r[8 + e] = _mm512_shuffle_f32x4(t[e], t[8 + e], 0xdd);
      r[12 + e] = _mm512_shuffle_f32x4(t[4 + e], t[12 + e], 0xdd);
    }
  }

  struct Norm2 {
    __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  };
  static MN_INLINE void norm2_add(Norm2& n, F v) {
    const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    n.lo = _mm512_fmadd_pd(lo, lo, n.lo);
    n.hi = _mm512_fmadd_pd(hi, hi, n.hi);
  }
  static MN_INLINE void norm2_store(const Norm2& n, double* out) {
    _mm512_storeu_pd(out, n.lo);
    _mm512_storeu_pd(out + 8, n.hi);
  }

  // Through a (full) masked store, which GCC folds into vcvtps2ph's memory form: 4-5% faster
  // than the register form plus a plain store on Zen 4 (20,000 x 128 rows: 261 vs 273 us).
  static MN_INLINE void to_half_store(uint16_t* p, F v) { to_half_store_first(p, 16, v); }
  static MN_INLINE void to_half_store_first(uint16_t* p, int64_t n, F v) {
    _mm256_mask_storeu_epi16(p, lanes_mask(n), _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }

  // 4-bit fast scan (kernels/pq4.h): a step is two nibble pairs of the same 32 rows (64 code
  // bytes: pair p in the low 256 bits, p + 1 in the high); each 128-bit lane holds its pair's
  // 16-byte table for vpshufb. 16-bit accumulation as Avx2 (a: byte pairs, b: odd rows).
  using Pq4Codes = __m512i;
  using Pq4Table = __m512i;
  struct Pq4Acc {
    __m512i a, b;
  };
  static constexpr int64_t kPq4PairsPerStep = 2;
  // The step's code bytes; with one pair left, the second half is zero (nothing read past it).
  static MN_INLINE Pq4Codes pq4_codes(const uint8_t* p, int64_t pairs) {
    return pairs >= 2 ? _mm512_loadu_si512(p)
                      : _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static MN_INLINE Pq4Table pq4_table(const uint8_t* p) { return _mm512_loadu_si512(p); }
  static MN_INLINE Pq4Codes pq4_low(Pq4Codes c) { return _mm512_and_si512(c, _mm512_set1_epi8(15)); }
  static MN_INLINE Pq4Codes pq4_high(Pq4Codes c) {
    return _mm512_and_si512(_mm512_srli_epi16(c, 4), _mm512_set1_epi8(15));
  }
  static MN_INLINE Pq4Codes pq4_lookup(Pq4Table t, Pq4Codes idx) { return _mm512_shuffle_epi8(t, idx); }
  static MN_INLINE Pq4Acc pq4_acc_zero() { return {_mm512_setzero_si512(), _mm512_setzero_si512()}; }
  static MN_INLINE void pq4_acc_add(Pq4Acc& acc, Pq4Codes r) {
    acc.a = _mm512_add_epi16(acc.a, r);
    acc.b = _mm512_add_epi16(acc.b, _mm512_srli_epi16(r, 8));
  }
  // sums[0, 32) += the 32 rows' sums (both pairs), in row order.
  static MN_INLINE void pq4_flush(const Pq4Acc& acc, uint32_t* sums) {
    const __m512i even = _mm512_sub_epi16(acc.a, _mm512_slli_epi16(acc.b, 8)), odd = acc.b;
    const __m512i lo = _mm512_unpacklo_epi16(even, odd);  // rows 0-7 | 16-23 of each pair
    const __m512i hi = _mm512_unpackhi_epi16(even, odd);  // rows 8-15 | 24-31 of each pair
    const __m512i x = _mm512_add_epi32(_mm512_cvtepu16_epi32(_mm512_castsi512_si256(lo)),
                                       _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(lo, 1)));
    const __m512i y = _mm512_add_epi32(_mm512_cvtepu16_epi32(_mm512_castsi512_si256(hi)),
                                       _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(hi, 1)));
    const __m512i first = _mm512_shuffle_i32x4(x, y, 0x44), second = _mm512_shuffle_i32x4(x, y, 0xee);
    _mm512_storeu_si512(sums, _mm512_add_epi32(_mm512_loadu_si512(sums), first));
    _mm512_storeu_si512(sums + 16, _mm512_add_epi32(_mm512_loadu_si512(sums + 16), second));
  }

  static MN_INLINE void prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }

  // Integer lanes, for the int8 dot schemes.
  using I = __m512i;
  static MN_INLINE I izero() { return _mm512_setzero_si512(); }
  static MN_INLINE I iloadu(const void* p) { return _mm512_loadu_si512(p); }
  static MN_INLINE I iset1(int32_t x) { return _mm512_set1_epi32(x); }
  static MN_INLINE F int_to_float(I a) { return _mm512_cvtepi32_ps(a); }
  static MN_INLINE I isub(I a, I b) { return _mm512_sub_epi32(a, b); }
  // 64 bytes: src[0, n) with the sign bit flipped (int8 x -> uint8 x + 128); bytes past n
  // become 128, the flip of a zero pad.
  static MN_INLINE void flip_bytes64(const unsigned char* src, int64_t n, uint8_t* dst) {
    const __mmask64 m = n >= 64 ? ~__mmask64(0) : (n <= 0 ? __mmask64(0) : (__mmask64(1) << n) - 1);
    _mm512_store_si512(dst,
                       _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src), _mm512_set1_epi8(static_cast<char>(0x80))));
  }
};

#if defined(__AVX512BF16__)
// vdpbf16ps: acc + q[2i] * b[2i] + q[2i + 1] * b[2i + 1] per float32 lane, from bf16 pairs.
struct Avx512Bf16 : Avx512 {
  static MN_INLINE F dot_bf16_pairs(F acc, I q, I b) { return _mm512_dpbf16_ps(acc, (__m512bh)q, (__m512bh)b); }
};
#endif

#if defined(__AVX512VNNI__)
// vpdpbusd: acc + sum of four uint8(b) * int8(q) products per int32 lane.
struct Avx512Vnni : Avx512 {
  static MN_INLINE I dot_u8i8_quads(I acc, I b, I q) { return _mm512_dpbusd_epi32(acc, b, q); }
};
#endif

}  // namespace
}  // namespace muvera_nano::simd

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
