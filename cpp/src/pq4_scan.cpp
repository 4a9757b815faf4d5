// The 4-bit fast scan with top-k fused: validates the ranges, packs each query's table once for
// the byte-shuffle kernels, cuts the blocks the ranges touch into pieces over the pool, sums
// tables per row with the active ISA's kernel (exact integers), turns sums into scores and keeps
// the best k per query per piece; pieces are merged in a fixed order. The ranking order is
// total and every score is computed the same way everywhere, so results never depend on the
// instruction set or the thread count.
#include <algorithm>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "aligned_buffer.h"
#include "dispatch.h"
#include "muvera_nano/parallel.h"
#include "muvera_nano/pq.h"
#include "muvera_nano/topk.h"

namespace muvera_nano {
namespace {

// Each query's table in the packed layout of pq_plan.h.
AlignedBuffer<uint8_t> pack_tables(const Pq4Luts& luts, int64_t stride) {
  const int64_t M = luts.subspaces;
  AlignedBuffer<uint8_t> packed(static_cast<size_t>(std::max<int64_t>(luts.queries * stride, 1)));
  std::memset(packed.data(), 0, static_cast<size_t>(luts.queries * stride));
  for (int64_t q = 0; q < luts.queries; ++q) {
    const uint8_t* table = luts.table.data() + q * M * 16;
    uint8_t* out = packed.data() + q * stride;
    for (int64_t m = 0; m < M; ++m) {
      // Subspace m = 4g + 2h + s: half h of the group, nibble s (0 low, 1 high).
      const int64_t g = m / 4, h = (m / 2) % 2, s = m % 2;
      uint8_t* dst = out + g * kPq4GroupBytes + s * 64 + h * 32;
      std::memcpy(dst, table + m * 16, 16);
      std::memcpy(dst + 16, table + m * 16, 16);
    }
  }
  return packed;
}

// A range's blocks, and where its visits start in the concatenation of all ranges' blocks.
struct RangeBlocks {
  int64_t begin, end, first_block, blocks, first_visit;
};

std::vector<RangeBlocks> range_blocks(const int64_t* ranges, int64_t n_ranges, int64_t n_blocks, int64_t* eligible) {
  const int64_t rows = n_blocks * kPq4BlockRows;
  std::vector<RangeBlocks> out(static_cast<size_t>(n_ranges));
  int64_t visits = 0;
  *eligible = 0;
  for (int64_t r = 0; r < n_ranges; ++r) {
    const int64_t b = ranges[2 * r], e = ranges[2 * r + 1];
    if (b < 0 || e < b || e > rows)
      throw std::invalid_argument("ranges[" + std::to_string(r) + "] = [" + std::to_string(b) + ", " +
                                  std::to_string(e) + ") is not a range of positions within [0, " +
                                  std::to_string(rows) + ") (" + std::to_string(n_blocks) + " blocks of 32 rows)");
    const int64_t fb = b / kPq4BlockRows, nb = b == e ? 0 : (e + kPq4BlockRows - 1) / kPq4BlockRows - fb;
    out[r] = {b, e, fb, nb, visits};
    visits += nb;
    *eligible += e - b;
  }
  std::vector<int64_t> order(static_cast<size_t>(n_ranges));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return out[a].begin < out[b].begin; });
  for (size_t i = 1; i < order.size(); ++i) {
    const RangeBlocks &p = out[order[i - 1]], &c = out[order[i]];
    if (c.begin < p.end && c.begin < c.end && p.begin < p.end)
      throw std::invalid_argument("ranges[" + std::to_string(order[i - 1]) + "] and ranges[" +
                                  std::to_string(order[i]) + "] overlap");
  }
  return out;
}

}  // namespace

int64_t pq4_range_positions(const int64_t* ranges, int64_t n_ranges, int64_t n_blocks) {
  int64_t eligible = 0;
  range_blocks(ranges, n_ranges, n_blocks, &eligible);
  return eligible;
}

void pq4_topk(const Pq4Luts& luts, const uint8_t* blocked, int64_t n_blocks, const int64_t* ranges, int64_t n_ranges,
              const float* offsets, int64_t offset_stride, int64_t k, int64_t* out_positions, float* out_scores,
              int threads) {
  const int64_t M = luts.subspaces, nq = luts.queries;
  if (M < 2 || M % 2 != 0)
    throw std::invalid_argument("4-bit codes need an even number of subspaces, got " + std::to_string(M));
  int64_t eligible = 0;
  const std::vector<RangeBlocks> rb = range_blocks(ranges, n_ranges, n_blocks, &eligible);
  if (k < 0 || k > eligible)
    throw std::invalid_argument("k must be between 0 and the number of positions in the ranges (" +
                                std::to_string(eligible) + "), got " + std::to_string(k));
  if (nq == 0 || k == 0) return;

  const int64_t stride = (M + 3) / 4 * kPq4GroupBytes;
  const AlignedBuffer<uint8_t> packed = pack_tables(luts, stride);
  const Pq4Tables tables{M, luts.table.data(), packed.data(), stride};
  const Pq4SumsFn fn = active_kernels().pq4_sums;
  const int64_t block_bytes = M / 2 * kPq4BlockRows;
  // Blocks per kernel call: their codes stay in L1/L2 while each group of queries reads them.
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(16, (64 << 10) / block_bytes));
  const int64_t groups = (nq + kPq4MaxQueries - 1) / kPq4MaxQueries;
  const int64_t visits = rb.empty() ? 0 : rb.back().first_visit + rb.back().blocks;
  const Split split = split_work(visits, static_cast<double>(block_bytes * groups), 1 << 20, threads, 1, 4);

  std::vector<TopK> best(static_cast<size_t>(split.pieces() * nq), TopK(k));
  parallel_for(split, [&](int64_t piece, int64_t vb, int64_t ve) {
    TopK* mine = best.data() + piece * nq;
    AlignedBuffer<uint32_t> sums(static_cast<size_t>(chunk * kPq4MaxQueries * kPq4BlockRows));
    // The first range with visits in [vb, ve).
    int64_t r =
        std::upper_bound(rb.begin(), rb.end(), vb, [](int64_t v, const RangeBlocks& x) { return v < x.first_visit; }) -
        rb.begin() - 1;
    for (int64_t v = vb; v < ve; ++r) {
      const RangeBlocks& range = rb[r];
      const int64_t stop = std::min(ve, range.first_visit + range.blocks);
      for (; v < stop;) {
        const int64_t block = range.first_block + (v - range.first_visit);
        const int64_t nb = std::min(chunk, stop - v);
        for (int64_t g = 0; g < nq; g += kPq4MaxQueries) {
          const int ng = static_cast<int>(std::min<int64_t>(kPq4MaxQueries, nq - g));
          fn(tables, g, ng, blocked + block * block_bytes, nb, sums.data());
          for (int64_t b = 0; b < nb; ++b) {
            const int64_t first = (block + b) * kPq4BlockRows;
            const int64_t j0 = std::max<int64_t>(0, range.begin - first);
            const int64_t j1 = std::min<int64_t>(kPq4BlockRows, range.end - first);
            for (int i = 0; i < ng; ++i) {
              const int64_t q = g + i;
              const double off = offsets[q * offset_stride + r], scale = luts.scale[q], bias = luts.bias[q];
              const uint32_t* s = sums.data() + (b * ng + i) * kPq4BlockRows;
              for (int64_t j = j0; j < j1; ++j) mine[q].offer(static_cast<float>(off + scale * s[j] + bias), first + j);
            }
          }
        }
        v += nb;
      }
    }
  });

  const int64_t pieces = split.pieces();
  parallel_for(split_work(nq, static_cast<double>(pieces * k), 1 << 15, threads), [&](int64_t, int64_t b, int64_t e) {
    TopK all;
    for (int64_t q = b; q < e; ++q) {
      all.reset(k);
      for (int64_t p = 0; p < pieces; ++p)
        for (const Ranked& x : best[p * nq + q].items()) all.offer(x.score, x.id);
      const std::vector<Ranked>& top = all.sorted();
      for (int64_t j = 0; j < k; ++j) {
        out_positions[q * k + j] = top[j].id;
        out_scores[q * k + j] = top[j].score;
      }
    }
  });
}

}  // namespace muvera_nano
