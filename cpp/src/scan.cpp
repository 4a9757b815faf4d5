// Dense scan driver: copies the queries once, splits rows into pieces over the pool, scores
// each piece with the active ISA's dot kernel (up to 4 queries per row load) and keeps the
// best k per query per piece; pieces are merged in a fixed order. Every score is computed
// by one kernel call and the ranking order is total, so results never depend on threads.
#include "muvera_nano/scan.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include "aligned_buffer.h"
#include "muvera_nano/parallel.h"
#include "muvera_nano/topk.h"
#include "scan_kernels.h"

namespace muvera_nano {
namespace scan_detail {

const DotsTable& dots_for(Isa isa) {
  static const DotsTable scalar = scalar_dots();
#if defined(__x86_64__) || defined(_M_X64)
  static const DotsTable avx2 = isa_supported(Isa::avx2) ? avx2_dots() : scalar;
  static const DotsTable avx512 = isa_supported(Isa::avx512) ? avx512_dots() : scalar;
  if (isa == Isa::avx512) return avx512;
  if (isa == Isa::avx2) return avx2;
#endif
#if defined(__aarch64__)
  static const DotsTable neon = neon_dots();
  if (isa == Isa::neon) return neon;
#endif
  return scalar;
}

namespace {

struct Item {
  float score;
  int64_t id;
};
inline bool before(const Item& a, const Item& b) { return ranks_before(a.score, a.id, b.score, b.id); }

// Bounded heap whose front is the worst kept item.
inline void offer(std::vector<Item>& heap, int64_t k, Item it) {
  if (static_cast<int64_t>(heap.size()) < k) {
    heap.push_back(it);
    std::push_heap(heap.begin(), heap.end(), before);
  } else if (k > 0 && before(it, heap.front())) {
    std::pop_heap(heap.begin(), heap.end(), before);
    heap.back() = it;
    std::push_heap(heap.begin(), heap.end(), before);
  }
}

AlignedBuffer<float> copy_queries(const MatrixView& q) {
  AlignedBuffer<float> buf(static_cast<size_t>(std::max<int64_t>(q.rows * q.cols, 1)));
  for (int64_t i = 0; i < q.rows; ++i) std::memcpy(buf.data() + i * q.cols, q.data + i * q.row_stride, q.cols * 4);
  return buf;
}

void check(const MatrixView& q, const RowStore& rows) {
  if (q.cols != rows.cols)
    throw std::invalid_argument("queries have dimension " + std::to_string(q.cols) + " but the rows have " +
                                std::to_string(rows.cols));
  if (rows.dtype == DType::i8 && rows.scales == nullptr)
    throw std::invalid_argument("int8 rows need a float32 scale per row");
}

// Rows per piece: about 2 MB of row data, and at least a few pieces per thread.
int64_t piece_rows(const RowStore& rows, int threads) {
  const int64_t bytes = std::max<int64_t>(1, rows.cols * dtype_size(rows.dtype));
  int64_t grain = std::max<int64_t>(64, (int64_t{2} << 20) / bytes);
  const int64_t per_thread = (rows.rows + 4 * threads - 1) / (4 * threads);
  return std::max<int64_t>(16, std::min(grain, per_thread));
}

constexpr int64_t kBlock = 256;  // rows scored per kernel call (the scores stay in L1)

}  // namespace
}  // namespace scan_detail

using namespace scan_detail;

void scan_scores(const MatrixView& queries, const RowStore& rows, float* scores, int threads) {
  check(queries, rows);
  threads = resolve_threads(threads);
  const int64_t nq = queries.rows, n = rows.rows;
  if (nq == 0 || n == 0) return;
  AlignedBuffer<float> q = copy_queries(queries);
  const DotsFn fn = dots_for(active_isa()).for_dtype(rows.dtype);
  parallel_for(n, piece_rows(rows, threads), threads, [&](int64_t b, int64_t e) {
    float tmp[kMaxQueries * kBlock];
    for (int64_t s = b; s < e; s += kBlock) {
      const int64_t m = std::min(kBlock, e - s);
      for (int64_t g = 0; g < nq; g += kMaxQueries) {
        const int ng = static_cast<int>(std::min<int64_t>(kMaxQueries, nq - g));
        fn(q.data() + g * rows.cols, ng, rows, s, m, tmp);
        for (int i = 0; i < ng; ++i) std::memcpy(scores + (g + i) * n + s, tmp + i * m, m * 4);
      }
    }
  });
}

void scan_topk(const MatrixView& queries, const RowStore& rows, const uint64_t* excluded, int64_t k,
               int64_t* out_ids, float* out_scores, int threads) {
  check(queries, rows);
  if (k < 0) throw std::invalid_argument("k must be >= 0");
  threads = resolve_threads(threads);
  const int64_t nq = queries.rows, n = rows.rows;
  if (nq == 0 || k == 0) return;
  AlignedBuffer<float> q = copy_queries(queries);
  const DotsFn fn = dots_for(active_isa()).for_dtype(rows.dtype);
  const int64_t grain = piece_rows(rows, threads);
  const int64_t n_pieces = n == 0 ? 0 : (n + grain - 1) / grain;
  // pieces[p][i]: piece p's best k rows for query i
  std::vector<std::vector<std::vector<Item>>> pieces(static_cast<size_t>(n_pieces));
  parallel_for(n, grain, threads, [&](int64_t b, int64_t e) {
    std::vector<std::vector<Item>>& best = pieces[b / grain];
    best.assign(static_cast<size_t>(nq), {});
    float tmp[kMaxQueries * kBlock];
    for (int64_t s = b; s < e; s += kBlock) {
      const int64_t m = std::min(kBlock, e - s);
      for (int64_t g = 0; g < nq; g += kMaxQueries) {
        const int ng = static_cast<int>(std::min<int64_t>(kMaxQueries, nq - g));
        fn(q.data() + g * rows.cols, ng, rows, s, m, tmp);
        for (int i = 0; i < ng; ++i)
          for (int64_t j = 0; j < m; ++j) {
            const int64_t id = s + j;
            if (excluded && (excluded[id >> 6] >> (id & 63) & 1)) continue;
            offer(best[g + i], k, Item{tmp[i * m + j], id});
          }
      }
    }
  });
  parallel_for(nq, 1, nq * n_pieces * k > (1 << 16) ? threads : 1, [&](int64_t b, int64_t e) {
    std::vector<Item> all;
    for (int64_t i = b; i < e; ++i) {
      all.clear();
      for (auto& piece : pieces) all.insert(all.end(), piece[i].begin(), piece[i].end());
      const int64_t kept = std::min<int64_t>(k, static_cast<int64_t>(all.size()));
      std::partial_sort(all.begin(), all.begin() + kept, all.end(), before);
      for (int64_t j = 0; j < k; ++j) {
        out_ids[i * k + j] = j < kept ? all[j].id : -1;
        out_scores[i * k + j] = j < kept ? all[j].score : std::numeric_limits<float>::quiet_NaN();
      }
    }
  });
}

}  // namespace muvera_nano
