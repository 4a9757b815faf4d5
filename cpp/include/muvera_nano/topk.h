// Top-k selection for ranked results: the ranking order, one bounded heap, and top-k over
// rows of a score matrix.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace muvera_nano {

// Order used everywhere results are ranked: higher score first, equal scores by lower
// id; NaN ranks below every number (including -inf).
inline bool ranks_before(float a_score, int64_t a_id, float b_score, int64_t b_id) {
  bool a_nan = a_score != a_score, b_nan = b_score != b_score;
  if (a_nan || b_nan) return !a_nan && b_nan ? true : (a_nan && b_nan ? a_id < b_id : false);
  if (a_score != b_score) return a_score > b_score;
  return a_id < b_id;
}

struct Ranked {
  float score;
  int64_t id;
};
inline bool ranks_before(const Ranked& a, const Ranked& b) { return ranks_before(a.score, a.id, b.score, b.id); }

// The best k of the items offered. A bounded heap whose front is the worst kept item, so
// most offers cost one comparison. Baseline code only (it instantiates std containers).
class TopK {
 public:
  explicit TopK(int64_t k = 0) { reset(k); }
  void reset(int64_t k) {
    k_ = k < 0 ? 0 : k;
    heap_.clear();
  }
  void offer(float score, int64_t id) {
    const Ranked it{score, id};
    if (static_cast<int64_t>(heap_.size()) < k_) {
      heap_.push_back(it);
      std::push_heap(heap_.begin(), heap_.end(), order);
    } else if (k_ > 0 && ranks_before(it, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), order);
      heap_.back() = it;
      std::push_heap(heap_.begin(), heap_.end(), order);
    }
  }
  const std::vector<Ranked>& items() const { return heap_; }
  // The kept items in rank order (the heap is consumed; reset before reuse).
  const std::vector<Ranked>& sorted() {
    std::sort_heap(heap_.begin(), heap_.end(), order);
    return heap_;
  }

 private:
  static bool order(const Ranked& a, const Ranked& b) { return ranks_before(a, b); }
  int64_t k_ = 0;
  std::vector<Ranked> heap_;
};

// For each of n_rows rows of `scores` (row stride n_cols), writes the best k entries in rank
// order: out_ids[r * k + j] is the id (ids[r * n_cols + c] if ids is given, else c) and
// out_scores the score. Needs 0 <= k <= n_cols (std::invalid_argument otherwise).
void topk_rows(const float* scores, const int64_t* ids, int64_t n_rows, int64_t n_cols, int64_t k, int64_t* out_ids,
               float* out_scores, int threads);

}  // namespace muvera_nano
