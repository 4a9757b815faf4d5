// The reference FDE kernel: plain loops, no intrinsics. Every SIMD path must give the same
// bits (the sign bits are exact by construction; the projection and block sums are computed
// in the same order everywhere).
#include <cmath>

#include "fde_common.h"
#include "fde_kernels.h"

namespace muvera_nano::fde_detail {
namespace {

struct ScalarOps {
  static constexpr int64_t kLanes = 1;

  static int64_t pack(const PlanView& plan, const Item& item, int64_t n_pad, float* xt, float* tau) {
    const int64_t d = plan.dim;
    for (int64_t t = 0; t < item.n; ++t) {
      const unsigned char* row = item.rows + t * item.row_stride;
      double norm2 = 0.0;
      for (int64_t i = 0; i < d; ++i) {
        const float v = load<float>(row + 4 * i);
        if (!std::isfinite(v)) return t;
        xt[i * n_pad + t] = v;
        norm2 += static_cast<double>(v) * v;
      }
      tau[t] = token_tau(plan, norm2);
    }
    return -1;
  }

  static void sketch(const PlanView& plan, const Item& item, const float* xt, const float* tau, int64_t n_pad,
                     uint32_t* pat) {
    const int64_t d = plan.dim, cols = plan.cols;
    float* s = static_cast<float*>(scratch(kTile, cols * 4));
    for (int64_t t = 0; t < item.n; ++t) {
      for (int64_t c = 0; c < cols; ++c) s[c] = 0.0f;
      for (int64_t i = 0; i < d; ++i) {
        const float x = xt[i * n_pad + t];
        const float* g = plan.simhash + i * cols;
        for (int64_t c = 0; c < cols; ++c) s[c] += x * g[c];
      }
      for (int64_t c = 0; c < cols; ++c) {
        const float thr = tau[t] * plan.col_norm[c] + plan.abs_slack;
        const bool positive = std::fabs(s[c]) > thr ? s[c] > 0.0f : resolve_bit(plan, item, tau, t, c);
        if (positive) pat[plan.col_rep[c] * n_pad + t] |= plan.col_bit[c];
      }
    }
  }

  static void project_add(const PlanView& plan, const Item& item, const float*, int64_t n_pad, const uint32_t* idx,
                          float* out) {
    const int64_t p = plan.proj, blocks = plan.blocks;
    float* y = static_cast<float*>(scratch(kTile, p * 4));
    for (int64_t r = 0; r < plan.reps; ++r) {
      for (int64_t t = 0; t < item.n; ++t) {
        project_token(plan, r, item.rows + t * item.row_stride, y);
        float* o = out + (r * blocks + idx[r * n_pad + t]) * p;
        for (int64_t c = 0; c < p; ++c) o[c] += y[c];
      }
    }
  }
};

int64_t encode(const PlanView& plan, const Item& item, bool document, bool fill, float* out) {
  return encode_item<ScalarOps>(plan, item, document, fill, out);
}

}  // namespace

KernelTable scalar_kernels() { return KernelTable{encode}; }

}  // namespace muvera_nano::fde_detail
