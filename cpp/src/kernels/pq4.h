// Internal: the 4-bit fast scan's table sums, written once over a vector-operations type V
// (simd/vec_*.h). For each row of a block, the sum over nibble pairs of the low nibble's and
// the high nibble's table bytes: byte shuffles look up 32 rows at a time, 16-bit lanes
// accumulate them, and every chunk of kPq4ChunkPairs pairs is flushed into the 32-bit sums.
// Integer sums are exact, so every ISA returns the scalar reference's bits.
//
// Loop order: chunk of pairs, then block, then pair, then query. A chunk's tables (<= 4 KB
// per query) stay in L1 while every block of the call reads its codes once; each code vector
// is split into nibbles once for all queries of the call.
#pragma once

#include <cstdint>
#include <cstring>

#include "muvera_nano/pq.h"  // kPq4BlockRows (nothing of it that would be compiled here is used)
#include "pq_plan.h"
#include "simd/simd.h"

namespace muvera_nano::kernels {
namespace {

// Pairs per flush: at most 2 x 255 per pair reaches any 16-bit lane, 64 x 510 < 2^16.
constexpr int64_t kPq4ChunkPairs = 64;
static_assert(kPq4ChunkPairs <= kPq4FlushSteps, "16-bit lanes must not overflow between flushes");

// Pairs [p0, p1) of one block's rows for NQ queries (tables tab[i]), added into sums[i * 32 ..].
template <class V, int NQ>
MN_INLINE void pq4_chunk(const uint8_t* const* tab, const uint8_t* codes, const uint8_t* ahead, int64_t p0, int64_t p1,
                         uint32_t* sums) {
  constexpr int64_t P = V::kPq4PairsPerStep;
  typename V::Pq4Acc acc[NQ];
  for (int i = 0; i < NQ; ++i) acc[i] = V::pq4_acc_zero();
  for (int64_t p = p0; p < p1; p += P) {
    V::prefetch(ahead + p * kPq4BlockRows);
    const typename V::Pq4Codes c = V::pq4_codes(codes + p * kPq4BlockRows, p1 - p);
    const typename V::Pq4Codes lo = V::pq4_low(c), hi = V::pq4_high(c);
    // Pair p's low-nibble table (pq_plan.h); the high one is 64 bytes on.
    const int64_t at = (p / 2) * kPq4GroupBytes + (p % 2) * 32;
    for (int i = 0; i < NQ; ++i) {
      V::pq4_acc_add(acc[i], V::pq4_lookup(V::pq4_table(tab[i] + at), lo));
      V::pq4_acc_add(acc[i], V::pq4_lookup(V::pq4_table(tab[i] + at + 64), hi));
    }
  }
  for (int i = 0; i < NQ; ++i) V::pq4_flush(acc[i], sums + i * kPq4BlockRows);
}

template <class V, int NQ>
void pq4_sums_n(const Pq4Tables& t, int64_t q0, const uint8_t* blocks, int64_t n_blocks, uint32_t* sums) {
  const int64_t pairs = t.subspaces / 2, block_bytes = pairs * kPq4BlockRows;
  const uint8_t* tab[NQ];
  for (int i = 0; i < NQ; ++i) tab[i] = t.packed + (q0 + i) * t.packed_stride;
  std::memset(sums, 0, static_cast<size_t>(n_blocks * NQ * kPq4BlockRows) * sizeof(uint32_t));
  for (int64_t p0 = 0; p0 < pairs; p0 += kPq4ChunkPairs) {
    const int64_t p1 = pairs - p0 < kPq4ChunkPairs ? pairs : p0 + kPq4ChunkPairs;
    for (int64_t b = 0; b < n_blocks; ++b)
      pq4_chunk<V, NQ>(tab, blocks + b * block_bytes, blocks + (b + 1) * block_bytes, p0, p1,
                       sums + b * NQ * kPq4BlockRows);
  }
}

// The Pq4SumsFn of dispatch.h.
template <class V>
void pq4_sums(const Pq4Tables& t, int64_t q0, int nq, const uint8_t* blocks, int64_t n_blocks, uint32_t* sums) {
  static_assert(kPq4MaxQueries == 4, "one case per query count");
  switch (nq) {
    case 1: return pq4_sums_n<V, 1>(t, q0, blocks, n_blocks, sums);
    case 2: return pq4_sums_n<V, 2>(t, q0, blocks, n_blocks, sums);
    case 3: return pq4_sums_n<V, 3>(t, q0, blocks, n_blocks, sums);
    default: return pq4_sums_n<V, 4>(t, q0, blocks, n_blocks, sums);
  }
}

}  // namespace
}  // namespace muvera_nano::kernels
