// Internal: what a MaxSim kernel for one instruction set provides, and the packed query
// layouts it reads. The driver (maxsim.cpp) packs each query once per call; kernels score
// one (packed query, document) pair, never writing the similarity matrix to memory.
#pragma once

#include <cstdint>

#include "muvera_nano/cpu.h"
#include "muvera_nano/views.h"

namespace muvera_nano::maxsim_detail {

// Query rows sit along SIMD lanes; lanes are padded to a multiple of kLaneAlign with zero
// rows (their results are masked out of the final sum).
constexpr int64_t kLaneAlign = 16;

enum class Layout : int {
  f32_lanes,   // f32 [dim][lanes]
  bf16_pairs,  // bf16 bits [ceil(dim / 2)][lanes][2], odd dim padded with 0
  i8_quads,    // int8 [ceil(dim / 4)][lanes][4], dim padded with 0
};

// Query values as each document type scores them, on every ISA:
//  f32, f16 docs: the float32 query as given;
//  bf16 docs:     the query rounded to bfloat16 (round to nearest even);
//  i8 docs:       the query quantized per row: q ~= lane_scale[i] * int8 (symmetric, max |q| -> 127).
struct PackedQuery {
  int64_t rows = 0, lanes = 0, dim = 0;
  const float* f32 = nullptr;
  const uint16_t* bf16 = nullptr;
  const int8_t* i8 = nullptr;
  const float* lane_scale = nullptr;   // i8 docs
  const int32_t* lane_bias = nullptr;  // i8_quads: 128 * sum_k q_int[i][k]
};

struct DocRows {
  const unsigned char* data = nullptr;  // row t at data + t * row_stride
  int64_t rows = 0, row_stride = 0;
  const unsigned char* scales = nullptr;  // i8: float32 per row
  int64_t scale_stride = 0;
};

using PairFn = float (*)(const PackedQuery&, const DocRows&);

struct Entry {
  PairFn fn = nullptr;
  Layout layout = Layout::f32_lanes;
};

struct KernelTable {
  Entry f32, f16, bf16, i8;
  const Entry& for_dtype(DType t) const {
    switch (t) {
      case DType::f16: return f16;
      case DType::bf16: return bf16;
      case DType::i8: return i8;
      default: return f32;
    }
  }
};

KernelTable scalar_kernels();
#if defined(__x86_64__) || defined(_M_X64)
KernelTable avx2_kernels();
KernelTable avx512_kernels();
PairFn avx512_bf16_dot_kernel();  // needs AVX512_BF16
PairFn avx512_vnni_kernel();      // needs AVX512_VNNI
#endif
#if defined(__aarch64__)
KernelTable neon_kernels();
#endif

// The table for `isa` (a supported one), including in-ISA fallbacks.
const KernelTable& kernels_for(Isa isa);

// Per-thread scratch memory for kernels (64-byte aligned, grows, never shrinks). Defined in
// a baseline translation unit: ISA files must not instantiate shared inline code or std
// containers, whose out-of-line copies the linker could pick for baseline callers.
float* scratch_f32(int64_t n);
uint8_t* scratch_u8(int64_t n);

// The empty-input rules, shared by every kernel.
__attribute__((always_inline)) static inline bool trivial_score(const PackedQuery& q, const DocRows& d, float* out) {
  if (q.rows == 0) { *out = 0.0f; return true; }
  if (d.rows == 0) { *out = -__builtin_inff(); return true; }
  return false;
}

}  // namespace muvera_nano::maxsim_detail
