// Internal: an FDE plan in the form the kernels read. The driver (fde.cpp) builds it once per
// configuration, validates calls, splits items over threads and applies the optional final
// count sketch; a kernel encodes one item. Every kernel computes the same float operations in
// the same order per output value, so all instruction sets give bit-identical results.
#pragma once

#include <cstdint>

#include "muvera_nano/views.h"

namespace muvera_nano {

struct FdePlanView {
  int64_t dim = 0, reps = 0, bits = 0, blocks = 0, proj = 0;
  int64_t cols = 0;     // reps * bits SimHash columns
  int64_t fde_dim = 0;  // reps * blocks * proj
  bool identity = true;
  const float* simhash = nullptr;     // dim x cols, row-major
  const float* col_norm = nullptr;    // cols: an upper bound of each column's L2 norm
  const int32_t* col_rep = nullptr;   // cols: repetition of each column
  const uint32_t* col_bit = nullptr;  // cols: the pattern bit it sets (1 << (bits - 1 - j))
  float abs_slack = 0.0f;             // absolute term of the float32 sketch error bound
  double huge_norm = 0.0;             // tokens with a larger L2 norm take the exact path throughout
  // AMS, per repetition r: input coordinates grouped by output column, each group in
  // coordinate order: group c is entries [start[c], start[c + 1]) of coord/sign.
  const int32_t* ams_coord = nullptr;  // reps x dim
  const float* ams_sign = nullptr;     // reps x dim
  const int32_t* ams_start = nullptr;  // reps x (proj + 1)
};

// The sign of the exact real dot product of a token row and SimHash column `col`: true when
// strictly positive. Used where the float32 sketch is too close to 0 to decide.
bool fde_exact_positive(const FdePlanView& plan, const unsigned char* row, int64_t col);

}  // namespace muvera_nano
