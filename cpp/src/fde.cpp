// FDE driver: builds plans (validated copies of the random state plus derived tables),
// validates calls, splits items over the thread pool and applies the final count sketch.
// One kernel call encodes one item, so results never depend on the thread count.
#include "muvera_nano/fde.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "dispatch.h"
#include "fde_plan.h"
#include "muvera_nano/maxsim.h"
#include "muvera_nano/parallel.h"
#include "scratch.h"

namespace muvera_nano {

class FdePlan {
 public:
  std::vector<float> simhash, col_norm, ams_sign, final_sign;
  std::vector<int32_t> col_rep, ams_coord, ams_start, final_index;
  std::vector<uint32_t> col_bit;
  int64_t final_dim = 0;
  FdePlanView view;
};

namespace {

// a + b = s + err exactly (Knuth's TwoSum; no multiplication, so nothing can be fused).
inline void two_sum(double a, double b, double& s, double& err) {
  s = a + b;
  const double bb = s - a;
  err = (a - (s - bb)) + (b - bb);
}

}  // namespace

bool fde_exact_positive(const FdePlanView& plan, const unsigned char* row, int64_t col) {
  const int64_t d = plan.dim, cols = plan.cols;
  // Products of two floats are exact in double (48 significant bits, exponents in range).
  double sum = 0.0, mag = 0.0;
  for (int64_t i = 0; i < d; ++i) {
    const double p = static_cast<double>(load<float>(row + 4 * i)) * plan.simhash[i * cols + col];
    sum += p;
    mag += std::fabs(p);
  }
  // Recursive double summation errs by at most gamma_d * sum|p| (d * 2^-53 with slack).
  if (std::fabs(sum) > 2.0 * static_cast<double>(d) * 0x1p-53 * mag) return sum > 0.0;
  if (mag == 0.0) return false;
  // Still undecided: sum exactly as a nonoverlapping expansion (Shewchuk's grow-expansion
  // with zero elimination); its sign is the sign of its largest component.
  std::vector<double> expansion, next;
  for (int64_t i = 0; i < d; ++i) {
    double q = static_cast<double>(load<float>(row + 4 * i)) * plan.simhash[i * cols + col];
    next.clear();
    for (double h : expansion) {
      double s, err;
      two_sum(q, h, s, err);
      if (err != 0.0) next.push_back(err);
      q = s;
    }
    if (q != 0.0) next.push_back(q);
    expansion.swap(next);
  }
  return !expansion.empty() && expansion.back() > 0.0;
}

namespace {

[[noreturn]] void bad_state(const std::string& msg) { throw std::invalid_argument("FDE random state: " + msg); }

float round_up_float(double v) {
  float f = static_cast<float>(v);
  if (static_cast<double>(f) < v) f = std::nextafter(f, std::numeric_limits<float>::infinity());
  return f;
}

}  // namespace

std::shared_ptr<const FdePlan> fde_make_plan(const FdeRandomState& s) {
  if (s.dim < 1 || s.dim > (int64_t{1} << 22)) bad_state("dim must be in [1, 4194304], got " + std::to_string(s.dim));
  if (s.repetitions < 1) bad_state("repetitions must be >= 1, got " + std::to_string(s.repetitions));
  if (s.simhash_bits < 0 || s.simhash_bits > 30)
    bad_state("simhash_bits must be in [0, 30], got " + std::to_string(s.simhash_bits));
  if (s.projection_dim < 0 || s.projection_dim > 0x7fffffff)
    bad_state("projection_dim must be 0 (identity) or in [1, 2^31 - 1], got " + std::to_string(s.projection_dim));
  if (s.final_dim < 0 || s.final_dim > 0x7fffffff)
    bad_state("final_dim must be 0 (none) or in [1, 2^31 - 1], got " + std::to_string(s.final_dim));
  const bool identity = s.projection_dim == 0;
  const int64_t d = s.dim, reps = s.repetitions, bits = s.simhash_bits;
  const int64_t p = identity ? d : s.projection_dim;
  const int64_t blocks = int64_t{1} << bits;
  const double fde_dim_d = static_cast<double>(reps) * static_cast<double>(blocks) * static_cast<double>(p);
  if (fde_dim_d > 2147483647.0)
    bad_state("the encoding would have " + std::to_string(static_cast<long double>(fde_dim_d)) +
              " values (repetitions * 2^simhash_bits * projection); at most 2^31 - 1 are supported");
  const int64_t cols = reps * bits;

  auto plan = std::make_shared<FdePlan>();
  if (cols > 0) {
    if (!s.simhash) bad_state("simhash is missing");
    plan->simhash.assign(s.simhash, s.simhash + d * cols);
    for (float g : plan->simhash)
      if (!std::isfinite(g)) bad_state("simhash holds a non-finite value");
  }
  plan->col_norm.resize(static_cast<size_t>(cols));
  plan->col_rep.resize(static_cast<size_t>(cols));
  plan->col_bit.resize(static_cast<size_t>(cols));
  double max_norm = 0.0;
  for (int64_t c = 0; c < cols; ++c) {
    double n2 = 0.0;
    for (int64_t i = 0; i < d; ++i)
      n2 += static_cast<double>(plan->simhash[i * cols + c]) * plan->simhash[i * cols + c];
    const double norm = std::sqrt(n2) * (1.0 + 0x1p-40);
    plan->col_norm[c] = round_up_float(norm);
    plan->col_rep[c] = static_cast<int32_t>(c / bits);
    plan->col_bit[c] = uint32_t{1} << (bits - 1 - c % bits);
    max_norm = std::max(max_norm, norm);
  }

  if (!identity) {
    if (!s.ams_column || !s.ams_sign) bad_state("ams_column and ams_sign are required for an AMS projection");
    plan->ams_coord.resize(static_cast<size_t>(reps * d));
    plan->ams_sign.resize(static_cast<size_t>(reps * d));
    plan->ams_start.assign(static_cast<size_t>(reps * (p + 1)), 0);
    for (int64_t r = 0; r < reps; ++r) {
      const int32_t* col = s.ams_column + r * d;
      const float* sign = s.ams_sign + r * d;
      int32_t* start = plan->ams_start.data() + r * (p + 1);
      for (int64_t i = 0; i < d; ++i) {
        if (col[i] < 0 || col[i] >= p)
          bad_state("ams_column[" + std::to_string(r) + ", " + std::to_string(i) + "] = " + std::to_string(col[i]) +
                    " is not in [0, " + std::to_string(p) + ")");
        if (sign[i] != 1.0f && sign[i] != -1.0f)
          bad_state("ams_sign[" + std::to_string(r) + ", " + std::to_string(i) + "] must be +1 or -1");
        ++start[col[i] + 1];
      }
      for (int64_t c = 0; c < p; ++c) start[c + 1] += start[c];
      // Stable counting sort: each group keeps coordinate order.
      std::vector<int32_t> fill(start, start + p);
      for (int64_t i = 0; i < d; ++i) {
        const int32_t at = fill[col[i]]++;
        plan->ams_coord[r * d + at] = static_cast<int32_t>(i);
        plan->ams_sign[r * d + at] = sign[i];
      }
    }
  }

  const int64_t fde_dim = reps * blocks * p;
  if (s.final_dim > 0) {
    if (!s.final_index || !s.final_sign) bad_state("final_index and final_sign are required with final_dim");
    plan->final_index.assign(s.final_index, s.final_index + fde_dim);
    plan->final_sign.assign(s.final_sign, s.final_sign + fde_dim);
    for (int64_t c = 0; c < fde_dim; ++c) {
      if (plan->final_index[c] < 0 || plan->final_index[c] >= s.final_dim)
        bad_state("final_index[" + std::to_string(c) + "] = " + std::to_string(plan->final_index[c]) +
                  " is not in [0, " + std::to_string(s.final_dim) + ")");
      if (plan->final_sign[c] != 1.0f && plan->final_sign[c] != -1.0f)
        bad_state("final_sign[" + std::to_string(c) + "] must be +1 or -1");
    }
    plan->final_dim = s.final_dim;
  }

  FdePlanView& v = plan->view;
  v.dim = d;
  v.reps = reps;
  v.bits = bits;
  v.blocks = blocks;
  v.proj = p;
  v.cols = cols;
  v.fde_dim = fde_dim;
  v.identity = identity;
  v.simhash = plan->simhash.data();
  v.col_norm = plan->col_norm.data();
  v.col_rep = plan->col_rep.data();
  v.col_bit = plan->col_bit.data();
  v.abs_slack = static_cast<float>(static_cast<double>(d) * 0x1p-124);
  // Below this norm no float32 partial sum can overflow: |partial| <= |x| * max|g|.
  v.huge_norm = max_norm > 0.0 ? static_cast<double>(std::numeric_limits<float>::max()) / (4.0 * max_norm)
                               : std::numeric_limits<double>::infinity();
  v.ams_coord = plan->ams_coord.data();
  v.ams_sign = plan->ams_sign.data();
  v.ams_start = plan->ams_start.data();
  return plan;
}

int64_t fde_input_dim(const FdePlan& plan) { return plan.view.dim; }

int64_t fde_output_dim(const FdePlan& plan) { return plan.final_dim > 0 ? plan.final_dim : plan.view.fde_dim; }

void fde_encode(const FdePlan& plan, const RaggedView& items, FdeKind kind, bool fill_empty, float* out,
                int64_t out_row_stride, int threads) {
  const FdePlanView& P = plan.view;
  if (items.tokens.dtype != DType::f32)
    throw std::invalid_argument(std::string("items.tokens must be float32 for FDE encoding, got ") +
                                dtype_name(items.tokens.dtype));
  if (items.tokens.cols != P.dim)
    throw std::invalid_argument("items.tokens has dimension " + std::to_string(items.tokens.cols) +
                                " but the FDE configuration has dimension " + std::to_string(P.dim));
  if (kind == FdeKind::query && fill_empty)
    throw std::invalid_argument("fill_empty applies to documents only, not to queries");
  const int64_t out_dim = fde_output_dim(plan);
  if (out_row_stride < out_dim && items.count > 1)
    throw std::invalid_argument("out row stride " + std::to_string(out_row_stride) + " is shorter than a row (" +
                                std::to_string(out_dim) + ")");
  validate_ragged(items, "items");
  if (items.count == 0) return;

  const FdeEncodeFn encode = active_kernels().fde_encode;
  const bool document = kind == FdeKind::document;
  const bool final = plan.final_dim > 0;

  // Multiply-adds per item, to size pieces (~50 us) and run small calls inline.
  const double per_item = (static_cast<double>(items.tokens.rows) / static_cast<double>(items.count) + 1.0) *
                              static_cast<double>(P.dim) * static_cast<double>(P.cols + P.reps + 1) +
                          static_cast<double>(out_dim);
  const Split split = split_work(items.count, per_item, 1 << 21, threads);

  std::mutex error_mu;
  int64_t bad_item = -1, bad_row = -1;
  parallel_for(split, [&](int64_t, int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j) {
      const int64_t a = items.offset(j), z = items.offset(j + 1);
      if (a < 0 || z < a || z > items.tokens.rows)
        throw std::invalid_argument("items.offsets changed or is invalid at item " + std::to_string(j));
      const RowMatrix item = items.tokens.slice(a, z);
      float* dst = out + j * out_row_stride;
      float* full = final ? scratch_as<float>(kFdeFull, P.fde_dim) : dst;
      const int64_t bad = encode(P, item, document, fill_empty, full);
      if (bad >= 0) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (bad_item < 0 || j < bad_item) {
          bad_item = j;
          bad_row = bad;
        }
        continue;
      }
      if (final) {
        std::memset(dst, 0, static_cast<size_t>(plan.final_dim) * 4);
        const int32_t* index = plan.final_index.data();
        const float* sign = plan.final_sign.data();
        for (int64_t c = 0; c < P.fde_dim; ++c) dst[index[c]] += sign[c] * full[c];
      }
    }
  });
  if (bad_item >= 0)
    throw std::invalid_argument("items: item " + std::to_string(bad_item) +
                                " has a non-finite value (NaN or inf) in row " + std::to_string(bad_row) +
                                " (token row " + std::to_string(items.offset(bad_item) + bad_row) +
                                "); FDE inputs must be finite");
}

}  // namespace muvera_nano
