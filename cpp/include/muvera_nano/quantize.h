// Reduced-precision storage helpers.
#pragma once

#include <cstdint>

#include "muvera_nano/views.h"

namespace muvera_nano {

// src: float32 rows. Per-row symmetric int8: scales[r] = max|x_r| / 127, out[r][k] = clamp(rint(x / scale), ±127).
// The same rule quantizes queries scored against int8 documents.
void quantize_int8(const RowMatrix& src, int8_t* out, float* scales, int threads);

// float32 rows to IEEE half (round to nearest even; overflow to inf; subnormals kept) or to
// bfloat16 (round to nearest even, NaN stays NaN): `out` holds rows x cols uint16, row-major.
// The same bits as numpy's astype(float16) and ml_dtypes' astype(bfloat16).
void convert_rows(const RowMatrix& src, DType to, uint16_t* out, int threads);

}  // namespace muvera_nano
