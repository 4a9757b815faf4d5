// Reduced-precision storage helpers.
#pragma once

#include <cstdint>

#include "muvera_nano/views.h"

namespace muvera_nano {

// Per-row symmetric int8: scales[r] = max|x_r| / 127, out[r][k] = clamp(rint(x / scale), ±127).
// The same rule quantizes queries scored against int8 documents.
void quantize_int8(const MatrixView& src, int8_t* out, float* scales, int threads);

}  // namespace muvera_nano
