// Internal, AArch64 translation units only: 4 float32 lanes of Advanced SIMD (mandatory on
// AArch64, so these units need no extra flags); masks are all-ones uint32 lanes.
#pragma once

#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "muvera_nano/views.h"
#include "simd/simd.h"

namespace muvera_nano::simd {
namespace {

struct Neon {
  using F = float32x4_t;
  using Mask = uint32x4_t;
  static constexpr int kLanes = 4;

  // 32 registers: 4 query vectors (16 query rows) x 4 rows = 16 accumulators. Not tuned on
  // hardware (the project's NEON runs under qemu), so the shapes stay those of the original port.
  static constexpr int kMaxSimWideQV = 4, kMaxSimWideRows = 4;
  static constexpr int kMaxSimNarrowQV = 4, kMaxSimNarrowRows = 4;
  static constexpr int kScanRows(int) { return 1; }
  static constexpr int kFdeTokenVecs = 4, kFdeMaxCols = 6, kFdeProjectVecs = 4;

  static MN_INLINE F zero() { return vdupq_n_f32(0.0f); }
  static MN_INLINE F set1(float x) { return vdupq_n_f32(x); }
  static MN_INLINE F load(const float* p) { return vld1q_f32(p); }
  // Byte loads: any alignment.
  static MN_INLINE F loadu(const void* p) { return vreinterpretq_f32_u8(vld1q_u8(static_cast<const uint8_t*>(p))); }
  static MN_INLINE F loadu_first(const void* p, int64_t n) {
    float tmp[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    std::memcpy(tmp, p, static_cast<size_t>(n) * 4);
    return vld1q_f32(tmp);
  }
  static MN_INLINE void store(float* p, F v) { vst1q_f32(p, v); }
  static MN_INLINE void storeu(void* p, F v) { vst1q_u8(static_cast<uint8_t*>(p), vreinterpretq_u8_f32(v)); }
  static MN_INLINE void store_first(void* p, int64_t n, F v) {
    float tmp[4];
    vst1q_f32(tmp, v);
    std::memcpy(p, tmp, static_cast<size_t>(n) * 4);
  }

  static MN_INLINE F add(F a, F b) { return vaddq_f32(a, b); }
  static MN_INLINE F sub(F a, F b) { return vsubq_f32(a, b); }
  static MN_INLINE F mul(F a, F b) { return vmulq_f32(a, b); }
  static MN_INLINE F max(F a, F b) { return vmaxq_f32(a, b); }
  static MN_INLINE F abs(F a) { return vabsq_f32(a); }
  static MN_INLINE F fmadd(F a, F b, F c) { return vfmaq_f32(c, a, b); }
  static MN_INLINE float reduce_add(F v) { return vaddvq_f32(v); }
  static MN_INLINE float reduce_add_first(F v, int64_t n) {
    const uint32x4_t keep = vcltq_u32(uint32x4_t{0, 1, 2, 3}, vdupq_n_u32(static_cast<uint32_t>(n)));
    return vaddvq_f32(vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v), keep)));
  }

  static MN_INLINE Mask mask_none() { return vdupq_n_u32(0); }
  static MN_INLINE Mask nan_mask(F v) { return vmvnq_u32(vceqq_f32(v, v)); }
  static MN_INLINE Mask gt(F a, F b) { return vcgtq_f32(a, b); }
  static MN_INLINE Mask mask_or(Mask a, Mask b) { return vorrq_u32(a, b); }
  static MN_INLINE Mask mask_and(Mask a, Mask b) { return vandq_u32(a, b); }
  static MN_INLINE F select(Mask m, F a, F b) { return vbslq_f32(m, a, b); }
  static MN_INLINE Mask eq(F a, F b) { return vceqq_f32(a, b); }
  static MN_INLINE float reduce_min(F v) { return vminvq_f32(v); }  // lanes without NaN
  static MN_INLINE uint32_t bits(Mask m) {
    const int32x4_t shift = {0, 1, 2, 3};
    return vaddvq_u32(vshlq_u32(vshrq_n_u32(m, 31), shift));
  }
  static MN_INLINE bool any_first(Mask m, int64_t n) { return (bits(m) & (n >= 4 ? 0xfu : (1u << n) - 1u)) != 0; }
  static MN_INLINE void or_lanes(uint32_t* p, Mask m, uint32_t bit) {
    vst1q_u32(p, vorrq_u32(vld1q_u32(p), vandq_u32(m, vdupq_n_u32(bit))));
  }

  template <DType T>
  static MN_INLINE F widen(const unsigned char* row, int64_t k) {
    if constexpr (T == DType::f32) {
      return loadu(row + 4 * k);
    } else if constexpr (T == DType::f16) {
      return vcvt_f32_f16(vreinterpret_f16_u8(vld1_u8(row + 2 * k)));
    } else if constexpr (T == DType::bf16) {
      return vreinterpretq_f32_u32(vshll_n_u16(vreinterpret_u16_u8(vld1_u8(row + 2 * k)), 16));
    } else {
      const int8x8_t b = vreinterpret_s8_s32(vdup_n_s32(muvera_nano::load<int32_t>(row + k)));
      return vcvtq_f32_s32(vmovl_s16(vget_low_s16(vmovl_s8(b))));
    }
  }
  template <DType T>
  static MN_INLINE F widen_first(const unsigned char* row, int64_t k, int64_t n) {
    constexpr int64_t kSize = T == DType::f32 ? 4 : (T == DType::i8 ? 1 : 2);
    alignas(16) unsigned char tmp[16] = {};
    std::memcpy(tmp, row + kSize * k, static_cast<size_t>(n * kSize));
    return widen<T>(tmp, 0);
  }

  static MN_INLINE void transpose(F r[4]) {
    const float32x4x2_t a = vtrnq_f32(r[0], r[1]);
    const float32x4x2_t b = vtrnq_f32(r[2], r[3]);
    r[0] = vcombine_f32(vget_low_f32(a.val[0]), vget_low_f32(b.val[0]));
    r[1] = vcombine_f32(vget_low_f32(a.val[1]), vget_low_f32(b.val[1]));
    r[2] = vcombine_f32(vget_high_f32(a.val[0]), vget_high_f32(b.val[0]));
    r[3] = vcombine_f32(vget_high_f32(a.val[1]), vget_high_f32(b.val[1]));
  }

  struct Norm2 {
    float64x2_t lo = vdupq_n_f64(0.0), hi = vdupq_n_f64(0.0);
  };
  static MN_INLINE void norm2_add(Norm2& n, F v) {
    const float64x2_t lo = vcvt_f64_f32(vget_low_f32(v));
    const float64x2_t hi = vcvt_high_f64_f32(v);
    n.lo = vfmaq_f64(n.lo, lo, lo);
    n.hi = vfmaq_f64(n.hi, hi, hi);
  }
  static MN_INLINE void norm2_store(const Norm2& n, double* out) {
    vst1q_f64(out, n.lo);
    vst1q_f64(out + 2, n.hi);
  }

  static MN_INLINE void to_half_store(uint16_t* p, F v) {
    vst1_u8(reinterpret_cast<uint8_t*>(p), vreinterpret_u8_f16(vcvt_f16_f32(v)));
  }
  static MN_INLINE void to_half_store_first(uint16_t* p, int64_t n, F v) {
    uint16_t tmp[4];
    to_half_store(tmp, v);
    std::memcpy(p, tmp, static_cast<size_t>(n) * 2);
  }

  // 4-bit fast scan (kernels/pq4.h): a step is one nibble pair of 32 rows, as two 16-byte
  // halves; a pair's 16-byte table feeds vqtbl1q. Widening adds accumulate rows in order.
  using Pq4Codes = uint8x16x2_t;
  using Pq4Table = uint8x16_t;
  struct Pq4Acc {
    uint16x8_t r[4];  // rows 0-7, 8-15, 16-23, 24-31
  };
  static constexpr int64_t kPq4PairsPerStep = 1;
  static MN_INLINE Pq4Codes pq4_codes(const uint8_t* p, int64_t) { return {{vld1q_u8(p), vld1q_u8(p + 16)}}; }
  static MN_INLINE Pq4Table pq4_table(const uint8_t* p) { return vld1q_u8(p); }
  static MN_INLINE Pq4Codes pq4_low(Pq4Codes c) {
    return {{vandq_u8(c.val[0], vdupq_n_u8(15)), vandq_u8(c.val[1], vdupq_n_u8(15))}};
  }
  static MN_INLINE Pq4Codes pq4_high(Pq4Codes c) { return {{vshrq_n_u8(c.val[0], 4), vshrq_n_u8(c.val[1], 4)}}; }
  static MN_INLINE Pq4Codes pq4_lookup(Pq4Table t, Pq4Codes idx) {
    return {{vqtbl1q_u8(t, idx.val[0]), vqtbl1q_u8(t, idx.val[1])}};
  }
  static MN_INLINE Pq4Acc pq4_acc_zero() { return {{vdupq_n_u16(0), vdupq_n_u16(0), vdupq_n_u16(0), vdupq_n_u16(0)}}; }
  static MN_INLINE void pq4_acc_add(Pq4Acc& acc, Pq4Codes x) {
    acc.r[0] = vaddw_u8(acc.r[0], vget_low_u8(x.val[0]));
    acc.r[1] = vaddw_high_u8(acc.r[1], x.val[0]);
    acc.r[2] = vaddw_u8(acc.r[2], vget_low_u8(x.val[1]));
    acc.r[3] = vaddw_high_u8(acc.r[3], x.val[1]);
  }
  // sums[0, 32) += the 32 rows' sums, in row order.
  static MN_INLINE void pq4_flush(const Pq4Acc& acc, uint32_t* sums) {
    for (int i = 0; i < 4; ++i) {
      vst1q_u32(sums + 8 * i, vaddw_u16(vld1q_u32(sums + 8 * i), vget_low_u16(acc.r[i])));
      vst1q_u32(sums + 8 * i + 4, vaddw_high_u16(vld1q_u32(sums + 8 * i + 4), acc.r[i]));
    }
  }

  static MN_INLINE void prefetch(const void* p) { __builtin_prefetch(p); }
};

}  // namespace
}  // namespace muvera_nano::simd
