// Internal: scalar conversions between float32 and the reduced formats, identical on every ISA.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace muvera_nano {

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
      do { man <<= 1; ++e; } while ((man & 0x400u) == 0);
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

}  // namespace muvera_nano
