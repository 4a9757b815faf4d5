// Internal: float32 -> IEEE half conversion of one row, written once over V (round to
// nearest even; overflow to inf; subnormals kept; NaN stays NaN).
#pragma once

#include <cstdint>

#include "simd/simd.h"

namespace muvera_nano::kernels {
namespace {

template <class V>
void to_half(const unsigned char* src, int64_t n, uint16_t* out) {
  constexpr int64_t L = V::kLanes;
  int64_t i = 0;
  for (; i + L <= n; i += L) V::to_half_store(out + i, V::loadu(src + 4 * i));
  if (i < n) V::to_half_store_first(out + i, n - i, V::loadu_first(src + 4 * i, n - i));
}

}  // namespace
}  // namespace muvera_nano::kernels
