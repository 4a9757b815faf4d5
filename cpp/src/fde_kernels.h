// Internal: what an FDE kernel for one instruction set provides, and the plan layout it reads.
// The driver (fde.cpp) validates, splits items over threads and applies the optional final
// count sketch; a kernel encodes one item. Every kernel computes the same float operations
// in the same order per output value, so all instruction sets give bit-identical results.
#pragma once

#include <cstdint>

#include "muvera_nano/cpu.h"

namespace muvera_nano::fde_detail {

struct PlanView {
  int64_t dim = 0, reps = 0, bits = 0, blocks = 0, proj = 0;
  int64_t cols = 0;     // reps * bits SimHash columns
  int64_t fde_dim = 0;  // reps * blocks * proj
  bool identity = true;
  const float* simhash = nullptr;      // dim x cols, row-major
  const float* col_norm = nullptr;     // cols: an upper bound of each column's L2 norm
  const int32_t* col_rep = nullptr;    // cols: repetition of each column
  const uint32_t* col_bit = nullptr;   // cols: the pattern bit it sets (1 << (bits - 1 - j))
  float abs_slack = 0.0f;              // absolute term of the float32 sketch error bound
  double huge_norm = 0.0;              // tokens with a larger L2 norm take the exact path throughout
  // AMS, per repetition r: input coordinates grouped by output column, each group in
  // coordinate order: group c is entries [start[c], start[c + 1]) of coord/sign.
  const int32_t* ams_coord = nullptr;  // reps x dim
  const float* ams_sign = nullptr;     // reps x dim
  const int32_t* ams_start = nullptr;  // reps x (proj + 1)
};

struct Item {
  const unsigned char* rows = nullptr;  // row t at rows + t * row_stride (float32, unaligned ok)
  int64_t n = 0, row_stride = 0;
};

// Writes the FDE of one item (fde_dim floats, before any final projection) to out. Returns -1,
// or the index of the first row holding a non-finite value (out is then undefined).
using EncodeFn = int64_t (*)(const PlanView& plan, const Item& item, bool document, bool fill, float* out);

struct KernelTable {
  EncodeFn encode = nullptr;
};

KernelTable scalar_kernels();
#if defined(__x86_64__) || defined(_M_X64)
KernelTable avx2_kernels();
KernelTable avx512_kernels();
#endif
#if defined(__aarch64__)
KernelTable neon_kernels();
#endif

const KernelTable& kernels_for(Isa isa);

// Per-thread scratch (64-byte aligned, grows, never shrinks), one buffer per slot. Defined
// in a baseline translation unit: ISA files must not instantiate std containers.
enum Slot : int { kXt = 0, kTau, kPattern, kIndex, kProjected, kTile, kCounts, kFull, kSlots };
void* scratch(int slot, int64_t bytes);

// The sign of the exact real dot product of a token row and SimHash column `col`: true when
// strictly positive. Used where the float32 sketch is too close to 0 to decide.
bool exact_positive(const PlanView& plan, const unsigned char* row, int64_t col);

}  // namespace muvera_nano::fde_detail
