// The reference MaxSim kernels: plain loops, no intrinsics. Every SIMD path is tested
// against these. Integer documents use exact int32 dot products.
#include <cmath>
#include <limits>

#include "aligned_buffer.h"
#include "maxsim_kernels.h"
#include "number_formats.h"

namespace muvera_nano::maxsim_detail {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

struct Scratch {
  AlignedBuffer<float> row, acc, mx;
  AlignedBuffer<int32_t> iacc;
};
thread_local Scratch tls;

// Folds one finished row of dot products into the running maxima; NaN sticks.
inline void fold(const float* dots, float* mx, int64_t rows, bool& nan) {
  for (int64_t i = 0; i < rows; ++i) {
    float a = dots[i];
    if (a != a) nan = true;
    else if (a > mx[i]) mx[i] = a;
  }
}

template <DType T>
inline float decode(const unsigned char* row, int64_t k) {
  if constexpr (T == DType::f32) return load<float>(row + 4 * k);
  else if constexpr (T == DType::f16) return f16_to_f32(load<uint16_t>(row + 2 * k));
  else return bf16_to_f32(load<uint16_t>(row + 2 * k));
}

// Float documents against the f32_lanes query.
template <DType T>
float score_float(const PackedQuery& q, const DocRows& d) {
  float out;
  if (trivial_score(q, d, &out)) return out;
  const int64_t lanes = q.lanes, dim = q.dim;
  float* row = tls.row.resize(static_cast<size_t>(dim));
  float* acc = tls.acc.resize(static_cast<size_t>(lanes));
  float* mx = tls.mx.resize(static_cast<size_t>(lanes));
  for (int64_t i = 0; i < lanes; ++i) mx[i] = kNegInf;
  bool nan = false;
  for (int64_t t = 0; t < d.rows; ++t) {
    const unsigned char* src = d.data + t * d.row_stride;
    for (int64_t k = 0; k < dim; ++k) row[k] = decode<T>(src, k);
    for (int64_t i = 0; i < lanes; ++i) acc[i] = 0.0f;
    for (int64_t k = 0; k < dim; ++k) {
      const float* qk = q.f32 + k * lanes;
      const float v = row[k];
      for (int64_t i = 0; i < lanes; ++i) acc[i] += qk[i] * v;
    }
    fold(acc, mx, q.rows, nan);
  }
  if (nan) return kNaN;
  float total = 0.0f;
  for (int64_t i = 0; i < q.rows; ++i) total += mx[i];
  return total;
}

// int8 documents against the i8_quads query: exact integer dots, scaled per document row
// before the max and per query row after it.
float score_i8(const PackedQuery& q, const DocRows& d) {
  float out;
  if (trivial_score(q, d, &out)) return out;
  const int64_t lanes = q.lanes, dim = q.dim;
  int32_t* iacc = tls.iacc.resize(static_cast<size_t>(lanes));
  float* acc = tls.acc.resize(static_cast<size_t>(lanes));
  float* mx = tls.mx.resize(static_cast<size_t>(lanes));
  for (int64_t i = 0; i < lanes; ++i) mx[i] = kNegInf;
  bool nan = false;
  for (int64_t t = 0; t < d.rows; ++t) {
    const unsigned char* src = d.data + t * d.row_stride;
    for (int64_t i = 0; i < lanes; ++i) iacc[i] = 0;
    for (int64_t k = 0; k < dim; ++k) {
      const int32_t v = static_cast<int8_t>(src[k]);
      const int8_t* qk = q.i8 + (k / 4) * lanes * 4 + (k & 3);
      for (int64_t i = 0; i < lanes; ++i) iacc[i] += v * qk[4 * i];
    }
    const float s = load<float>(d.scales + t * d.scale_stride);
    for (int64_t i = 0; i < lanes; ++i) acc[i] = static_cast<float>(iacc[i]) * s;
    fold(acc, mx, q.rows, nan);
  }
  if (nan) return kNaN;
  float total = 0.0f;
  for (int64_t i = 0; i < q.rows; ++i) {
    float v = q.lane_scale[i] * mx[i];
    if (v != v) return kNaN;
    total += v;
  }
  return total;
}

}  // namespace

KernelTable scalar_kernels() {
  KernelTable t;
  t.f32 = {score_float<DType::f32>, Layout::f32_lanes};
  t.f16 = {score_float<DType::f16>, Layout::f32_lanes};
  t.bf16 = {score_float<DType::bf16>, Layout::f32_lanes};
  t.i8 = {score_i8, Layout::i8_quads};
  return t;
}

}  // namespace muvera_nano::maxsim_detail
