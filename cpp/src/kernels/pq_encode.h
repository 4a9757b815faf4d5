// Internal: PQ encoding (nearest centroid per subspace), written once over a vector-operations
// type V (simd/vec_*.h): centroids along lanes, a few rows at a time sharing each centroid
// load. Lane k computes exactly the scalar reference's sequence for centroid k,
//   d = norms[k]; d = fma(x_j, -2 c_kj, d) for j = 0 .. dsub - 1,
// keeps its first strict minimum (and its index), and the lanes' minima are merged by value
// then index: the lowest k among the smallest d, as the reference's left-to-right scan finds.
// So codes are bit-identical on every ISA.
#pragma once

#include <cstdint>

#include "muvera_nano/views.h"
#include "pq_plan.h"
#include "simd/simd.h"

namespace muvera_nano::kernels {
namespace {

constexpr int kPqEncodeRows = 4;  // rows sharing each centroid load

// The index of the best lane: smallest value (lanes hold no NaN), then lowest index; 0 if no
// lane ever took a value (every d was +inf or NaN: the reference then keeps centroid 0).
template <class V>
MN_INLINE int64_t pq_lane_argmin(typename V::F best, typename V::F arg) {
  const typename V::Mask at_min = V::eq(best, V::set1(V::reduce_min(best)));
  return static_cast<int64_t>(V::reduce_min(V::select(at_min, arg, V::set1(__builtin_inff()))));
}

// Codes of R rows (row r's values at x[r]) for every subspace.
template <class V, int R>
MN_INLINE void pq_encode_rows(const PqEncodePlan& p, const unsigned char* const* x, uint8_t* codes) {
  using F = typename V::F;
  const int64_t M = p.subspaces, K = p.centroids, ds = p.dsub;
  for (int64_t m = 0; m < M; ++m) {
    F best[R], arg[R];
    for (int r = 0; r < R; ++r) best[r] = V::set1(__builtin_inff()), arg[r] = V::zero();
    const float* cm = p.neg2c_lanes + m * ds * K;
    for (int64_t kv = 0; kv < K; kv += V::kLanes) {
      F d[R];
      const F n2 = V::loadu(p.norms + m * K + kv);
      for (int r = 0; r < R; ++r) d[r] = n2;
      for (int64_t j = 0; j < ds; ++j) {
        const F c = V::loadu(cm + j * K + kv);
        for (int r = 0; r < R; ++r) d[r] = V::fmadd(V::set1(load<float>(x[r] + 4 * (m * ds + j))), c, d[r]);
      }
      const F k = V::loadu(p.iota + kv);
      for (int r = 0; r < R; ++r) {
        const typename V::Mask lt = V::gt(best[r], d[r]);  // d < best: false for NaN
        best[r] = V::select(lt, d[r], best[r]);
        arg[r] = V::select(lt, k, arg[r]);
      }
    }
    for (int r = 0; r < R; ++r) codes[r * M + m] = static_cast<uint8_t>(pq_lane_argmin<V>(best[r], arg[r]));
  }
}

// The PqEncodeFn of dispatch.h (K a multiple of V::kLanes: 16 or 256).
template <class V>
int64_t pq_encode(const PqEncodePlan& p, const RowMatrix& rows, int64_t begin, int64_t n, uint8_t* codes) {
  const int64_t dim = p.subspaces * p.dsub;
  for (int64_t r = 0; r < n; ++r) {
    const unsigned char* row = rows.row(begin + r);
    for (int64_t i = 0; i < dim; ++i) {
      const float v = load<float>(row + 4 * i);
      if (!(v - v == 0.0f)) return r;  // inf or NaN
    }
  }
  int64_t r = 0;
  for (; r + kPqEncodeRows <= n; r += kPqEncodeRows) {
    const unsigned char* x[kPqEncodeRows];
    for (int i = 0; i < kPqEncodeRows; ++i) x[i] = rows.row(begin + r + i);
    pq_encode_rows<V, kPqEncodeRows>(p, x, codes + r * p.subspaces);
  }
  for (; r < n; ++r) {
    const unsigned char* x[1] = {rows.row(begin + r)};
    pq_encode_rows<V, 1>(p, x, codes + r * p.subspaces);
  }
  return -1;
}

}  // namespace
}  // namespace muvera_nano::kernels
