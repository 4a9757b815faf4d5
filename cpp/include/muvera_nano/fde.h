// MUVERA fixed dimensional encodings (FDE): one vector per multi-vector whose dot products
// approximate MaxSim. One kernel, driven by precomputed random state, serves every preset.
//
// For each repetition r, a token x falls in partition idx = GrayDecode(bits), bit j (most
// significant first) = [x . g_rj > 0], decided on the exact real dot product (so never by a
// rounding accident, and identically on every instruction set). Its projected vector
// y = P_r^T x (AMS: y[c] = sum over coordinates i with column c of sign_i * x_i, in coordinate
// order, float32; identity: y = x) is added to block [r][idx] in token order (float32).
// Queries keep the sums; documents divide each non-empty block by its token count (float32
// division) and, with fill_empty, give each empty block the projected token whose bit
// pattern is nearest in Hamming distance (ties: lowest token index). An optional final
// count sketch maps the R * 2^k * p values to final_dim: out[index[c]] += sign[c] * fde[c],
// in coordinate order. An item without tokens encodes to zeros. Tokens must be finite.
#pragma once

#include <cstdint>
#include <memory>

#include "muvera_nano/views.h"

namespace muvera_nano {

// The random state of one configuration; arrays are caller-owned and only read (copied) by
// fde_make_plan.
struct FdeRandomState {
  int64_t dim = 0;             // token dimension d >= 1
  int64_t repetitions = 0;     // R >= 1
  int64_t simhash_bits = 0;    // k in [0, 30]; 2^k partitions per repetition
  int64_t projection_dim = 0;  // 0: identity (p = d); otherwise AMS to p >= 1 columns
  // d x (R * k), row-major: column r * k + j is hyperplane j of repetition r (unused if k = 0).
  const float* simhash = nullptr;
  // AMS only, R x d each: the output column of input coordinate i in repetition r, and its
  // sign (+1 or -1).
  const int32_t* ams_column = nullptr;
  const float* ams_sign = nullptr;
  // Optional final count sketch: final_dim > 0 with R * 2^k * p entries each of index in
  // [0, final_dim) and sign +1 or -1.
  int64_t final_dim = 0;
  const int32_t* final_index = nullptr;
  const float* final_sign = nullptr;
};

// The state in the form the kernels use (copied, validated, with derived tables). Immutable
// and safe to share between threads.
class FdePlan;

// Throws std::invalid_argument naming the field that is out of range.
std::shared_ptr<const FdePlan> fde_make_plan(const FdeRandomState& state);

int64_t fde_input_dim(const FdePlan& plan);
// R * 2^k * p, or final_dim when a final projection is set.
int64_t fde_output_dim(const FdePlan& plan);

enum class FdeKind : int { query = 0, document = 1 };

// Encodes every item of `items` (float32 tokens of the plan's dimension) into row i of `out`
// (row i at out + i * out_row_stride floats, fde_output_dim floats each), on up to `threads`
// threads (<= 0: the library default). Each item is computed by one thread in a fixed order,
// so results do not depend on the thread count. fill_empty is for documents only.
// Throws std::invalid_argument on a bad argument or a non-finite token (naming the item and
// row); `out` is then partly written.
void fde_encode(const FdePlan& plan, const RaggedView& items, FdeKind kind, bool fill_empty, float* out,
                int64_t out_row_stride, int threads);

// Google graph-mining's random state for a configuration, drawn as libstdc++ (GCC >= 11)
// draws it, implemented portably: for repetition r, std::mt19937(seed + r) with
// normal_distribution<float> fills the d x k SimHash matrix column by column; a second
// mt19937(seed + r) draws, per coordinate, uniform_int(0, p - 1) then bernoulli(0.5) for
// AMS; the final sketch uses mt19937(seed) once. Sizes: simhash d * R * k, ams_* R * d
// (projection_dim > 0), final_* R * 2^k * p (final_dim > 0); unused pointers may be null.
void fde_google_random_state(int64_t dim, int64_t repetitions, int64_t simhash_bits, int64_t projection_dim,
                             int64_t final_dim, uint32_t seed, float* simhash, int32_t* ams_column, float* ams_sign,
                             int32_t* final_index, float* final_sign);

}  // namespace muvera_nano
