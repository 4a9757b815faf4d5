// MaxSim (late-interaction) scoring: score(Q, D) = sum_i max_t <Q_i, D_t>, exact.
// An empty query scores 0, an empty document -inf; a NaN dot product makes the score NaN.
#pragma once

#include <cstdint>

#include "muvera_nano/views.h"

namespace muvera_nano {

// scores[q * docs.count + j] = MaxSim(queries[q], doc j); queries are float32 row matrices.
void maxsim_all(const RowMatrix* queries, int64_t n_queries, const RaggedView& docs, float* scores, int threads);

// Query q against its own candidate documents candidates[q * n_candidates + c];
// scores has the same shape. Candidate ids must lie in [0, docs.count) and not repeat within
// a query (checked: std::invalid_argument).
void maxsim_candidates(const RowMatrix* queries, int64_t n_queries, const RaggedView& docs, const int64_t* candidates,
                       int64_t n_candidates, float* scores, int threads);

// Checks a ragged store's offsets once (start 0, non-decreasing, end tokens.rows) and,
// for int8, that scales are present (for pq8, a codebook of the dimension). Throws
// std::invalid_argument naming `what`.
void validate_ragged(const RaggedView& r, const char* what);

}  // namespace muvera_nano
