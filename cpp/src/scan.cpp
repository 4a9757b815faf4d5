// Dense scan driver: copies the queries once, splits rows into pieces over the pool, scores
// each piece with the active ISA's dot kernel (up to 4 queries per row load) and keeps the
// best k per query per piece; pieces are merged in a fixed order. Every score is computed
// by one kernel call and the ranking order is total, so results never depend on threads.
#include "muvera_nano/scan.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "aligned_buffer.h"
#include "dispatch.h"
#include "muvera_nano/parallel.h"
#include "muvera_nano/topk.h"

namespace muvera_nano {
namespace {

constexpr int kMaxQueries = 4;   // queries scored per row load (the kernels' limit)
constexpr int64_t kBlock = 256;  // rows scored per kernel call (the scores stay in L1)

AlignedBuffer<float> copy_queries(const RowMatrix& q) {
  AlignedBuffer<float> buf(static_cast<size_t>(std::max<int64_t>(q.rows * q.cols, 1)));
  for (int64_t i = 0; i < q.rows; ++i) std::memcpy(buf.data() + i * q.cols, q.row(i), q.cols * 4);
  return buf;
}

void check(const RowMatrix& q, const RowMatrix& rows) {
  if (q.dtype != DType::f32) throw std::invalid_argument("queries must be float32");
  if (q.cols != rows.cols)
    throw std::invalid_argument("queries have dimension " + std::to_string(q.cols) + " but the rows have " +
                                std::to_string(rows.cols));
  if (rows.dtype == DType::pq8) throw std::invalid_argument("the dense scan reads dense rows, not pq8 codes");
  if (rows.dtype == DType::i8 && rows.scales == nullptr)
    throw std::invalid_argument("int8 rows need a float32 scale per row");
}

// Pieces of about 2 MB of row data (at least 64 rows), and at least 4 pieces per thread.
Split split_rows(const RowMatrix& rows, int threads) {
  const double bytes = static_cast<double>(std::max<int64_t>(1, rows.cols * dtype_size(rows.dtype)));
  return split_work(rows.rows, bytes, std::max(double(2 << 20), 64 * bytes), threads, 16, 4);
}

// Scores rows [b, e) against every query, kBlock rows and kMaxQueries queries per kernel call:
// sink(query, first row, scores of rows first.. for that query, count).
template <class Sink>
void scan_piece(const float* q, int64_t nq, const RowMatrix& rows, DotsFn fn, int64_t b, int64_t e, Sink&& sink) {
  float tmp[kMaxQueries * kBlock];
  for (int64_t s = b; s < e; s += kBlock) {
    const int64_t m = std::min(kBlock, e - s);
    for (int64_t g = 0; g < nq; g += kMaxQueries) {
      const int ng = static_cast<int>(std::min<int64_t>(kMaxQueries, nq - g));
      fn(q + g * rows.cols, ng, rows, s, m, tmp);
      for (int i = 0; i < ng; ++i) sink(g + i, s, tmp + i * m, m);
    }
  }
}

}  // namespace

void scan_scores(const RowMatrix& queries, const RowMatrix& rows, float* scores, int threads) {
  check(queries, rows);
  const int64_t nq = queries.rows, n = rows.rows;
  if (nq == 0 || n == 0) return;
  AlignedBuffer<float> q = copy_queries(queries);
  const DotsFn fn = active_kernels().dots[static_cast<int>(rows.dtype)];
  parallel_for(split_rows(rows, threads), [&](int64_t, int64_t b, int64_t e) {
    scan_piece(q.data(), nq, rows, fn, b, e, [&](int64_t i, int64_t s, const float* dots, int64_t m) {
      std::memcpy(scores + i * n + s, dots, m * 4);
    });
  });
}

int64_t scan_eligible(const RowMatrix& rows, const uint64_t* excluded) {
  if (!excluded) return rows.rows;
  int64_t n = rows.rows;
  for (int64_t w = 0; w < (rows.rows + 63) / 64; ++w) {
    uint64_t bits = excluded[w];
    if (64 * w + 64 > rows.rows) bits &= (uint64_t{1} << (rows.rows - 64 * w)) - 1;
    n -= __builtin_popcountll(bits);
  }
  return n;
}

void scan_topk(const RowMatrix& queries, const RowMatrix& rows, const uint64_t* excluded, int64_t k, int64_t* out_ids,
               float* out_scores, int threads) {
  check(queries, rows);
  const int64_t eligible = scan_eligible(rows, excluded);
  if (k < 0 || k > eligible)
    throw std::invalid_argument("k must be between 0 and the number of eligible rows (" + std::to_string(eligible) +
                                "), got " + std::to_string(k));
  const int64_t nq = queries.rows;
  if (nq == 0 || k == 0) return;
  AlignedBuffer<float> q = copy_queries(queries);
  const DotsFn fn = active_kernels().dots[static_cast<int>(rows.dtype)];
  const Split split = split_rows(rows, threads);
  // best[p * nq + i]: piece p's best k rows for query i
  std::vector<TopK> best(static_cast<size_t>(split.pieces() * nq), TopK(k));
  parallel_for(split, [&](int64_t p, int64_t b, int64_t e) {
    TopK* mine = best.data() + p * nq;
    scan_piece(q.data(), nq, rows, fn, b, e, [&](int64_t i, int64_t s, const float* dots, int64_t m) {
      for (int64_t j = 0; j < m; ++j) {
        const int64_t id = s + j;
        if (excluded && (excluded[id >> 6] >> (id & 63) & 1)) continue;
        mine[i].offer(dots[j], id);
      }
    });
  });
  const int64_t pieces = split.pieces();
  parallel_for(split_work(nq, static_cast<double>(pieces * k), 1 << 15, threads), [&](int64_t, int64_t b, int64_t e) {
    TopK all;
    for (int64_t i = b; i < e; ++i) {
      all.reset(k);
      for (int64_t p = 0; p < pieces; ++p)
        for (const Ranked& r : best[p * nq + i].items()) all.offer(r.score, r.id);
      const std::vector<Ranked>& top = all.sorted();
      for (int64_t j = 0; j < k; ++j) {
        out_ids[i * k + j] = top[j].id;
        out_scores[i * k + j] = top[j].score;
      }
    }
  });
}

}  // namespace muvera_nano
