// Internal: the contract between the MaxSim driver (maxsim.cpp), which packs each query once
// per call, and the kernels, which score one (packed query, document) pair without ever
// writing the similarity matrix to memory.
#pragma once

#include <cstdint>

namespace muvera_nano {

// Query rows sit along SIMD lanes; lanes are padded to a multiple of kLaneAlign with zero
// rows (their results are masked out of the final sum).
constexpr int64_t kLaneAlign = 16;

enum class QueryLayout : int {
  f32_lanes,   // f32 [dim][lanes]
  bf16_pairs,  // bf16 bits [ceil(dim / 2)][lanes][2], odd dim padded with 0
  i8_quads,    // int8 [ceil(dim / 4)][lanes][4], dim padded with 0
};

// Query values as each document type scores them, on every ISA:
//  f32, f16 docs: the float32 query as given;
//  bf16 docs:     the query rounded to bfloat16 (round to nearest even);
//  i8 docs:       the query quantized per row: q ~= lane_scale[i] * int8 (symmetric, max |q| -> 127),
//                 as float32 lanes or as i8_quads.
struct PackedQuery {
  int64_t rows = 0, lanes = 0, dim = 0;
  const float* f32 = nullptr;
  const uint16_t* bf16 = nullptr;
  const int8_t* i8 = nullptr;
  const float* lane_scale = nullptr;   // i8 docs
  const int32_t* lane_bias = nullptr;  // i8_quads: 128 * sum_k q_int[i][k]
};

}  // namespace muvera_nano
