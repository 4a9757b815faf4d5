// The thread pool: coverage of every item once, error propagation, concurrent callers.
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
        parallel_for(n, grain, threads, [&](int64_t b, int64_t e) {
          CHECK(e - b <= grain && b < e);
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
      parallel_for(100, 1, threads, [&](int64_t b, int64_t) {
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
        parallel_for(200, 7, 2, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
    });
  for (auto& t : callers) t.join();
  CHECK(total.load() == 6 * 20 * 200);
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
}
