// The scalar reference kernels: plain loops, no intrinsics, and deliberately not an
// instantiation of the SIMD bodies, so every SIMD path is tested against independent code.
// MaxSim over int8 documents uses exact int32 dot products; the FDE and PQ encoding compute the
// same float operations in the same order as every SIMD path (the FDE's sign bits are exact by
// construction), and the 4-bit PQ scan sums integers.
#include <cmath>
#include <limits>

#include "dispatch.h"
#include "kernels/fde_item.h"
#include "muvera_nano/pq.h"
#include "number_formats.h"
#include "scratch.h"

namespace muvera_nano {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// ---- MaxSim ---------------------------------------------------------------------------

// The loop every reference MaxSim shares: row_dots(t, dots) writes the dot products of
// document row t with every query lane; their per-lane maxima (NaN sticks) are summed over
// the query rows, times the lane scale for int8.
template <class RowDots>
float maxsim_rows(const PackedQuery& q, const RowMatrix& d, RowDots&& row_dots) {
  if (q.rows == 0) return 0.0f;
  if (d.rows == 0) return kNegInf;
  float* dots = scratch_as<float>(kMaxSimAcc, q.lanes);
  float* mx = scratch_as<float>(kMaxSimMax, q.lanes);
  for (int64_t i = 0; i < q.rows; ++i) mx[i] = kNegInf;
  bool nan = false;
  for (int64_t t = 0; t < d.rows; ++t) {
    row_dots(t, dots);
    for (int64_t i = 0; i < q.rows; ++i) {
      if (dots[i] != dots[i]) nan = true;
      else if (dots[i] > mx[i]) mx[i] = dots[i];
    }
  }
  if (nan) return kNaN;
  float total = 0.0f;
  for (int64_t i = 0; i < q.rows; ++i) {
    const float v = q.lane_scale ? q.lane_scale[i] * mx[i] : mx[i];
    if (v != v) return kNaN;
    total += v;
  }
  return total;
}

// Float documents against the f32_lanes query.
template <DType T>
float maxsim_float(const PackedQuery& q, const RowMatrix& d) {
  float* row = scratch_as<float>(kMaxSimRows, q.dim);
  return maxsim_rows(q, d, [&](int64_t t, float* dots) {
    const unsigned char* src = d.row(t);
    for (int64_t k = 0; k < q.dim; ++k) row[k] = decode<T>(src, k);
    for (int64_t i = 0; i < q.lanes; ++i) dots[i] = 0.0f;
    for (int64_t k = 0; k < q.dim; ++k) {
      const float* qk = q.f32 + k * q.lanes;
      for (int64_t i = 0; i < q.lanes; ++i) dots[i] += qk[i] * row[k];
    }
  });
}

// pq8 documents: each row decoded to float32, then scored as float32 rows are.
float maxsim_pq8(const PackedQuery& q, const RowMatrix& d) {
  const PqCodebookView& cb = *d.codebook;
  float* row = scratch_as<float>(kMaxSimRows, q.dim);
  return maxsim_rows(q, d, [&](int64_t t, float* dots) {
    const unsigned char* codes = d.row(t);
    for (int64_t m = 0; m < cb.subspaces; ++m)
      for (int64_t j = 0; j < cb.dsub; ++j)
        row[m * cb.dsub + j] = cb.centroids[(m * kPqCentroids + codes[m]) * cb.dsub + j];
    for (int64_t i = 0; i < q.lanes; ++i) dots[i] = 0.0f;
    for (int64_t k = 0; k < q.dim; ++k) {
      const float* qk = q.f32 + k * q.lanes;
      for (int64_t i = 0; i < q.lanes; ++i) dots[i] += qk[i] * row[k];
    }
  });
}

// int8 documents against the i8_quads query: exact integer dots, scaled per document row
// before the max (and per query row after it).
float maxsim_i8(const PackedQuery& q, const RowMatrix& d) {
  int32_t* idots = scratch_as<int32_t>(kMaxSimInt, q.lanes);
  return maxsim_rows(q, d, [&](int64_t t, float* dots) {
    const unsigned char* src = d.row(t);
    for (int64_t i = 0; i < q.lanes; ++i) idots[i] = 0;
    for (int64_t k = 0; k < q.dim; ++k) {
      const int32_t v = static_cast<int8_t>(src[k]);
      const int8_t* qk = q.i8 + (k / 4) * q.lanes * 4 + (k & 3);
      for (int64_t i = 0; i < q.lanes; ++i) idots[i] += v * qk[4 * i];
    }
    const float s = d.scale(t);
    for (int64_t i = 0; i < q.lanes; ++i) dots[i] = static_cast<float>(idots[i]) * s;
  });
}

// ---- dense scan -------------------------------------------------------------------------

template <DType T>
void dots(const float* q, int nq, const RowMatrix& rows, int64_t begin, int64_t n, float* out) {
  const int64_t cols = rows.cols;
  for (int64_t j = 0; j < n; ++j) {
    const unsigned char* row = rows.row(begin + j);
    const float scale = T == DType::i8 ? rows.scale(begin + j) : 1.0f;
    for (int i = 0; i < nq; ++i) {
      float acc = 0.0f;
      for (int64_t k = 0; k < cols; ++k) acc += q[i * cols + k] * decode<T>(row, k);
      out[i * n + j] = T == DType::i8 ? acc * scale : acc;
    }
  }
}

// ---- FDE ------------------------------------------------------------------------------

struct FdeScalar {
  static constexpr int64_t kLanes = 1;

  static int64_t pack(const FdePlanView& plan, const RowMatrix& item, int64_t n_pad, float* xt, float* tau) {
    const int64_t d = plan.dim;
    for (int64_t t = 0; t < item.rows; ++t) {
      const unsigned char* row = item.row(t);
      double norm2 = 0.0;
      for (int64_t i = 0; i < d; ++i) {
        const float v = load<float>(row + 4 * i);
        if (!std::isfinite(v)) return t;
        xt[i * n_pad + t] = v;
        norm2 += static_cast<double>(v) * v;
      }
      tau[t] = kernels::token_tau(plan, norm2);
    }
    return -1;
  }

  static void sketch(const FdePlanView& plan, const RowMatrix& item, const float* xt, const float* tau, int64_t n_pad,
                     uint32_t* pat) {
    const int64_t d = plan.dim, cols = plan.cols;
    float* s = scratch_as<float>(kFdeTile, cols);
    for (int64_t t = 0; t < item.rows; ++t) {
      for (int64_t c = 0; c < cols; ++c) s[c] = 0.0f;
      for (int64_t i = 0; i < d; ++i) {
        const float x = xt[i * n_pad + t];
        const float* g = plan.simhash + i * cols;
        for (int64_t c = 0; c < cols; ++c) s[c] += x * g[c];
      }
      for (int64_t c = 0; c < cols; ++c) {
        const float thr = tau[t] * plan.col_norm[c] + plan.abs_slack;
        const bool positive = std::fabs(s[c]) > thr ? s[c] > 0.0f : kernels::resolve_bit(plan, item, tau, t, c);
        if (positive) pat[plan.col_rep[c] * n_pad + t] |= plan.col_bit[c];
      }
    }
  }

  static void project_add(const FdePlanView& plan, const RowMatrix& item, const float*, int64_t n_pad,
                          const uint32_t* idx, float* out) {
    const int64_t p = plan.proj, blocks = plan.blocks;
    float* y = scratch_as<float>(kFdeTile, p);
    for (int64_t r = 0; r < plan.reps; ++r) {
      for (int64_t t = 0; t < item.rows; ++t) {
        kernels::project_token(plan, r, item.row(t), y);
        float* o = out + (r * blocks + idx[r * n_pad + t]) * p;
        for (int64_t c = 0; c < p; ++c) o[c] += y[c];
      }
    }
  }
};

int64_t fde_encode(const FdePlanView& plan, const RowMatrix& item, bool document, bool fill, float* out) {
  return kernels::encode_item<FdeScalar>(plan, item, document, fill, out);
}

// ---- PQ ---------------------------------------------------------------------------------

// The distance formula of pq.h, one row and subspace at a time.
int64_t pq_encode(const PqEncodePlan& p, const RowMatrix& rows, int64_t begin, int64_t n, uint8_t* codes) {
  const int64_t M = p.subspaces, K = p.centroids, ds = p.dsub;
  for (int64_t r = 0; r < n; ++r) {
    const unsigned char* row = rows.row(begin + r);
    for (int64_t i = 0; i < M * ds; ++i)
      if (!std::isfinite(load<float>(row + 4 * i))) return r;
    for (int64_t m = 0; m < M; ++m) {
      const unsigned char* x = row + 4 * m * ds;
      float best = std::numeric_limits<float>::infinity();
      int64_t arg = 0;
      for (int64_t k = 0; k < K; ++k) {
        const float* c = p.neg2c + (m * K + k) * ds;
        float d = p.norms[m * K + k];
        for (int64_t j = 0; j < ds; ++j) d = std::fma(load<float>(x + 4 * j), c[j], d);
        if (d < best) {
          best = d;
          arg = k;
        }
      }
      codes[r * M + m] = static_cast<uint8_t>(arg);
    }
  }
  return -1;
}

// Table sums straight from the unpacked tables, one row at a time.
void pq4_sums(const Pq4Tables& t, int64_t q0, int nq, const uint8_t* blocks, int64_t n_blocks, uint32_t* sums) {
  const int64_t pairs = t.subspaces / 2;
  for (int64_t b = 0; b < n_blocks; ++b) {
    const uint8_t* block = blocks + b * pairs * kPq4BlockRows;
    for (int i = 0; i < nq; ++i) {
      const uint8_t* table = t.table + (q0 + i) * t.subspaces * 16;
      for (int64_t j = 0; j < kPq4BlockRows; ++j) {
        uint32_t s = 0;
        for (int64_t p = 0; p < pairs; ++p) {
          const uint8_t byte = block[p * kPq4BlockRows + j];
          s += table[2 * p * 16 + (byte & 15)] + table[(2 * p + 1) * 16 + (byte >> 4)];
        }
        sums[(b * nq + i) * kPq4BlockRows + j] = s;
      }
    }
  }
}

// ---- float32 -> float16 -------------------------------------------------------------------

void to_half(const unsigned char* src, int64_t n, uint16_t* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = f32_to_f16(load<float>(src + 4 * i));
}

}  // namespace

void fill_scalar(KernelTable& t) {
  t.maxsim[static_cast<int>(DType::f32)] = {maxsim_float<DType::f32>, QueryLayout::f32_lanes};
  t.maxsim[static_cast<int>(DType::f16)] = {maxsim_float<DType::f16>, QueryLayout::f32_lanes};
  t.maxsim[static_cast<int>(DType::bf16)] = {maxsim_float<DType::bf16>, QueryLayout::f32_lanes};
  t.maxsim[static_cast<int>(DType::i8)] = {maxsim_i8, QueryLayout::i8_quads};
  t.dots[static_cast<int>(DType::f32)] = dots<DType::f32>;
  t.dots[static_cast<int>(DType::f16)] = dots<DType::f16>;
  t.dots[static_cast<int>(DType::bf16)] = dots<DType::bf16>;
  t.dots[static_cast<int>(DType::i8)] = dots<DType::i8>;
  t.maxsim[static_cast<int>(DType::pq8)] = {maxsim_pq8, QueryLayout::f32_lanes};
  t.fde_encode = fde_encode;
  t.to_half = to_half;
  t.pq_encode = pq_encode;
  t.pq4_sums = pq4_sums;
}

}  // namespace muvera_nano
