// Internal: what the PQ kernels read. The drivers (pq.cpp, pq4_scan.cpp) build these once per
// call in baseline code, so every instruction set starts from the same bits; kernels only
// loop over rows (pq_encode) or blocks (pq4 sums).
#pragma once

#include <cstdint>

namespace muvera_nano {

// Encoding: K centroids of dsub coordinates per subspace. For centroid k of subspace m,
// neg2c[(m * K + k) * dsub + j] = -2 c_kj (exact) and norms[m * K + k] = |c_k|^2 as pq.h
// defines it; iota[k] = k as float (exact for K <= 256).
struct PqEncodePlan {
  int64_t subspaces = 0, centroids = 0, dsub = 0;
  const float* neg2c = nullptr;
  const float* norms = nullptr;
  const float* iota = nullptr;
};

// 4-bit fast scan: per query a table of M x 16 bytes (the scalar reference reads these) and
// the same values packed for byte shuffles (SIMD kernels read these): group g of four
// subspaces is 128 bytes,
//   [0, 64)    T(4g) T(4g) T(4g+2) T(4g+2)     (the low nibbles of pairs 2g, 2g + 1)
//   [64, 128)  T(4g+1) T(4g+1) T(4g+3) T(4g+3) (their high nibbles)
// each T a subspace's 16 bytes, zeros past M. A 32-row step of pair p reads its low-nibble
// table at group p / 2, offset (p % 2) * 32 (twice, once per 16-row half), its high one at +64.
constexpr int64_t kPq4GroupBytes = 128;
struct Pq4Tables {
  int64_t subspaces = 0;
  const uint8_t* table = nullptr;   // query q at table + q * subspaces * 16
  const uint8_t* packed = nullptr;  // query q at packed + q * packed_stride
  int64_t packed_stride = 0;        // ceil(M / 4) * 128
};

// Fixed by the u16 accumulators: a step adds at most 2 * 255 to any 16-bit lane, so sums are
// widened to 32 bits every kPq4FlushSteps steps (of 1 or 2 nibble pairs) at the latest.
constexpr int64_t kPq4FlushSteps = 128;
constexpr int kPq4MaxQueries = 4;  // queries per kernel call (codes loaded once for all)

}  // namespace muvera_nano
