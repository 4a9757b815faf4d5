#include "muvera_nano/topk.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "muvera_nano/parallel.h"

namespace muvera_nano {
namespace {

struct Item {
  float score;
  int64_t id;
};

inline bool before(const Item& a, const Item& b) { return ranks_before(a.score, a.id, b.score, b.id); }

// A bounded heap whose top is the worst kept item; most candidates fail one comparison.
void topk_row(const float* scores, const int64_t* ids, int64_t n, int64_t k, int64_t* out_ids,
              float* out_scores, std::vector<Item>& heap) {
  heap.clear();
  if (k == 0) return;
  for (int64_t c = 0; c < n; ++c) {
    Item it{scores[c], ids ? ids[c] : c};
    if (static_cast<int64_t>(heap.size()) < k) {
      heap.push_back(it);
      std::push_heap(heap.begin(), heap.end(), before);
    } else if (before(it, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), before);
      heap.back() = it;
      std::push_heap(heap.begin(), heap.end(), before);
    }
  }
  std::sort_heap(heap.begin(), heap.end(), before);
  for (int64_t j = 0; j < k; ++j) {
    out_ids[j] = heap[j].id;
    out_scores[j] = heap[j].score;
  }
}

}  // namespace

void topk_rows(const float* scores, const int64_t* ids, int64_t n_rows, int64_t n_cols, int64_t k,
               int64_t* out_ids, float* out_scores, int threads) {
  threads = resolve_threads(threads);
  if (n_rows * n_cols < (1 << 16)) threads = 1;
  parallel_for(n_rows, 1, threads, [&](int64_t b, int64_t e) {
    std::vector<Item> heap;
    heap.reserve(static_cast<size_t>(k));
    for (int64_t r = b; r < e; ++r)
      topk_row(scores + r * n_cols, ids ? ids + r * n_cols : nullptr, n_cols, k, out_ids + r * k,
               out_scores + r * k, heap);
  });
}

}  // namespace muvera_nano
