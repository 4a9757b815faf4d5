// Top-k selection for ranked results.
#pragma once

#include <cstdint>

namespace muvera_nano {

// Order used everywhere results are ranked: higher score first, equal scores by lower
// id; NaN ranks below every number (including -inf).
inline bool ranks_before(float a_score, int64_t a_id, float b_score, int64_t b_id) {
  bool a_nan = a_score != a_score, b_nan = b_score != b_score;
  if (a_nan || b_nan) return !a_nan && b_nan ? true : (a_nan && b_nan ? a_id < b_id : false);
  if (a_score != b_score) return a_score > b_score;
  return a_id < b_id;
}

// For each of n_rows rows of `scores` (row stride n_cols), writes the best k entries in rank
// order: out_ids[r * k + j] is the id (ids[r * n_cols + c] if ids is given, else c) and
// out_scores the score. k <= n_cols is required.
void topk_rows(const float* scores, const int64_t* ids, int64_t n_rows, int64_t n_cols, int64_t k,
               int64_t* out_ids, float* out_scores, int threads);

}  // namespace muvera_nano
