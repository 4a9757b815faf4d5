// Internal: scalar conversions between float32 and the reduced formats, identical on every
// ISA, and the one scalar decoder of a stored value (decode<T>). In an anonymous namespace: a
// copy compiled with one ISA's flags is never the one another unit calls.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "muvera_nano/views.h"

namespace muvera_nano {
namespace {

inline float bf16_to_f32(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Round to nearest even; NaN stays NaN (quieted).
inline uint16_t f32_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

// IEEE half -> float, exact (handles subnormals, inf, NaN).
inline float f16_to_f32(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      int e = -1;
      do {
        man <<= 1;
        ++e;
      } while ((man & 0x400u) == 0);
      bits = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (man << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// IEEE half from float32, round to nearest even (the reference the SIMD paths are tested against).
inline uint16_t f32_to_f16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));  // NaN, quiet
  if (ax >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (ax < 0x38800000u) {                                      // below the smallest normal half: subnormal or zero
    if (ax < 0x33000000u) return static_cast<uint16_t>(sign);  // below half the smallest subnormal
    const uint32_t e = ax >> 23, m = (ax & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - e;  // 14..24
    uint32_t h = m >> shift;
    const uint32_t rest = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rest > half || (rest == half && (h & 1u))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  uint32_t h = ((ax >> 13) - (112u << 10));
  const uint32_t rest = ax & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

// Stored value k of a row of type T as exact float32 (int8: the integer, unscaled).
template <DType T>
inline float decode(const unsigned char* row, int64_t k) {
  if constexpr (T == DType::f32) return load<float>(row + 4 * k);
  else if constexpr (T == DType::f16) return f16_to_f32(load<uint16_t>(row + 2 * k));
  else if constexpr (T == DType::bf16) return bf16_to_f32(load<uint16_t>(row + 2 * k));
  else return static_cast<float>(static_cast<int8_t>(row[k]));
}

// Symmetric per-row int8 quantisation used for int8 documents and for queries scored
// against them: scale = max|x| / 127, q = clamp(rint(x / scale), -127, 127). A zero row
// gets scale 0; a row with a NaN gets scale NaN (so its scores become NaN).
inline float int8_scale(const float* x, int64_t n) {
  float amax = 0.0f;
  for (int64_t k = 0; k < n; ++k) {
    float a = std::fabs(x[k]);
    if (a != a) return a;
    amax = a > amax ? a : amax;
  }
  return amax / 127.0f;
}

inline int8_t int8_quantize(float x, float scale) {
  if (!(scale > 0.0f) || std::isinf(scale)) return 0;
  float q = std::nearbyint(x / scale);
  q = q > 127.0f ? 127.0f : (q < -127.0f ? -127.0f : q);
  return static_cast<int8_t>(q);
}

}  // namespace
}  // namespace muvera_nano
