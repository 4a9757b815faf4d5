// Internal: the FDE kernel's hot loops, written once over a vector-operations type V, for
// encode_item (kernels/fde_item.h). Tokens sit along the lanes (each item is transposed once,
// kLanes x kLanes at a time), so the SimHash sketch is a register-blocked GEMM (token vectors
// x hyperplanes of accumulators) and the AMS projection a signed sum of whole token vectors;
// projected vectors return to rows through in-register transposes for the block sums.
// The sign bits are exact by construction and the projection and block sums add in the same
// order as the scalar reference, so every ISA gives the same bits.
#pragma once

#include <cstdint>

#include "fde_plan.h"
#include "kernels/fde_item.h"
#include "muvera_nano/views.h"
#include "scratch.h"
#include "simd/simd.h"

namespace muvera_nano::kernels {
namespace {

template <class V>
struct FdeSimd {
  using F = typename V::F;
  static constexpr int64_t kLanes = V::kLanes;
  static constexpr int64_t L = V::kLanes;

  static MN_INLINE uint32_t lane_bits(int64_t count) { return count >= L ? (1u << L) - 1u : (1u << count) - 1u; }

  // xt = tokens transposed (dim x n_pad, zero padded), tau = per-token bound factor; returns
  // the first row holding a non-finite value, or -1.
  static int64_t pack(const FdePlanView& plan, const RowMatrix& item, int64_t n_pad, float* xt, float* tau) {
    const int64_t d = plan.dim, n = item.rows;
    alignas(64) double norm2[L];
    for (int64_t t0 = 0; t0 < n_pad; t0 += L) {
      const int64_t cnt = n - t0 < L ? n - t0 : L;
      typename V::Norm2 sums;
      typename V::Mask bad = V::mask_none();
      for (int64_t i0 = 0; i0 < d; i0 += L) {
        const int64_t w = d - i0 < L ? d - i0 : L;
        F r[L];
        for (int64_t l = 0; l < L; ++l) {
          if (l < cnt) {
            const unsigned char* src = item.row(t0 + l) + 4 * i0;
            r[l] = w == L ? V::loadu(src) : V::loadu_first(src, w);
          } else {
            r[l] = V::zero();
          }
          // The next group's rows: token data streams from memory once per item.
          if (t0 + L + l < n) V::prefetch(item.row(t0 + L + l) + 4 * i0);
        }
        V::transpose(r);
        for (int64_t j = 0; j < w; ++j) {
          const F v = r[j];
          bad = V::mask_or(bad, V::nan_mask(V::sub(v, v)));  // NaN exactly where v is NaN or infinite
          V::store(xt + (i0 + j) * n_pad + t0, v);
          V::norm2_add(sums, v);
        }
      }
      const uint32_t b = V::bits(bad) & lane_bits(cnt);
      if (b) return t0 + __builtin_ctz(b);
      V::norm2_store(sums, norm2);
      for (int64_t l = 0; l < L; ++l) tau[t0 + l] = l < cnt ? token_tau(plan, norm2[l]) : 0.0f;
    }
    return -1;
  }

  // Sketch of token vectors [tv0, tv0 + TV) against columns [c0, c0 + C), then the bits:
  // decided where |s| clears the error bound, resolved exactly elsewhere. Padded tokens are
  // zero, so they are never positive.
  template <int TV, int C>
  static void sketch_tile(const FdePlanView& plan, const RowMatrix& item, const float* xt, const float* tau,
                          int64_t n_pad, int64_t tv0, int64_t c0, uint32_t* pat) {
    const int64_t d = plan.dim, cols = plan.cols;
    F acc[TV][C];
#pragma GCC unroll 16
    for (int v = 0; v < TV; ++v)
#pragma GCC unroll 16
      for (int c = 0; c < C; ++c) acc[v][c] = V::zero();
    const float* x = xt + tv0 * L;
    const float* g = plan.simhash + c0;
    for (int64_t i = 0; i < d; ++i) {
      F xv[TV];
#pragma GCC unroll 4
      for (int v = 0; v < TV; ++v) xv[v] = V::load(x + i * n_pad + v * L);
      const float* gi = g + i * cols;
#pragma GCC unroll 16
      for (int c = 0; c < C; ++c) {
        const F b = V::set1(gi[c]);
#pragma GCC unroll 4
        for (int v = 0; v < TV; ++v) acc[v][c] = V::fmadd(xv[v], b, acc[v][c]);
      }
    }
    const F slack = V::set1(plan.abs_slack);
#pragma GCC unroll 4
    for (int v = 0; v < TV; ++v) {
      const int64_t t0 = (tv0 + v) * L;
      const uint32_t valid = lane_bits(item.rows - t0);
      const F tv = V::load(tau + t0);
#pragma GCC unroll 16
      for (int c = 0; c < C; ++c) {
        const int64_t col = c0 + c;
        const F s = acc[v][c];
        const F thr = V::fmadd(tv, V::set1(plan.col_norm[col]), slack);
        const typename V::Mask decided = V::gt(V::abs(s), thr);
        uint32_t* pp = pat + plan.col_rep[col] * n_pad + t0;
        const uint32_t bit = plan.col_bit[col];
        V::or_lanes(pp, V::mask_and(V::gt(s, V::zero()), decided), bit);
        uint32_t amb = ~V::bits(decided) & valid;
        while (amb) {
          const int l = __builtin_ctz(amb);
          amb &= amb - 1;
          if (resolve_bit(plan, item, tau, t0 + l, col)) pp[l] |= bit;
        }
      }
    }
  }

  // sketch_tile of c <= C columns, c known only at run time.
  template <int TV, int C>
  static MN_INLINE void tile_of_width(int64_t c, const FdePlanView& plan, const RowMatrix& item, const float* xt,
                                      const float* tau, int64_t n_pad, int64_t tv0, int64_t c0, uint32_t* pat) {
    if constexpr (C > 0) {
      if (c == C) sketch_tile<TV, C>(plan, item, xt, tau, n_pad, tv0, c0, pat);
      else tile_of_width<TV, C - 1>(c, plan, item, xt, tau, n_pad, tv0, c0, pat);
    }
  }

  // All columns for token vectors [tv0, tv0 + TV), in near-equal chunks of <= kFdeMaxCols.
  template <int TV>
  static void sketch_columns(const FdePlanView& plan, const RowMatrix& item, const float* xt, const float* tau,
                             int64_t n_pad, int64_t tv0, uint32_t* pat) {
    constexpr int64_t kMaxC = V::kFdeMaxCols;
    const int64_t cols = plan.cols;
    const int64_t chunks = (cols + kMaxC - 1) / kMaxC;
    int64_t c0 = 0;
    for (int64_t ch = 0; ch < chunks; ++ch) {
      const int64_t left = chunks - ch;
      const int64_t C = (cols - c0 + left - 1) / left;
      tile_of_width<TV, kMaxC>(C, plan, item, xt, tau, n_pad, tv0, c0, pat);
      c0 += C;
    }
  }

  // pat[r * n_pad + t] = exact k-bit pattern of token t.
  static void sketch(const FdePlanView& plan, const RowMatrix& item, const float* xt, const float* tau, int64_t n_pad,
                     uint32_t* pat) {
    constexpr int TV = V::kFdeTokenVecs;
    static_assert(TV <= 4, "sketch handles up to 4 token vectors per tile");
    const int64_t nv = n_pad / L;
    int64_t tv0 = 0;
    for (; tv0 + TV <= nv; tv0 += TV) sketch_columns<TV>(plan, item, xt, tau, n_pad, tv0, pat);
    switch (nv - tv0) {
      case 3:
        if constexpr (TV > 3) sketch_columns<3>(plan, item, xt, tau, n_pad, tv0, pat);
        break;
      case 2:
        if constexpr (TV > 2) sketch_columns<2>(plan, item, xt, tau, n_pad, tv0, pat);
        break;
      case 1:
        if constexpr (TV > 1) sketch_columns<1>(plan, item, xt, tau, n_pad, tv0, pat);
        break;
      default: break;
    }
  }

  // Projects token vectors [tv0, tv0 + TV) for every repetition and adds each token's row to
  // its block. The group's slice of xt (d x TV * kLanes floats) stays in L1 across repetitions.
  template <int TV>
  static void project_group(const FdePlanView& plan, const RowMatrix& item, const float* xt, int64_t n_pad, int64_t tv0,
                            const uint32_t* idx, float* out, float* tile) {
    const int64_t d = plan.dim, p = plan.proj, blocks = plan.blocks;
    const float* x = xt + tv0 * L;
    for (int64_t r = 0; r < plan.reps; ++r) {
      const int32_t* coord = plan.ams_coord + r * d;
      const float* sign = plan.ams_sign + r * d;
      const int32_t* start = plan.ams_start + r * (p + 1);
      const uint32_t* ir = idx + r * n_pad;
      float* o = out + r * blocks * p;
      for (int64_t c0 = 0; c0 < p; c0 += L) {
        const int64_t cw = p - c0 < L ? p - c0 : L;
        // Two output columns at a time: 2 x TV independent FMA chains hide the latency. The
        // signs are +-1, so each FMA is the exact add of the scalar reference.
        for (int64_t c = 0; c < L; c += 2) {
          F a0[TV], a1[TV];
#pragma GCC unroll 4
          for (int v = 0; v < TV; ++v) a0[v] = a1[v] = V::zero();
          int32_t m0 = 0, e0 = 0, m1 = 0, e1 = 0;
          if (c < cw) m0 = start[c0 + c], e0 = start[c0 + c + 1];
          if (c + 1 < cw) m1 = start[c0 + c + 1], e1 = start[c0 + c + 2];
          for (; m0 < e0 && m1 < e1; ++m0, ++m1) {
            const F s0 = V::set1(sign[m0]), s1 = V::set1(sign[m1]);
            const float* r0 = x + static_cast<int64_t>(coord[m0]) * n_pad;
            const float* r1 = x + static_cast<int64_t>(coord[m1]) * n_pad;
#pragma GCC unroll 4
            for (int v = 0; v < TV; ++v) {
              a0[v] = V::fmadd(s0, V::load(r0 + v * L), a0[v]);
              a1[v] = V::fmadd(s1, V::load(r1 + v * L), a1[v]);
            }
          }
          for (; m0 < e0; ++m0) {
            const F s0 = V::set1(sign[m0]);
            const float* r0 = x + static_cast<int64_t>(coord[m0]) * n_pad;
#pragma GCC unroll 4
            for (int v = 0; v < TV; ++v) a0[v] = V::fmadd(s0, V::load(r0 + v * L), a0[v]);
          }
          for (; m1 < e1; ++m1) {
            const F s1 = V::set1(sign[m1]);
            const float* r1 = x + static_cast<int64_t>(coord[m1]) * n_pad;
#pragma GCC unroll 4
            for (int v = 0; v < TV; ++v) a1[v] = V::fmadd(s1, V::load(r1 + v * L), a1[v]);
          }
#pragma GCC unroll 4
          for (int v = 0; v < TV; ++v) {
            V::store(tile + (v * L + c) * L, a0[v]);
            V::store(tile + (v * L + c + 1) * L, a1[v]);
          }
        }
        for (int v = 0; v < TV; ++v) {
          F rows[L];
          for (int64_t c = 0; c < L; ++c) rows[c] = V::load(tile + (v * L + c) * L);
          V::transpose(rows);
          const int64_t t0 = (tv0 + v) * L;
          const int64_t cnt = item.rows - t0 < L ? item.rows - t0 : L;
          for (int64_t l = 0; l < cnt; ++l) {
            float* dst = o + ir[t0 + l] * p + c0;
            if (cw == L) V::storeu(dst, V::add(V::loadu(dst), rows[l]));
            else V::store_first(dst, cw, V::add(V::loadu_first(dst, cw), rows[l]));
          }
        }
      }
    }
  }

  // Adds each token's AMS projection (as project_token computes it) to block
  // idx[r * n_pad + t] of repetition r, tokens in increasing order per block.
  static void project_add(const FdePlanView& plan, const RowMatrix& item, const float* xt, int64_t n_pad,
                          const uint32_t* idx, float* out) {
    constexpr int TV = V::kFdeProjectVecs;
    static_assert(TV == 4, "project_add groups 4 token vectors");
    float* tile = scratch_as<float>(kFdeTile, TV * L * L);
    const int64_t nv = n_pad / L;
    int64_t tv0 = 0;
    for (; tv0 + TV <= nv; tv0 += TV) project_group<TV>(plan, item, xt, n_pad, tv0, idx, out, tile);
    switch (nv - tv0) {
      case 3: project_group<3>(plan, item, xt, n_pad, tv0, idx, out, tile); break;
      case 2: project_group<2>(plan, item, xt, n_pad, tv0, idx, out, tile); break;
      case 1: project_group<1>(plan, item, xt, n_pad, tv0, idx, out, tile); break;
      default: break;
    }
  }
};

template <class V>
int64_t fde_encode_item(const FdePlanView& plan, const RowMatrix& item, bool document, bool fill, float* out) {
  return encode_item<FdeSimd<V>>(plan, item, document, fill, out);
}

}  // namespace
}  // namespace muvera_nano::kernels
