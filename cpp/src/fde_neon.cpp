// NEON (AArch64) FDE kernel: the AVX-512 design with 4 lanes (tokens along lanes; sketch tile
// of 4 token vectors x up to 6 hyperplanes = 24 of the 32 registers; 4 x 4 transposes).
#include <arm_neon.h>

#include "fde_common.h"
#include "fde_kernels.h"

namespace muvera_nano::fde_detail {
namespace {

constexpr int64_t kL = 4;

inline __attribute__((always_inline)) void transpose4(float32x4_t r[4]) {
  const float32x4x2_t a = vtrnq_f32(r[0], r[1]);  // a0 = r0[0] r1[0] r0[2] r1[2], a1 = r0[1] r1[1] r0[3] r1[3]
  const float32x4x2_t b = vtrnq_f32(r[2], r[3]);
  r[0] = vcombine_f32(vget_low_f32(a.val[0]), vget_low_f32(b.val[0]));
  r[1] = vcombine_f32(vget_low_f32(a.val[1]), vget_low_f32(b.val[1]));
  r[2] = vcombine_f32(vget_high_f32(a.val[0]), vget_high_f32(b.val[0]));
  r[3] = vcombine_f32(vget_high_f32(a.val[1]), vget_high_f32(b.val[1]));
}

inline uint32_t lane_bits(int64_t count) { return count >= 4 ? 0xfu : (1u << count) - 1u; }

inline uint32_t movemask(uint32x4_t m) {
  const int32x4_t shift = {0, 1, 2, 3};
  return vaddvq_u32(vshlq_u32(vshrq_n_u32(m, 31), shift));
}

struct NeonOps {
  static constexpr int64_t kLanes = kL;

  static int64_t pack(const PlanView& plan, const Item& item, int64_t n_pad, float* xt, float* tau) {
    const int64_t d = plan.dim, n = item.n;
    double norm2[4];
    for (int64_t t0 = 0; t0 < n_pad; t0 += kL) {
      const int64_t cnt = n - t0 < kL ? n - t0 : kL;
      float64x2_t n_lo = vdupq_n_f64(0.0), n_hi = vdupq_n_f64(0.0);
      uint32x4_t bad = vdupq_n_u32(0);
      for (int64_t i0 = 0; i0 < d; i0 += kL) {
        const int64_t w = d - i0 < kL ? d - i0 : kL;
        float32x4_t r[4];
        for (int64_t l = 0; l < 4; ++l) {
          if (l < cnt && w == kL) {
            r[l] = vreinterpretq_f32_u8(vld1q_u8(item.rows + (t0 + l) * item.row_stride + 4 * i0));  // any alignment
          } else {
            float tmp[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            if (l < cnt)
              for (int64_t j = 0; j < w; ++j) tmp[j] = load<float>(item.rows + (t0 + l) * item.row_stride + 4 * (i0 + j));
            r[l] = vld1q_f32(tmp);
          }
        }
        transpose4(r);
        for (int64_t j = 0; j < w; ++j) {
          const float32x4_t v = r[j];
          const float32x4_t diff = vsubq_f32(v, v);
          bad = vorrq_u32(bad, vmvnq_u32(vceqq_f32(diff, diff)));
          vst1q_f32(xt + (i0 + j) * n_pad + t0, v);
          const float64x2_t lo = vcvt_f64_f32(vget_low_f32(v));
          const float64x2_t hi = vcvt_high_f64_f32(v);
          n_lo = vfmaq_f64(n_lo, lo, lo);
          n_hi = vfmaq_f64(n_hi, hi, hi);
        }
      }
      const uint32_t b = movemask(bad) & lane_bits(cnt);
      if (b) return t0 + __builtin_ctz(b);
      vst1q_f64(norm2, n_lo);
      vst1q_f64(norm2 + 2, n_hi);
      for (int64_t l = 0; l < 4; ++l) tau[t0 + l] = l < cnt ? token_tau(plan, norm2[l]) : 0.0f;
    }
    return -1;
  }

  template <int TV, int C>
  static void sketch_tile(const PlanView& plan, const Item& item, const float* xt, const float* tau, int64_t n_pad,
                          int64_t tv0, int64_t c0, uint32_t* pat) {
    const int64_t d = plan.dim, cols = plan.cols;
    float32x4_t acc[TV][C];
    for (int v = 0; v < TV; ++v)
      for (int c = 0; c < C; ++c) acc[v][c] = vdupq_n_f32(0.0f);
    const float* x = xt + tv0 * kL;
    const float* g = plan.simhash + c0;
    for (int64_t i = 0; i < d; ++i) {
      float32x4_t xv[TV];
      for (int v = 0; v < TV; ++v) xv[v] = vld1q_f32(x + i * n_pad + v * kL);
      const float* gi = g + i * cols;
      for (int c = 0; c < C; ++c) {
        const float32x4_t b = vdupq_n_f32(gi[c]);
        for (int v = 0; v < TV; ++v) acc[v][c] = vfmaq_f32(acc[v][c], xv[v], b);
      }
    }
    const float32x4_t slack = vdupq_n_f32(plan.abs_slack);
    for (int v = 0; v < TV; ++v) {
      const int64_t t0 = (tv0 + v) * kL;
      const uint32_t valid = lane_bits(item.n - t0);
      const float32x4_t tv = vld1q_f32(tau + t0);
      for (int c = 0; c < C; ++c) {
        const int64_t col = c0 + c;
        const float32x4_t s = acc[v][c];
        const float32x4_t thr = vfmaq_f32(slack, tv, vdupq_n_f32(plan.col_norm[col]));
        const uint32x4_t decided = vcgtq_f32(vabsq_f32(s), thr);
        const uint32x4_t pos = vandq_u32(vcgtq_f32(s, vdupq_n_f32(0.0f)), decided);
        uint32_t* pp = pat + plan.col_rep[col] * n_pad + t0;
        const uint32_t bit = plan.col_bit[col];
        vst1q_u32(pp, vorrq_u32(vld1q_u32(pp), vandq_u32(pos, vdupq_n_u32(bit))));
        uint32_t amb = ~movemask(decided) & valid;
        while (amb) {
          const int l = __builtin_ctz(amb);
          amb &= amb - 1;
          if (resolve_bit(plan, item, tau, t0 + l, col)) pp[l] |= bit;
        }
      }
    }
  }

  template <int TV>
  static void sketch_columns(const PlanView& plan, const Item& item, const float* xt, const float* tau, int64_t n_pad,
                             int64_t tv0, uint32_t* pat) {
    constexpr int64_t kMaxC = 6;
    const int64_t cols = plan.cols;
    const int64_t chunks = (cols + kMaxC - 1) / kMaxC;
    int64_t c0 = 0;
    for (int64_t ch = 0; ch < chunks; ++ch) {
      const int64_t left = chunks - ch;
      const int64_t C = (cols - c0 + left - 1) / left;
      switch (C) {
        case 1: sketch_tile<TV, 1>(plan, item, xt, tau, n_pad, tv0, c0, pat); break;
        case 2: sketch_tile<TV, 2>(plan, item, xt, tau, n_pad, tv0, c0, pat); break;
        case 3: sketch_tile<TV, 3>(plan, item, xt, tau, n_pad, tv0, c0, pat); break;
        case 4: sketch_tile<TV, 4>(plan, item, xt, tau, n_pad, tv0, c0, pat); break;
        case 5: sketch_tile<TV, 5>(plan, item, xt, tau, n_pad, tv0, c0, pat); break;
        case 6: sketch_tile<TV, 6>(plan, item, xt, tau, n_pad, tv0, c0, pat); break;
        default: break;
      }
      c0 += C;
    }
  }

  static void sketch(const PlanView& plan, const Item& item, const float* xt, const float* tau, int64_t n_pad,
                     uint32_t* pat) {
    const int64_t nv = n_pad / kL;
    int64_t tv0 = 0;
    for (; tv0 + 4 <= nv; tv0 += 4) sketch_columns<4>(plan, item, xt, tau, n_pad, tv0, pat);
    switch (nv - tv0) {
      case 3: sketch_columns<3>(plan, item, xt, tau, n_pad, tv0, pat); break;
      case 2: sketch_columns<2>(plan, item, xt, tau, n_pad, tv0, pat); break;
      case 1: sketch_columns<1>(plan, item, xt, tau, n_pad, tv0, pat); break;
      default: break;
    }
  }

  // Projects token vectors [tv0, tv0 + TV) for every repetition and adds each token's row
  // to its block.
  template <int TV>
  static void project_group(const PlanView& plan, const Item& item, const float* xt, int64_t n_pad, int64_t tv0,
                            const uint32_t* idx, float* out) {
    const int64_t d = plan.dim, p = plan.proj, blocks = plan.blocks;
    const float* x = xt + tv0 * kL;
    for (int64_t r = 0; r < plan.reps; ++r) {
      const int32_t* coord = plan.ams_coord + r * d;
      const float* sign = plan.ams_sign + r * d;
      const int32_t* start = plan.ams_start + r * (p + 1);
      const uint32_t* ir = idx + r * n_pad;
      float* o = out + r * blocks * p;
      for (int64_t c0 = 0; c0 < p; c0 += kL) {
        const int64_t cw = p - c0 < kL ? p - c0 : kL;
        float32x4_t acc[TV][4];
        for (int64_t c = 0; c < kL; ++c) {
          for (int v = 0; v < TV; ++v) acc[v][c] = vdupq_n_f32(0.0f);
          if (c >= cw) continue;
          for (int32_t m = start[c0 + c]; m < start[c0 + c + 1]; ++m) {
            const float32x4_t s = vdupq_n_f32(sign[m]);
            const float* row = x + static_cast<int64_t>(coord[m]) * n_pad;
            for (int v = 0; v < TV; ++v) acc[v][c] = vfmaq_f32(acc[v][c], s, vld1q_f32(row + v * kL));
          }
        }
        for (int v = 0; v < TV; ++v) {
          transpose4(acc[v]);
          const int64_t t0 = (tv0 + v) * kL;
          const int64_t cnt = item.n - t0 < kL ? item.n - t0 : kL;
          for (int64_t l = 0; l < cnt; ++l) {
            float* dst = o + ir[t0 + l] * p + c0;
            if (cw == kL) {
              vst1q_f32(dst, vaddq_f32(vld1q_f32(dst), acc[v][l]));
            } else {
              float tmp[4];
              vst1q_f32(tmp, acc[v][l]);
              for (int64_t j = 0; j < cw; ++j) dst[j] += tmp[j];
            }
          }
        }
      }
    }
  }

  static void project_add(const PlanView& plan, const Item& item, const float* xt, int64_t n_pad,
                          const uint32_t* idx, float* out) {
    const int64_t nv = n_pad / kL;
    int64_t tv0 = 0;
    for (; tv0 + 4 <= nv; tv0 += 4) project_group<4>(plan, item, xt, n_pad, tv0, idx, out);
    switch (nv - tv0) {
      case 3: project_group<3>(plan, item, xt, n_pad, tv0, idx, out); break;
      case 2: project_group<2>(plan, item, xt, n_pad, tv0, idx, out); break;
      case 1: project_group<1>(plan, item, xt, n_pad, tv0, idx, out); break;
      default: break;
    }
  }
};

int64_t encode(const PlanView& plan, const Item& item, bool document, bool fill, float* out) {
  return encode_item<NeonOps>(plan, item, document, fill, out);
}

}  // namespace

KernelTable neon_kernels() { return KernelTable{encode}; }

}  // namespace muvera_nano::fde_detail
