// Exact dense scan: dot products of float32 queries against every row of a matrix stored
// as float32, float16, bfloat16 or int8 + per-row scale, with top-k selection fused in.
// This is the candidate stage of MUVERA search (query FDE against document FDEs).
#pragma once

#include <cstdint>

#include "muvera_nano/views.h"

namespace muvera_nano {

// scores[q * rows.rows + j] = <queries[q], row j> in float32 (queries: float32 rows).
void scan_scores(const RowMatrix& queries, const RowMatrix& rows, float* scores, int threads);

// The number of rows not excluded by `excluded` (a bitmap of rows.rows bits, may be null).
int64_t scan_eligible(const RowMatrix& rows, const uint64_t* excluded);

// For each query q, the k best rows (score descending, equal scores by lower row index,
// NaN last), skipping rows whose bit is set in `excluded` (may be null). Writes k ids and
// scores per query. Needs 0 <= k <= scan_eligible(rows, excluded) (std::invalid_argument
// otherwise), so every result is a real row.
void scan_topk(const RowMatrix& queries, const RowMatrix& rows, const uint64_t* excluded, int64_t k, int64_t* out_ids,
               float* out_scores, int threads);

}  // namespace muvera_nano
