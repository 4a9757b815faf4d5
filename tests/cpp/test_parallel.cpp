// The thread pool: coverage of every item once, error propagation, concurrent callers.
#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "harness.h"
#include "muvera_nano/parallel.h"
#include "muvera_nano/topk.h"

using namespace muvera_nano;

TEST(parallel_for_visits_every_item_once) {
  for (int threads : {1, 2, 3, 7}) {
    for (int64_t n : {0, 1, 5, 64, 1000}) {
      for (int64_t grain : {1, 3, 64, 5000}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        parallel_for(Split{n, grain, threads}, [&](int64_t p, int64_t b, int64_t e) {
          CHECK(e - b <= grain && b < e);
          CHECK(b == p * grain);  // the piece index names the piece
          for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1);
        });
        for (int64_t i = 0; i < n; ++i) CHECK(hits[i].load() == 1);
      }
    }
  }
}

TEST(parallel_for_rethrows_the_first_error_once) {
  for (int threads : {1, 2, 4}) {
    int caught = 0;
    try {
      parallel_for(Split{100, 1, threads}, [&](int64_t, int64_t b, int64_t) {
        if (b == 37) throw std::runtime_error("piece 37");
      });
    } catch (const std::runtime_error& e) {
      ++caught;
      CHECK(std::string(e.what()) == "piece 37");
    }
    CHECK(caught == 1);
  }
}

TEST(parallel_for_from_many_threads_at_once) {
  std::vector<std::thread> callers;
  std::atomic<int64_t> total{0};
  for (int c = 0; c < 6; ++c)
    callers.emplace_back([&] {
      for (int rep = 0; rep < 20; ++rep)
        parallel_for(Split{200, 7, 2}, [&](int64_t, int64_t b, int64_t e) { total.fetch_add(e - b); });
    });
  for (auto& t : callers) t.join();
  CHECK(total.load() == 6 * 20 * 200);
}

TEST(split_work_owns_the_threads_rule) {
  // Under two pieces' worth of work: one thread, one piece.
  Split s = split_work(1000, 1.0, 1000.0, 8);
  CHECK(s.threads == 1 && s.grain == 1000 && s.pieces() == 1);
  // Ten pieces' worth: pieces of the asked cost, no more threads than asked or useful.
  s = split_work(1000, 10.0, 1000.0, 4);
  CHECK(s.threads == 4 && s.grain == 100 && s.pieces() == 10);
  s = split_work(1000, 10.0, 4000.0, 64);
  CHECK(s.threads == 2 && s.grain == 400);
  // min_grain and pieces_per_thread.
  s = split_work(1000, 1.0, 1.0, 2, 50);
  CHECK(s.grain == 50);
  s = split_work(1000, 1.0, 400.0, 2, 16, 4);
  CHECK(s.threads == 2 && s.grain == 125);
  // Degenerate inputs stay valid.
  s = split_work(0, 1.0, 1.0, 2);
  CHECK(s.pieces() == 0 && s.grain >= 1);
  s = split_work(5, 0.0, 1.0, 2);
  CHECK(s.threads == 1 && s.pieces() == 1);
}

TEST(topk_orders_by_score_then_id_with_nan_last) {
  const float nan = __builtin_nanf("");
  const float scores[] = {1.0f, 3.0f, nan, 3.0f, -__builtin_inff(), 2.0f};
  int64_t ids[6];
  float top[6];
  topk_rows(scores, nullptr, 1, 6, 6, ids, top, 1);
  const int64_t want[] = {1, 3, 5, 0, 4, 2};
  for (int i = 0; i < 6; ++i) CHECK(ids[i] == want[i]);
  topk_rows(scores, nullptr, 1, 6, 2, ids, top, 1);
  CHECK(ids[0] == 1 && ids[1] == 3 && top[0] == 3.0f);
  const int64_t cand[] = {50, 40, 30, 20, 10, 0};
  topk_rows(scores, cand, 1, 6, 3, ids, top, 1);
  CHECK(ids[0] == 20 && ids[1] == 40 && ids[2] == 0);  // equal scores: lower id first
  CHECK_THROWS(topk_rows(scores, nullptr, 1, 6, 7, ids, top, 1));
}

TEST(topk_heap_keeps_the_best_k_in_rank_order) {
  std::vector<float> scores;
  for (int i = 0; i < 500; ++i) scores.push_back(static_cast<float>((i * 7919) % 101));
  for (int64_t k : {0, 1, 5, 101, 500}) {
    TopK heap(k);
    for (int i = 0; i < 500; ++i) heap.offer(scores[i], i);
    std::vector<Ranked> all;
    for (int i = 0; i < 500; ++i) all.push_back({scores[i], i});
    std::sort(all.begin(), all.end(), [](const Ranked& a, const Ranked& b) { return ranks_before(a, b); });
    const std::vector<Ranked>& got = heap.sorted();
    CHECK(static_cast<int64_t>(got.size()) == k);
    for (int64_t j = 0; j < k && j < static_cast<int64_t>(got.size()); ++j)
      CHECK(got[j].id == all[j].id && got[j].score == all[j].score);
  }
}
