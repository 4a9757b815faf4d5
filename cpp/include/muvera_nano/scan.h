// Exact dense scan: dot products of float32 queries against every row of a matrix stored
// as float32, float16, bfloat16 or int8 + per-row scale, with top-k selection fused in.
// This is the candidate stage of MUVERA search (query FDE against document FDEs).
#pragma once

#include <cstdint>

#include "muvera_nano/views.h"

namespace muvera_nano {

// n rows of `cols` values; row j at data + j * row_stride. int8 rows have value scale[j] * q.
struct RowStore {
  const unsigned char* data = nullptr;
  int64_t rows = 0, cols = 0, row_stride = 0;
  DType dtype = DType::f32;
  const unsigned char* scales = nullptr;  // i8 only
  int64_t scale_stride = 4;
};

// scores[q * rows.rows + j] = <queries[q], row j> in float32.
void scan_scores(const MatrixView& queries, const RowStore& rows, float* scores, int threads);

// For each query q, the k best rows (score descending, equal scores by lower row index,
// NaN last), skipping rows whose bit is set in `excluded` (a bitmap of rows.rows bits, may
// be null). Writes k ids and scores per query; when fewer than k rows are eligible the
// rest of the row is filled with id -1 and score NaN. Needs k >= 0.
void scan_topk(const MatrixView& queries, const RowStore& rows, const uint64_t* excluded, int64_t k,
               int64_t* out_ids, float* out_scores, int threads);

}  // namespace muvera_nano
