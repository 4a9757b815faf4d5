// Internal: the dense scan's dot products, written once over a vector-operations type V.
// Coordinates run along lanes; each row is loaded once (widened from float16 / bfloat16 /
// int8 on load) and multiplied into up to kScanQueries queries, RB rows at a time, with two
// accumulators per (row, query) to hide FMA latency. Several rows at once also keep several
// memory streams in flight, which one core needs to approach the memory's read bandwidth,
// and each query chunk is loaded once for RB rows (with one row at a time, re-reading a
// 10,240-float query from L2 for every row cost as much as the row).
//
// Each row's arithmetic is the same for any RB (two accumulators over even and odd chunks,
// then the same tail and reduction), so a row's score never depends on its neighbours.
#pragma once

#include <cstdint>

#include "muvera_nano/views.h"
#include "simd/simd.h"

namespace muvera_nano::kernels {
namespace {

constexpr int kScanQueries = 4;

template <class V, DType T, int NQ, int RB>
MN_INLINE void dots_rows(const float* q, const RowMatrix& rows, int64_t begin, int64_t n, int64_t j, float* out) {
  using F = typename V::F;
  constexpr int64_t L = V::kLanes;
  const int64_t cols = rows.cols;
  const int64_t full = cols - cols % (2 * L);
  const unsigned char* row[RB];
  for (int r = 0; r < RB; ++r) row[r] = rows.row(begin + j + r);
  F a0[RB][NQ], a1[RB][NQ];
  for (int r = 0; r < RB; ++r)
    for (int i = 0; i < NQ; ++i) a0[r][i] = a1[r][i] = V::zero();
  int64_t k = 0;
  for (; k < full; k += 2 * L) {
    F q0[NQ], q1[NQ];
    for (int i = 0; i < NQ; ++i) {
      q0[i] = V::loadu(q + i * cols + k);
      q1[i] = V::loadu(q + i * cols + k + L);
    }
    for (int r = 0; r < RB; ++r) {
      const F x0 = V::template widen<T>(row[r], k), x1 = V::template widen<T>(row[r], k + L);
      for (int i = 0; i < NQ; ++i) {
        a0[r][i] = V::fmadd(q0[i], x0, a0[r][i]);
        a1[r][i] = V::fmadd(q1[i], x1, a1[r][i]);
      }
    }
  }
  for (; k < cols; k += L) {
    const int64_t left = cols - k;
    for (int r = 0; r < RB; ++r) {
      const F x = left >= L ? V::template widen<T>(row[r], k) : V::template widen_first<T>(row[r], k, left);
      for (int i = 0; i < NQ; ++i) {
        const F qi = left >= L ? V::loadu(q + i * cols + k) : V::loadu_first(q + i * cols + k, left);
        a0[r][i] = V::fmadd(qi, x, a0[r][i]);
      }
    }
  }
  for (int r = 0; r < RB; ++r) {
    const float scale = T == DType::i8 ? rows.scale(begin + j + r) : 1.0f;
    for (int i = 0; i < NQ; ++i) {
      const float dot = V::reduce_add(V::add(a0[r][i], a1[r][i]));
      out[i * n + j + r] = T == DType::i8 ? dot * scale : dot;
    }
  }
}

template <class V, DType T, int NQ>
void dots_nq(const float* q, const RowMatrix& rows, int64_t begin, int64_t n, float* out) {
  constexpr int RB = V::kScanRows(NQ);
  int64_t j = 0;
  for (; j + RB <= n; j += RB) dots_rows<V, T, NQ, RB>(q, rows, begin, n, j, out);
  for (; j < n; ++j) dots_rows<V, T, NQ, 1>(q, rows, begin, n, j, out);
}

// out[i * n + (j - begin)] = <q[i], row j> for j in [begin, begin + n), i < nq <= kScanQueries;
// q holds nq contiguous float32 vectors of rows.cols values.
template <class V, DType T>
void dots(const float* q, int nq, const RowMatrix& rows, int64_t begin, int64_t n, float* out) {
  switch (nq) {
    case 1: dots_nq<V, T, 1>(q, rows, begin, n, out); break;
    case 2: dots_nq<V, T, 2>(q, rows, begin, n, out); break;
    case 3: dots_nq<V, T, 3>(q, rows, begin, n, out); break;
    default: dots_nq<V, T, 4>(q, rows, begin, n, out); break;
  }
}

}  // namespace
}  // namespace muvera_nano::kernels
