#include "muvera_nano/topk.h"

#include <stdexcept>
#include <string>

#include "muvera_nano/parallel.h"

namespace muvera_nano {

void topk_rows(const float* scores, const int64_t* ids, int64_t n_rows, int64_t n_cols, int64_t k, int64_t* out_ids,
               float* out_scores, int threads) {
  if (k < 0 || k > n_cols)
    throw std::invalid_argument("k must be between 0 and " + std::to_string(n_cols) + ", got " + std::to_string(k));
  parallel_for(split_work(n_rows, static_cast<double>(n_cols), 1 << 15, threads), [&](int64_t, int64_t b, int64_t e) {
    TopK heap;
    for (int64_t r = b; r < e; ++r) {
      heap.reset(k);
      const float* row = scores + r * n_cols;
      const int64_t* row_ids = ids ? ids + r * n_cols : nullptr;
      for (int64_t c = 0; c < n_cols; ++c) heap.offer(row[c], row_ids ? row_ids[c] : c);
      const std::vector<Ranked>& best = heap.sorted();
      for (int64_t j = 0; j < k; ++j) {
        out_ids[r * k + j] = best[j].id;
        out_scores[r * k + j] = best[j].score;
      }
    }
  });
}

}  // namespace muvera_nano
