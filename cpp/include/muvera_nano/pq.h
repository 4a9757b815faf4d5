// Product quantization (PQ): codebooks of pq8 token rows (scored by maxsim.h like any storage
// type), encoding rows to codes, and the 4-bit "fast scan" of PQ-coded rows with top-k fused.
//
// A codebook has M subspaces of dsub coordinates and K centroids per subspace (centroids
// (M, K, dsub) float32, row-major). A row of dim = M * dsub values is coded by one centroid
// index per subspace.
#pragma once

#include <cstdint>
#include <vector>

#include "muvera_nano/views.h"

namespace muvera_nano {

// An owned, immutable codebook of pq8 rows (K = 256): a padded copy of the centroids and their
// bfloat16 rounding (for kernels that decode into bfloat16). Throws std::invalid_argument for
// M or dsub < 1 or a non-finite centroid.
class PqCodebook {
 public:
  PqCodebook(const float* centroids, int64_t subspaces, int64_t dsub);
  PqCodebook(const PqCodebook&) = delete;
  PqCodebook& operator=(const PqCodebook&) = delete;
  const PqCodebookView& view() const { return view_; }
  int64_t dim() const { return view_.subspaces * view_.dsub; }

 private:
  std::vector<float> f32_;
  std::vector<uint16_t> bf16_;
  PqCodebookView view_;
};

// Nearest centroid per subspace of every row of `rows` (float32, cols = M * dsub), with
// K = 256 (out: n x M bytes) or K = 16 (out: n x M / 2 bytes, M even; byte p holds the code
// of subspace 2p in its low nibble and of 2p + 1 in its high nibble). The distance compared
// is, in float32 with one rounding per fused multiply-add, in this order:
//   d_k = fma(x_{dsub-1}, -2 c_k,dsub-1, ... fma(x_0, -2 c_k,0, |c_k|^2))
// with |c_k|^2 = fma(c_k,dsub-1, c_k,dsub-1, ... fma(c_k,0, c_k,0, 0)); the smallest d_k
// wins, ties to the lowest k. Every instruction set computes exactly these operations, so
// codes are bit-identical across ISAs and thread counts. Throws std::invalid_argument for a
// bad shape or a non-finite value (naming the row, or the centroid).
void pq_encode(const RowMatrix& rows, const float* centroids, int64_t subspaces, int64_t n_centroids, int64_t dsub,
               uint8_t* out, int threads);

// Codes (n x M bytes for K = 256, n x M / 2 nibble-packed for K = 16) back to float32 rows
// (n x M * dsub). Codes must lie below K (they do for K = 16).
void pq_decode(const uint8_t* codes, int64_t n, const float* centroids, int64_t subspaces, int64_t n_centroids,
               int64_t dsub, float* out, int threads);

// ---- 4-bit fast scan ----------------------------------------------------------------------
//
// Codes of K = 16 centroids in blocks of 32 rows: block b is M / 2 x 32 bytes, byte [p][j] =
// code(row 32 b + j, 2p) | code(row 32 b + j, 2p + 1) << 4 (M even; padding rows all zero).
constexpr int64_t kPq4BlockRows = 32;

// Per query, the lookup table of its sub-dot-products lut[m][c] = <q_m, centroid[m][c]>
// (float32 products and sums in coordinate order, no fused multiply-add) quantized to bytes:
//   bias_m = min_c lut[m][c], scale = max_m (max_c lut[m][c] - bias_m) / 255,
//   table[m][c] = round((lut[m][c] - bias_m) / scale) in [0, 255] (0 when scale is 0),
//   bias = sum_m bias_m (rounded once to float32), so that
//   lut-score(row) = scale * sum_m table[m][code_m] + bias
// is within M * scale / 2 (plus the float32 rounding of bias) of sum_m lut[m][code_m].
struct Pq4Luts {
  int64_t queries = 0, subspaces = 0;
  std::vector<uint8_t> table;  // queries x M x 16
  std::vector<float> scale, bias;
};
// queries: float32, cols = M * dsub; centroids (M, 16, dsub). Throws std::invalid_argument for
// a bad shape or a non-finite query value.
Pq4Luts pq4_lut(const RowMatrix& queries, const float* centroids, int64_t subspaces, int64_t dsub);

// (n x M / 2) nibble-packed codes <-> the blocked layout (ceil(n / 32) blocks).
void pq4_block(const uint8_t* codes, int64_t n, int64_t subspaces, uint8_t* blocked);
void pq4_unblock(const uint8_t* blocked, int64_t n, int64_t subspaces, uint8_t* codes);

// The number of positions in `ranges` (n_ranges [begin, end) pairs), after checking that each
// lies within n_blocks blocks and that no two overlap (std::invalid_argument naming them).
int64_t pq4_range_positions(const int64_t* ranges, int64_t n_ranges, int64_t n_blocks);

// For each query q, the k best rows among the positions of `ranges` ([begin, end) pairs in the
// blocked order), scored
//   score = offset(q, r) + scale_q * sum_m table_q[m][code_m] + bias_q
// (the integer sum exact, the rest in float64, rounded once to float32), where range r's
// offset is offsets[q * offset_stride + r] (offset_stride 0: one offset per range for every
// query). Ranked by score descending, ties by lower position. Ranges must lie within the
// blocks and not overlap; 0 <= k <= total positions of the ranges (std::invalid_argument
// otherwise). Writes k positions and scores per query. Integer accumulation makes results
// identical on every instruction set and thread count.
void pq4_topk(const Pq4Luts& luts, const uint8_t* blocked, int64_t n_blocks, const int64_t* ranges, int64_t n_ranges,
              const float* offsets, int64_t offset_stride, int64_t k, int64_t* out_positions, float* out_scores,
              int threads);

}  // namespace muvera_nano
