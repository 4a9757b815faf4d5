// The 4-bit fast scan on every supported ISA: table sums bit-identical to the scalar
// reference, and the fused top-k equal to an independent full sort of every eligible row's
// score, for awkward subspace counts, row counts, ranges (partial blocks, empty, unordered),
// query counts and thread counts.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "dispatch.h"
#include "harness.h"
#include "muvera_nano/cpu.h"
#include "muvera_nano/pq.h"
#include "muvera_nano/topk.h"

using namespace muvera_nano;

namespace {

// Random tables; `extreme` puts 255 in most entries (the largest sums the 16-bit lanes see).
Pq4Luts random_luts(std::mt19937& g, int64_t nq, int64_t M, bool extreme) {
  Pq4Luts l;
  l.queries = nq;
  l.subspaces = M;
  l.table.resize(static_cast<size_t>(nq * M * 16));
  for (auto& x : l.table) x = extreme && g() % 8 != 0 ? 255 : static_cast<uint8_t>(g());
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  for (int64_t q = 0; q < nq; ++q) {
    l.scale.push_back(std::ldexp(1.0f + std::fabs(u(g)), -8 - static_cast<int>(g() % 4)));
    l.bias.push_back(u(g));
  }
  return l;
}

// n rows of M / 2 random code bytes (or all 0xff) in the blocked layout.
std::vector<uint8_t> random_blocked(std::mt19937& g, int64_t n, int64_t M, bool all_ones, int64_t* n_blocks) {
  std::vector<uint8_t> codes(static_cast<size_t>(n * M / 2));
  for (auto& x : codes) x = all_ones ? 0xff : static_cast<uint8_t>(g());
  *n_blocks = (n + kPq4BlockRows - 1) / kPq4BlockRows;
  std::vector<uint8_t> blocked(static_cast<size_t>(*n_blocks * M / 2 * kPq4BlockRows));  // a read past: ASan
  pq4_block(codes.data(), n, M, blocked.data());
  return blocked;
}

// Disjoint ranges within [0, n), shuffled, some empty, most not block-aligned.
std::vector<int64_t> random_ranges(std::mt19937& g, int64_t n) {
  std::vector<int64_t> cuts = {0, n};
  for (int i = 0; i < 8; ++i) cuts.push_back(static_cast<int64_t>(g() % (n + 1)));
  std::sort(cuts.begin(), cuts.end());
  std::vector<std::pair<int64_t, int64_t>> pieces;
  for (size_t i = 0; i + 1 < cuts.size(); ++i)
    if (g() % 4 != 0) pieces.push_back({cuts[i], cuts[i + 1]});  // some gaps: positions outside every range
  std::shuffle(pieces.begin(), pieces.end(), g);
  std::vector<int64_t> out;
  for (auto& p : pieces) out.insert(out.end(), {p.first, p.second});
  return out;
}

// Code of row r, subspace m, straight from the blocked layout.
int code_of(const std::vector<uint8_t>& blocked, int64_t M, int64_t r, int64_t m) {
  const uint8_t byte = blocked[(r / kPq4BlockRows) * (M / 2) * kPq4BlockRows + (m / 2) * kPq4BlockRows + r % 32];
  return m % 2 ? byte >> 4 : byte & 15;
}

}  // namespace

TEST(pq4_sums_every_isa_bit_identical_to_scalar) {
  std::mt19937 g(21);
  for (int64_t M : {2, 4, 6, 34, 130, 258, 1030}) {
    for (bool extreme : {false, true}) {
      int64_t n_blocks;
      const std::vector<uint8_t> blocked = random_blocked(g, 3 * kPq4BlockRows - 5, M, extreme, &n_blocks);
      const Pq4Luts l = random_luts(g, 9, M, extreme);
      // Tables in the packed layout of pq_plan.h, as the driver packs them.
      const int64_t stride = (M + 3) / 4 * kPq4GroupBytes;
      std::vector<uint8_t> packed(static_cast<size_t>(l.queries * stride), 0);
      for (int64_t q = 0; q < l.queries; ++q)
        for (int64_t m = 0; m < M; ++m)
          for (int c = 0; c < 32; ++c)
            packed[q * stride + m / 4 * 128 + m % 2 * 64 + m / 2 % 2 * 32 + c] = l.table[(q * M + m) * 16 + c % 16];
      const Pq4Tables t{M, l.table.data(), packed.data(), stride};
      for (int nq = 1; nq <= kPq4MaxQueries; ++nq) {
        const int64_t q0 = 9 - nq;
        std::vector<uint32_t> want(static_cast<size_t>(n_blocks * nq * 32));
        kernel_table(Isa::scalar).pq4_sums(t, q0, nq, blocked.data(), n_blocks, want.data());
        // The reference against the definition, then every ISA against the reference.
        for (int64_t b = 0; b < n_blocks; ++b)
          for (int i = 0; i < nq; ++i)
            for (int64_t j = 0; j < 32; ++j) {
              uint32_t s = 0;
              for (int64_t m = 0; m < M; ++m)
                s += l.table[((q0 + i) * M + m) * 16 + code_of(blocked, M, 32 * b + j, m)];
              CHECK(want[(b * nq + i) * 32 + j] == s);
            }
        for (Isa isa : supported_isas()) {
          std::vector<uint32_t> got(want.size(), 12345);
          kernel_table(isa).pq4_sums(t, q0, nq, blocked.data(), n_blocks, got.data());
          CHECK_MSG(got == want, "%s M %lld nq %d extreme %d", isa_name(isa), (long long)M, nq, (int)extreme);
        }
      }
    }
  }
}

TEST(pq4_topk_every_isa_and_thread_count_matches_a_full_sort) {
  std::mt19937 g(22);
  for (int64_t M : {2, 6, 34, 258}) {
    for (int64_t n : {1, 31, 33, 95, 700}) {
      int64_t n_blocks;
      const std::vector<uint8_t> blocked = random_blocked(g, n, M, false, &n_blocks);
      const std::vector<int64_t> ranges = random_ranges(g, n);
      const int64_t n_ranges = static_cast<int64_t>(ranges.size() / 2);
      int64_t eligible = 0;
      for (int64_t r = 0; r < n_ranges; ++r) eligible += ranges[2 * r + 1] - ranges[2 * r];
      CHECK(pq4_range_positions(ranges.data(), n_ranges, n_blocks) == eligible);
      for (int64_t nq : {1, 5}) {
        const Pq4Luts l = random_luts(g, nq, M, false);
        // Per-query offsets (stride n_ranges), or one per range for all queries (stride 0);
        // a few equal scores: offsets of two ranges coincide.
        for (int64_t offset_stride : {int64_t{0}, n_ranges}) {
          std::vector<float> offsets(static_cast<size_t>(std::max<int64_t>(1, nq * n_ranges)));
          for (auto& x : offsets) x = static_cast<float>(g() % 5) * 0.25f;
          for (int64_t k : {std::min<int64_t>(eligible, 1), std::min<int64_t>(eligible, 10), eligible}) {
            // The independent answer: every eligible row scored, fully sorted.
            std::vector<int64_t> want_ids(static_cast<size_t>(nq * k));
            std::vector<float> want_scores(static_cast<size_t>(nq * k));
            for (int64_t q = 0; q < nq; ++q) {
              std::vector<Ranked> all;
              for (int64_t r = 0; r < n_ranges; ++r)
                for (int64_t pos = ranges[2 * r]; pos < ranges[2 * r + 1]; ++pos) {
                  uint64_t s = 0;
                  for (int64_t m = 0; m < M; ++m) s += l.table[(q * M + m) * 16 + code_of(blocked, M, pos, m)];
                  const double off = offsets[q * offset_stride + r];
                  all.push_back({static_cast<float>(off + static_cast<double>(l.scale[q]) * s + l.bias[q]), pos});
                }
              std::sort(all.begin(), all.end(), [](const Ranked& a, const Ranked& b) { return ranks_before(a, b); });
              for (int64_t j = 0; j < k; ++j) {
                want_ids[q * k + j] = all[j].id;
                want_scores[q * k + j] = all[j].score;
              }
            }
            for (Isa isa : supported_isas())
              for (int threads : {1, 2, 3}) {
                set_active_isa(isa);
                std::vector<int64_t> ids(want_ids.size(), -1);
                std::vector<float> scores(want_scores.size(), NAN);
                pq4_topk(l, blocked.data(), n_blocks, ranges.data(), n_ranges, offsets.data(), offset_stride, k,
                         ids.data(), scores.data(), threads);
                CHECK_MSG(ids == want_ids && std::memcmp(scores.data(), want_scores.data(), scores.size() * 4) == 0,
                          "%s threads %d M %lld n %lld nq %lld k %lld", isa_name(isa), threads, (long long)M,
                          (long long)n, (long long)nq, (long long)k);
              }
          }
        }
      }
    }
  }
  set_active_isa(supported_isas().front());
}

TEST(pq4_topk_rejects_bad_ranges_and_k) {
  std::mt19937 g(23);
  int64_t n_blocks;
  const std::vector<uint8_t> blocked = random_blocked(g, 40, 4, false, &n_blocks);
  const Pq4Luts l = random_luts(g, 1, 4, false);
  std::vector<int64_t> ids(64);
  std::vector<float> scores(64), offsets = {0.0f, 0.0f};
  auto run = [&](std::vector<int64_t> ranges, int64_t k) {
    pq4_topk(l, blocked.data(), n_blocks, ranges.data(), static_cast<int64_t>(ranges.size() / 2), offsets.data(), 0, k,
             ids.data(), scores.data(), 1);
  };
  run({0, 40, 50, 64}, 54);
  CHECK_THROWS(run({0, 40, 50, 65}, 1));  // past the blocks
  CHECK_THROWS(run({0, 40, 39, 50}, 1));  // overlapping
  CHECK_THROWS(run({5, 4}, 0));           // reversed
  CHECK_THROWS(run({0, 40, 50, 64}, 55));
  CHECK_THROWS(run({0, 40, 50, 64}, -1));
}

// Codes through the public entry (threads, nibble packing) on the active ISA.
static std::vector<uint8_t> encode(const std::vector<float>& rows, int64_t n, const std::vector<float>& cent, int64_t M,
                                   int64_t K, int64_t dsub, int threads) {
  std::vector<uint8_t> out(static_cast<size_t>(n * (K == 256 ? M : M / 2)));
  pq_encode(f32_matrix(rows.data(), n, M * dsub), cent.data(), M, K, dsub, out.data(), threads);
  return out;
}

TEST(pq_encode_every_isa_and_thread_count_bit_identical_and_nearest) {
  std::mt19937 g(24);
  std::normal_distribution<float> nd;
  for (int64_t K : {16, 256})
    for (int64_t dsub : {1, 2, 3, 4, 5, 8})
      for (int64_t M : {2, 6, 32}) {
        if (M * dsub > 130) continue;
        const int64_t n = 203;
        std::vector<float> cent(static_cast<size_t>(M * K * dsub)), rows(static_cast<size_t>(n * M * dsub));
        for (auto& x : cent) x = nd(g);
        // Exact ties: centroid 2k + 1 repeats 2k in every other subspace (lowest index wins).
        for (int64_t m = 0; m < M; m += 2)
          for (int64_t k = 0; k + 1 < K; k += 2)
            for (int64_t j = 0; j < dsub; ++j) cent[(m * K + k + 1) * dsub + j] = cent[(m * K + k) * dsub + j];
        // Rows near centroids (close calls), some exactly on one, and a few far away.
        for (int64_t r = 0; r < n; ++r)
          for (int64_t m = 0; m < M; ++m) {
            const int64_t k = g() % K;
            for (int64_t j = 0; j < dsub; ++j) {
              const float c = cent[(m * K + k) * dsub + j];
              rows[(r * M + m) * dsub + j] = r % 7 == 0 ? c : (r % 11 == 0 ? 50.0f * nd(g) : c + 0.3f * nd(g));
            }
          }
        set_active_isa(Isa::scalar);
        const std::vector<uint8_t> want = encode(rows, n, cent, M, K, dsub, 1);
        // The reference against float64 distances: its pick is nearest up to float32 rounding.
        for (int64_t r = 0; r < n; ++r)
          for (int64_t m = 0; m < M; ++m) {
            const int64_t code = K == 256 ? want[r * M + m] : (want[r * M / 2 + m / 2] >> (4 * (m % 2))) & 15;
            double best = INFINITY, got = 0, mag = 0;
            for (int64_t k = 0; k < K; ++k) {
              double d = 0, a = 0;
              for (int64_t j = 0; j < dsub; ++j) {
                const double x = rows[(r * M + m) * dsub + j], c = cent[(m * K + k) * dsub + j];
                d += (x - c) * (x - c);
                a += x * x + c * c + 2 * std::fabs(x * c);
              }
              best = std::min(best, d);
              if (k == code) got = d;
              mag = std::max(mag, a);
            }
            CHECK_MSG(got <= best + 4 * (dsub + 2) * std::ldexp(1.0, -24) * mag, "K %lld dsub %lld M %lld row %lld",
                      (long long)K, (long long)dsub, (long long)M, (long long)r);
          }
        for (Isa isa : supported_isas())
          for (int threads : {1, 2, 3}) {
            set_active_isa(isa);
            CHECK_MSG(encode(rows, n, cent, M, K, dsub, threads) == want, "%s threads %d K %lld dsub %lld M %lld",
                      isa_name(isa), threads, (long long)K, (long long)dsub, (long long)M);
          }
      }
  set_active_isa(supported_isas().front());
  std::vector<float> cent(16 * 2, 0.0f), rows = {1.0f, NAN};
  CHECK_THROWS(pq_encode(f32_matrix(rows.data(), 1, 2), cent.data(), 2, 16, 1, std::vector<uint8_t>(1).data(), 1));
}

// Enough codes for several pieces (and pieces that depend on the thread count), with ranges
// across piece boundaries: the merge of per-piece heaps against a full sort.
TEST(pq4_topk_over_many_pieces_matches_a_full_sort) {
  std::mt19937 g(25);
  const int64_t M = 2560, n = 20000, nq = 5, k = 50;
  int64_t n_blocks;
  const std::vector<uint8_t> blocked = random_blocked(g, n, M, false, &n_blocks);
  const std::vector<int64_t> ranges = {17000, 19990, 5, 9000, 9100, 16001};
  const int64_t n_ranges = 3;
  const Pq4Luts l = random_luts(g, nq, M, false);
  const std::vector<float> offsets = {0.5f, 0.0f, 0.25f};
  std::vector<int64_t> want_ids(nq * k);
  std::vector<float> want_scores(nq * k);
  for (int64_t q = 0; q < nq; ++q) {
    std::vector<Ranked> all;
    for (int64_t r = 0; r < n_ranges; ++r)
      for (int64_t pos = ranges[2 * r]; pos < ranges[2 * r + 1]; ++pos) {
        uint64_t s = 0;
        for (int64_t m = 0; m < M; ++m) s += l.table[(q * M + m) * 16 + code_of(blocked, M, pos, m)];
        all.push_back({static_cast<float>(offsets[r] + static_cast<double>(l.scale[q]) * s + l.bias[q]), pos});
      }
    std::partial_sort(all.begin(), all.begin() + k, all.end(),
                      [](const Ranked& a, const Ranked& b) { return ranks_before(a, b); });
    for (int64_t j = 0; j < k; ++j) want_ids[q * k + j] = all[j].id, want_scores[q * k + j] = all[j].score;
  }
  for (Isa isa : supported_isas())
    for (int threads : {1, 2, 3}) {
      set_active_isa(isa);
      std::vector<int64_t> ids(want_ids.size(), -1);
      std::vector<float> scores(want_scores.size(), NAN);
      pq4_topk(l, blocked.data(), n_blocks, ranges.data(), n_ranges, offsets.data(), 0, k, ids.data(), scores.data(),
               threads);
      CHECK_MSG(ids == want_ids && std::memcmp(scores.data(), want_scores.data(), scores.size() * 4) == 0,
                "%s threads %d", isa_name(isa), threads);
    }
  set_active_isa(supported_isas().front());
}
