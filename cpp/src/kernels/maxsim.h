// Internal: the MaxSim kernel, written once over a vector-operations type V (simd/vec_*.h)
// and a storage scheme S that says how document rows reach the micro-kernel:
//   F32InPlace    float32 rows read where they are;
//   Widened<T>    float16 / bfloat16 / int8 rows widened exactly to float32, a block of rows
//                 at a time, one block ahead (double-buffered) into an L1-resident buffer;
//   Bf16Pairs     bfloat16 rows read in place, two coordinates per step (AVX512_BF16);
//   I8Quads       int8 rows made unsigned into a small buffer, four coordinates per step
//                 (AVX512_VNNI), exact integer dots;
//   PqDecoded     pq8 rows (one code per subspace) decoded from their codebook, a block of
//                 rows at a time, one block ahead like Widened, into float32 rows for the
//                 float32 step, or (AVX512_BF16) bfloat16 rows for the Bf16Pairs step: the query
//                 and centroids rounded to bfloat16, bfloat16 storage's extra error, for 1.5x
//                 the speed of float32 decoding (Zen 4, 32 x 4-dim subspaces, 32 x 128 query).
// A new storage (AMX tiles) is one more scheme.
//
// The micro-kernel is a GEMM block with the max fused in: query rows along lanes (QV
// vectors), R document rows per block; each step broadcasts one step of each row and
// accumulates it into R x QV accumulators, which are folded into running per-lane maxima
// (with a sticky NaN flag) after the step loop. Every score is one call, so results do not
// depend on threads or on batch composition.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

#include "maxsim_query.h"
#include "muvera_nano/views.h"
#include "scratch.h"
#include "simd/simd.h"

namespace muvera_nano::kernels {
namespace {

// Running max of each query row (lane) over document rows, with a sticky NaN flag (a vector
// max alone would drop a NaN).
template <class V, int QV>
struct LaneMax {
  typename V::F mx[QV];
  typename V::Mask nan[QV];
  MN_INLINE LaneMax() {
    for (int v = 0; v < QV; ++v) {
      mx[v] = V::set1(-std::numeric_limits<float>::infinity());
      nan[v] = V::mask_none();
    }
  }
  MN_INLINE void fold(int v, typename V::F a) {
    nan[v] = V::mask_or(nan[v], V::nan_mask(a));
    mx[v] = V::max(a, mx[v]);
  }
};

// Sums the valid lanes of each lane block (times the per-lane query scale for int8).
template <class V>
struct ScoreSum {
  float total = 0.0f;
  bool nan = false;
  template <int QV>
  MN_INLINE void add(const LaneMax<V, QV>& st, int64_t valid, const float* lane_scale) {
    for (int v = 0; v < QV; ++v) {
      const int64_t n = valid - V::kLanes * v;
      if (n <= 0) break;
      typename V::F x = st.mx[v];
      if (lane_scale) {
        const float* s = lane_scale + V::kLanes * v;
        x = V::mul(x, n >= V::kLanes ? V::loadu(s) : V::loadu_first(s, n));
      }
      nan |= V::any_first(V::mask_or(st.nan[v], V::nan_mask(x)), n);
      total += n >= V::kLanes ? V::reduce_add(x) : V::reduce_add_first(x, n);
    }
  }
  float result() const { return nan ? std::numeric_limits<float>::quiet_NaN() : total; }
};

// A block of document rows as a scheme hands it to the micro-kernel.
struct RowBlock {
  const unsigned char* rows;  // row r at rows + r * stride, in the scheme's step format
  int64_t stride;
  const unsigned char* scales;  // int8: float32 scale of row r at scales + r * scale_stride
  int64_t scale_stride;
  const unsigned char* prefetch;  // source rows read next, prefetched a little per step
};

// R document rows against QV query vectors of lane block lb.
template <class S, int QV, int R>
MN_INLINE void rows_block(const S& s, int64_t lb, const RowBlock& b, LaneMax<typename S::V, QV>& st) {
  using V = typename S::V;
  typename S::Acc acc[R][QV];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < QV; ++v) acc[r][v] = S::acc_zero();
  const unsigned char* rp[R];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) rp[r] = b.rows + r * b.stride;
  // Locals, not members read through `s`: GCC reloaded the lane stride and multiplied by it
  // every step when they were (3.7% slower AVX2 float32 MaxSim).
  const int64_t steps = s.steps, qstep = s.query_step();
  const auto* qp = s.query_base(lb);
  for (int64_t k = 0; k < steps; ++k) {
    V::prefetch(b.prefetch + k * (R * S::kStepBytes));
    typename S::QVec qv[QV];
#pragma GCC unroll 4
    for (int v = 0; v < QV; ++v) qv[v] = S::query_vec(qp + k * qstep, v);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const typename S::QVec x = S::broadcast(rp[r], k);
#pragma GCC unroll 4
      for (int v = 0; v < QV; ++v) acc[r][v] = S::step(acc[r][v], qv[v], x);
    }
  }
  if constexpr (S::kHasTailStep) {
    if (s.tail_step) {
      typename S::QVec qv[QV];
      for (int v = 0; v < QV; ++v) qv[v] = S::query_vec(qp + steps * qstep, v);
      for (int r = 0; r < R; ++r) {
        const typename S::QVec x = S::broadcast_tail(rp[r], steps);
        for (int v = 0; v < QV; ++v) acc[r][v] = S::step(acc[r][v], qv[v], x);
      }
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    const typename S::RowEnd e = S::row_end(b, r);
#pragma GCC unroll 4
    for (int v = 0; v < QV; ++v) {
      const typename V::F x = s.finish(acc[r][v], e, lb, v);
      if constexpr (S::kMayBeNaN) st.fold(v, x);
      else st.mx[v] = V::max(x, st.mx[v]);
    }
  }
}

// rows_block for a last block of n < N + 1 rows, n known only at run time.
template <class S, int QV, int N>
MN_INLINE void tail_block(const S& s, int64_t lb, const RowBlock& b, int n, LaneMax<typename S::V, QV>& st) {
  if constexpr (N > 0) {
    if (n == N) rows_block<S, QV, N>(s, lb, b, st);
    else tail_block<S, QV, N - 1>(s, lb, b, n, st);
  }
}

// Every document row against one lane block, R rows at a time (a shorter last block).
template <class S, int QV, int R>
void lane_block(S& s, int64_t lb, LaneMax<typename S::V, QV>& st) {
  const int64_t rows = s.d.rows;
  s.begin(R);
  for (int64_t t = 0; t < rows; t += R) {
    const int n = static_cast<int>(rows - t < R ? rows - t : R);
    const RowBlock b = s.block(t, n, R);
    if (n == R) {
      rows_block<S, QV, R>(s, lb, b, st);
      continue;
    }
    tail_block<S, QV, R - 1>(s, lb, b, n, st);
  }
}

// score(Q, D) = sum over query rows of the max over document rows; an empty query scores 0,
// an empty document -inf, a NaN anywhere makes the score NaN.
template <class S>
float score(const PackedQuery& q, const RowMatrix& d) {
  using V = typename S::V;
  if (q.rows == 0) return 0.0f;
  if (d.rows == 0) return -std::numeric_limits<float>::infinity();
  constexpr int64_t kWide = V::kMaxSimWideQV * V::kLanes, kNarrow = V::kMaxSimNarrowQV * V::kLanes;
  static_assert(kWide <= kLaneAlign || kWide % kLaneAlign == 0, "lane blocks must not read past the padded lanes");
  constexpr int kMaxRows = V::kMaxSimWideRows > V::kMaxSimNarrowRows ? V::kMaxSimWideRows : V::kMaxSimNarrowRows;
  S s(q, d, kMaxRows);
  ScoreSum<V> sum;
  for (int64_t lb = 0; lb < q.rows; lb += kWide) {
    const int64_t valid = q.rows - lb;
    if constexpr (kNarrow < kWide) {
      if (valid <= kNarrow) {
        LaneMax<V, V::kMaxSimNarrowQV> st;
        lane_block<S, V::kMaxSimNarrowQV, V::kMaxSimNarrowRows>(s, lb, st);
        sum.add(st, valid, s.lane_scale(lb));
        continue;
      }
    }
    LaneMax<V, V::kMaxSimWideQV> st;
    lane_block<S, V::kMaxSimWideQV, V::kMaxSimWideRows>(s, lb, st);
    sum.add(st, valid, s.lane_scale(lb));
  }
  return sum.result();
}

// ---- storage schemes --------------------------------------------------------------------

// What every scheme that reads document rows in place, unscaled, shares.
struct InPlaceRows {
  struct RowEnd {};
  const RowMatrix& d;
  void begin(int) {}
  MN_INLINE RowBlock block(int64_t t, int n, int) const { return {d.row(t), d.row_stride, nullptr, 0, d.row(t + n)}; }
  static MN_INLINE RowEnd row_end(const RowBlock&, int) { return {}; }
  template <class Acc>
  MN_INLINE Acc finish(Acc a, RowEnd, int64_t, int) const {
    return a;
  }
};

// float32 documents read in place, against the f32_lanes query.
template <class Vt>
struct F32InPlace : InPlaceRows {
  using V = Vt;
  using Acc = typename V::F;
  using QVec = typename V::F;
  static constexpr int64_t kStepBytes = 4;
  static constexpr bool kHasTailStep = false, kMayBeNaN = true;

  const float* q;
  int64_t lanes, steps;
  const float* scales_of_lanes;

  F32InPlace(const PackedQuery& pq, const RowMatrix& doc, int)
      : InPlaceRows{doc}, q(pq.f32), lanes(pq.lanes), steps(pq.dim), scales_of_lanes(pq.lane_scale) {}

  // Query step k of lane block lb starts at query_base(lb) + k * query_step().
  const float* query_base(int64_t lb) const { return q + lb; }
  int64_t query_step() const { return lanes; }
  static MN_INLINE QVec query_vec(const float* qk, int v) { return V::loadu(qk + V::kLanes * v); }
  static MN_INLINE Acc acc_zero() { return V::zero(); }
  static MN_INLINE QVec broadcast(const unsigned char* row, int64_t k) { return V::set1(load<float>(row + 4 * k)); }
  static MN_INLINE Acc step(Acc a, QVec x, QVec b) { return V::fmadd(x, b, a); }
  const float* lane_scale(int64_t lb) const { return scales_of_lanes ? scales_of_lanes + lb : nullptr; }
};

// Reduced-precision documents widened into float32, one block ahead into the other half of
// a buffer (2 x rows x dim floats), so the stores have retired before the micro-kernel
// broadcasts from them. int8 rows are exact integer-valued floats, scaled per document row
// before the max and per query row (lane_scale) after it.
template <class Vt, DType T>
struct Widened : F32InPlace<Vt> {
  using Base = F32InPlace<Vt>;
  using V = Vt;
  using typename Base::Acc;
  struct RowEnd {
    typename V::F scale;
  };
  static constexpr int64_t kStepBytes = dtype_size(T);

  int64_t dim;
  float* cur;
  float* next;
  float* buf;

  Widened(const PackedQuery& pq, const RowMatrix& doc, int max_rows)
      : Base(pq, doc, max_rows),
        dim(pq.dim),
        cur(nullptr),
        next(nullptr),
        buf(scratch_as<float>(kMaxSimRows, 2 * max_rows * pq.dim)) {}

  void widen_rows(int64_t t, int n, float* dst) const {
    const int64_t full = dim - dim % V::kLanes;
    for (int r = 0; r < n; ++r) {
      const unsigned char* row = this->d.row(t + r);
      float* out = dst + r * dim;
      for (int64_t k = 0; k < full; k += V::kLanes) V::storeu(out + k, V::template widen<T>(row, k));
      if (full < dim) V::store_first(out + full, dim - full, V::template widen_first<T>(row, full, dim - full));
    }
  }
  void begin(int rows) {
    cur = buf;
    next = buf + rows * dim;
    widen_rows(0, static_cast<int>(this->d.rows < rows ? this->d.rows : rows), cur);
  }
  MN_INLINE RowBlock block(int64_t t, int n, int rows) {
    const int64_t after = t + rows;
    if (after < this->d.rows)
      widen_rows(after, static_cast<int>(this->d.rows - after < rows ? this->d.rows - after : rows), next);
    const RowBlock b{reinterpret_cast<const unsigned char*>(cur), dim * 4,
                     T == DType::i8 ? this->d.scales + t * this->d.scale_stride : nullptr, this->d.scale_stride,
                     this->d.row(t + 2 * n)};
    float* tmp = cur;
    cur = next;
    next = tmp;
    return b;
  }
  static MN_INLINE RowEnd row_end(const RowBlock& b, int r) {
    if constexpr (T == DType::i8) return {V::set1(load<float>(b.scales + r * b.scale_stride))};
    else return {V::zero()};
  }
  MN_INLINE typename V::F finish(Acc a, RowEnd e, int64_t, int) const {
    if constexpr (T == DType::i8) return V::mul(a, e.scale);
    else return a;
  }
};

// bfloat16 documents in place against the bf16_pairs query (needs V::dot_bf16_pairs): one
// instruction multiplies two coordinates and accumulates in float32. Products of bf16 values
// are exact in float32; denormal inputs are flushed to zero by the instruction.
template <class Vt>
struct Bf16Pairs : InPlaceRows {
  using V = Vt;
  using Acc = typename V::F;
  using QVec = typename V::I;
  static constexpr int64_t kStepBytes = 4;
  static constexpr bool kHasTailStep = true, kMayBeNaN = true;

  const uint16_t* q;
  int64_t lanes, steps;
  bool tail_step;

  Bf16Pairs(const PackedQuery& pq, const RowMatrix& doc, int)
      : InPlaceRows{doc}, q(pq.bf16), lanes(pq.lanes), steps(pq.dim / 2), tail_step(pq.dim % 2 != 0) {}

  const uint16_t* query_base(int64_t lb) const { return q + 2 * lb; }
  int64_t query_step() const { return 2 * lanes; }
  static MN_INLINE QVec query_vec(const uint16_t* qk, int v) { return V::iloadu(qk + 2 * V::kLanes * v); }
  static MN_INLINE Acc acc_zero() { return V::zero(); }
  static MN_INLINE QVec broadcast(const unsigned char* row, int64_t k) { return V::iset1(load<int32_t>(row + 4 * k)); }
  // The last coordinate of an odd dimension alone: its pair partner is 0 in both operands.
  static MN_INLINE QVec broadcast_tail(const unsigned char* row, int64_t k) {
    return V::iset1(static_cast<int32_t>(load<uint16_t>(row + 4 * k)));
  }
  static MN_INLINE Acc step(Acc a, QVec x, QVec b) { return V::dot_bf16_pairs(a, x, b); }
  const float* lane_scale(int64_t) const { return nullptr; }
};

// int8 documents against the i8_quads query (needs V::dot_u8i8_quads, unsigned x signed
// bytes, four per int32 lane). Each block of rows is made unsigned (d + 128) into a buffer
// padded to whole 64-byte vectors; the query's constant contribution 128 * sum(q) is removed
// per lane. Integer dots are exact; each is scaled by its row's scale before the max and by
// the query row's scale after it. With every row scale finite (kMayBeNaN false) no product
// can be NaN, so the NaN flag is skipped.
template <class Vt, bool kNaN>
struct I8Quads {
  using V = Vt;
  using Acc = typename V::I;
  using QVec = typename V::I;
  struct RowEnd {
    typename V::F scale;
  };
  static constexpr int64_t kStepBytes = 4;
  static constexpr bool kHasTailStep = false, kMayBeNaN = kNaN;

  const int8_t* q;
  const int32_t* bias;
  const float* scales_of_lanes;
  int64_t lanes, steps, dim, width;
  uint8_t* buf;
  const RowMatrix& d;

  I8Quads(const PackedQuery& pq, const RowMatrix& doc, int max_rows)
      : q(pq.i8),
        bias(pq.lane_bias),
        scales_of_lanes(pq.lane_scale),
        lanes(pq.lanes),
        steps((pq.dim + 3) / 4),
        dim(pq.dim),
        width((pq.dim + 63) / 64 * 64),
        buf(scratch_as<uint8_t>(kMaxSimRows, max_rows * width)),
        d(doc) {}

  void begin(int) {}
  MN_INLINE RowBlock block(int64_t t, int n, int) const {
    for (int r = 0; r < n; ++r)
      for (int64_t k = 0; k < width; k += 64) V::flip_bytes64(d.row(t + r) + k, dim - k, buf + r * width + k);
    return {buf, width, d.scales + t * d.scale_stride, d.scale_stride, d.row(t + n)};
  }
  const int8_t* query_base(int64_t lb) const { return q + 4 * lb; }
  int64_t query_step() const { return 4 * lanes; }
  static MN_INLINE QVec query_vec(const int8_t* qk, int v) { return V::iloadu(qk + 4 * V::kLanes * v); }
  static MN_INLINE Acc acc_zero() { return V::izero(); }
  static MN_INLINE QVec broadcast(const unsigned char* row, int64_t k) { return V::iset1(load<int32_t>(row + 4 * k)); }
  static MN_INLINE Acc step(Acc a, QVec x, QVec b) { return V::dot_u8i8_quads(a, b, x); }
  static MN_INLINE RowEnd row_end(const RowBlock& b, int r) {
    return {V::set1(load<float>(b.scales + r * b.scale_stride))};
  }
  MN_INLINE typename V::F finish(Acc a, RowEnd e, int64_t lb, int v) const {
    return V::mul(V::int_to_float(V::isub(a, V::iloadu(bias + lb + V::kLanes * v))), e.scale);
  }
  const float* lane_scale(int64_t lb) const { return scales_of_lanes + lb; }
};

// pq8 documents: a block of rows is decoded one block ahead (into the other half of a
// double buffer, as Widened does) by copying each subspace's centroid from the codebook, then
// scored by the step of `Base` (F32InPlace: float32 centroids; Bf16Pairs: their bfloat16
// rounding) reading the decoded rows in place. Rows in the buffer are padded by a vector, so
// a centroid of DS (0: any) floats is copied with whole vectors; the copy of subspace m may
// spill into m + 1's slot, which is written next.
template <class Base, class Elem, int DS>
struct PqDecoded : Base {
  using V = typename Base::V;
  static constexpr int64_t kStepBytes = 0;  // the source rows are a few bytes: nothing to stream

  int64_t dim, subspaces, dsub, width;
  const Elem* table;
  Elem* cur;
  Elem* next;
  Elem* buf;

  static const Elem* centroids(const PqCodebookView& cb) {
    if constexpr (sizeof(Elem) == 4) return cb.centroids;
    else return cb.centroids_bf16;
  }

  PqDecoded(const PackedQuery& pq, const RowMatrix& doc, int max_rows)
      : Base(pq, doc, max_rows),
        dim(pq.dim),
        subspaces(doc.codebook->subspaces),
        dsub(doc.codebook->dsub),
        width(pq.dim + kPqPadFloats),
        table(centroids(*doc.codebook)),
        cur(nullptr),
        next(nullptr),
        buf(scratch_as<Elem>(kMaxSimRows, 2 * max_rows * width)) {}

  MN_INLINE void copy_centroid(const Elem* src, Elem* dst) const {
    if constexpr (DS > 0) {
      std::memcpy(dst, src, DS * sizeof(Elem));
    } else {
      constexpr int64_t kPer = 64 / sizeof(Elem);  // one 64-byte chunk at a time
      for (int64_t j = 0; j < dsub; j += kPer) std::memcpy(dst + j, src + j, 64);
    }
  }
  void decode_rows(int64_t t, int n, Elem* dst) const {
    const int64_t ds = DS > 0 ? DS : dsub;
    for (int r = 0; r < n; ++r) {
      const unsigned char* codes = this->d.row(t + r);
      Elem* out = dst + r * width;
      for (int64_t m = 0; m < subspaces; ++m) copy_centroid(table + (m * kPqCentroids + codes[m]) * ds, out + m * ds);
    }
  }
  void begin(int rows) {
    cur = buf;
    next = buf + rows * width;
    decode_rows(0, static_cast<int>(this->d.rows < rows ? this->d.rows : rows), cur);
  }
  MN_INLINE RowBlock block(int64_t t, int n, int rows) {
    const int64_t after = t + rows;
    if (after < this->d.rows)
      decode_rows(after, static_cast<int>(this->d.rows - after < rows ? this->d.rows - after : rows), next);
    const RowBlock b{reinterpret_cast<const unsigned char*>(cur), width * static_cast<int64_t>(sizeof(Elem)), nullptr,
                     0, this->d.row(t + n)};
    Elem* tmp = cur;
    cur = next;
    next = tmp;
    return b;
  }
};

// The pq8 entry: copies of a fixed size for the common subspace widths.
template <class Base, class Elem>
float score_pq8(const PackedQuery& q, const RowMatrix& d) {
  switch (d.codebook->dsub) {
    case 2: return score<PqDecoded<Base, Elem, 2>>(q, d);
    case 4: return score<PqDecoded<Base, Elem, 4>>(q, d);
    case 8: return score<PqDecoded<Base, Elem, 8>>(q, d);
    default: return score<PqDecoded<Base, Elem, 0>>(q, d);
  }
}

// The entry for int8 documents with I8Quads: the NaN flag only when a row scale is not finite.
template <class V>
float score_i8_quads(const PackedQuery& q, const RowMatrix& d) {
  for (int64_t t = 0; t < d.rows; ++t) {
    const float s = d.scale(t);
    if (!(s - s == 0.0f)) return score<I8Quads<V, true>>(q, d);
  }
  return score<I8Quads<V, false>>(q, d);
}

}  // namespace
}  // namespace muvera_nano::kernels
