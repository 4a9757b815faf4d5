// AVX-512 FDE kernel. Tokens sit along the 16 lanes (the item is transposed once), so the
// SimHash sketch is a register-blocked GEMM (2 token vectors x up to 12 hyperplanes = 24
// accumulators) and the AMS projection is a signed sum of whole token vectors; projected
// vectors return to rows through 16 x 16 transposes for the block sums.
#include <immintrin.h>

#include "fde_common.h"
#include "fde_kernels.h"

namespace muvera_nano::fde_detail {
namespace {

constexpr int64_t kL = 16;

inline __attribute__((always_inline)) void transpose16(__m512 r[16]) {
  __m512 t[16], u[16];
  for (int k = 0; k < 8; ++k) {
    t[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
    t[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
  }
  for (int k = 0; k < 4; ++k) {
    const __m512d a = _mm512_castps_pd(t[4 * k]), b = _mm512_castps_pd(t[4 * k + 1]);
    const __m512d c = _mm512_castps_pd(t[4 * k + 2]), d = _mm512_castps_pd(t[4 * k + 3]);
    u[4 * k + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    u[4 * k + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    u[4 * k + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    u[4 * k + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  for (int e = 0; e < 4; ++e) {
    t[e] = _mm512_shuffle_f32x4(u[e], u[4 + e], 0x88);
    t[4 + e] = _mm512_shuffle_f32x4(u[e], u[4 + e], 0xdd);
    t[8 + e] = _mm512_shuffle_f32x4(u[8 + e], u[12 + e], 0x88);
    t[12 + e] = _mm512_shuffle_f32x4(u[8 + e], u[12 + e], 0xdd);
  }
  for (int e = 0; e < 4; ++e) {
    r[e] = _mm512_shuffle_f32x4(t[e], t[8 + e], 0x88);
    r[4 + e] = _mm512_shuffle_f32x4(t[4 + e], t[12 + e], 0x88);
    r[8 + e] = _mm512_shuffle_f32x4(t[e], t[8 + e], 0xdd);
    r[12 + e] = _mm512_shuffle_f32x4(t[4 + e], t[12 + e], 0xdd);
  }
}

inline __mmask16 lane_mask(int64_t count) {
  return count >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << count) - 1u);
}

struct Avx512Ops {
  static constexpr int64_t kLanes = kL;

  static int64_t pack(const PlanView& plan, const Item& item, int64_t n_pad, float* xt, float* tau) {
    const int64_t d = plan.dim, n = item.n;
    alignas(64) double norm2[16];
    for (int64_t t0 = 0; t0 < n_pad; t0 += kL) {
      const int64_t cnt = n - t0 < kL ? n - t0 : kL;
      const __mmask16 valid = lane_mask(cnt);
      __m512d n_lo = _mm512_setzero_pd(), n_hi = _mm512_setzero_pd();
      __mmask16 bad = 0;
      for (int64_t i0 = 0; i0 < d; i0 += kL) {
        const int64_t w = d - i0 < kL ? d - i0 : kL;
        const __mmask16 m = lane_mask(w);
        __m512 r[16];
        for (int64_t l = 0; l < 16; ++l) {
          r[l] = l < cnt ? _mm512_maskz_loadu_ps(m, item.rows + (t0 + l) * item.row_stride + 4 * i0)
                         : _mm512_setzero_ps();
          // The next group's rows: token data streams from memory once per item.
          if (t0 + kL + l < n) _mm_prefetch(reinterpret_cast<const char*>(item.rows + (t0 + kL + l) * item.row_stride + 4 * i0), _MM_HINT_T0);
        }
        transpose16(r);
        for (int64_t j = 0; j < w; ++j) {
          const __m512 v = r[j];
          const __m512 diff = _mm512_sub_ps(v, v);  // NaN exactly where v is NaN or infinite
          bad |= _mm512_cmp_ps_mask(diff, diff, _CMP_UNORD_Q);
          _mm512_store_ps(xt + (i0 + j) * n_pad + t0, v);
          const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
          const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
          n_lo = _mm512_fmadd_pd(lo, lo, n_lo);
          n_hi = _mm512_fmadd_pd(hi, hi, n_hi);
        }
      }
      bad &= valid;
      if (bad) return t0 + __builtin_ctz(bad);
      _mm512_store_pd(norm2, n_lo);
      _mm512_store_pd(norm2 + 8, n_hi);
      for (int64_t l = 0; l < 16; ++l) tau[t0 + l] = l < cnt ? token_tau(plan, norm2[l]) : 0.0f;
    }
    return -1;
  }

  // Sketch of token vectors [tv0, tv0 + TV) against columns [c0, c0 + C), then the bits.
  template <int TV, int C>
  static void sketch_tile(const PlanView& plan, const Item& item, const float* xt, const float* tau, int64_t n_pad,
                          int64_t tv0, int64_t c0, uint32_t* pat) {
    const int64_t d = plan.dim, cols = plan.cols;
    __m512 acc[TV][C];
#pragma GCC unroll 16
    for (int v = 0; v < TV; ++v)
#pragma GCC unroll 16
      for (int c = 0; c < C; ++c) acc[v][c] = _mm512_setzero_ps();
    const float* x = xt + tv0 * kL;
    const float* g = plan.simhash + c0;
    for (int64_t i = 0; i < d; ++i) {
      __m512 xv[TV];
#pragma GCC unroll 4
      for (int v = 0; v < TV; ++v) xv[v] = _mm512_load_ps(x + i * n_pad + v * kL);
      const float* gi = g + i * cols;
#pragma GCC unroll 16
      for (int c = 0; c < C; ++c) {
        const __m512 b = _mm512_set1_ps(gi[c]);
#pragma GCC unroll 4
        for (int v = 0; v < TV; ++v) acc[v][c] = _mm512_fmadd_ps(xv[v], b, acc[v][c]);
      }
    }
    const __m512 slack = _mm512_set1_ps(plan.abs_slack);
#pragma GCC unroll 4
    for (int v = 0; v < TV; ++v) {
      const int64_t t0 = (tv0 + v) * kL;
      const __mmask16 valid = lane_mask(item.n - t0);
      const __m512 tv = _mm512_load_ps(tau + t0);
#pragma GCC unroll 16
      for (int c = 0; c < C; ++c) {
        const int64_t col = c0 + c;
        const __m512 s = acc[v][c];
        const __m512 thr = _mm512_fmadd_ps(tv, _mm512_set1_ps(plan.col_norm[col]), slack);
        const __mmask16 decided = _mm512_cmp_ps_mask(_mm512_abs_ps(s), thr, _CMP_GT_OQ);
        const __mmask16 pos = _mm512_cmp_ps_mask(s, _mm512_setzero_ps(), _CMP_GT_OQ) & decided & valid;
        uint32_t* pp = pat + plan.col_rep[col] * n_pad + t0;
        const uint32_t bit = plan.col_bit[col];
        const __m512i old = _mm512_load_si512(pp);
        _mm512_store_si512(pp, _mm512_mask_or_epi32(old, pos, old, _mm512_set1_epi32(static_cast<int>(bit))));
        uint32_t amb = static_cast<uint32_t>(~decided & valid);
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
    constexpr int64_t kMaxC = 12;
    const int64_t cols = plan.cols;
    const int64_t chunks = (cols + kMaxC - 1) / kMaxC;
    int64_t c0 = 0;
    for (int64_t ch = 0; ch < chunks; ++ch) {
      const int64_t left = chunks - ch;
      const int64_t C = (cols - c0 + left - 1) / left;
      switch (C) {
#define MUVERA_FDE_CASE(n) \
  case n: sketch_tile<TV, n>(plan, item, xt, tau, n_pad, tv0, c0, pat); break;
        MUVERA_FDE_CASE(1) MUVERA_FDE_CASE(2) MUVERA_FDE_CASE(3) MUVERA_FDE_CASE(4) MUVERA_FDE_CASE(5)
        MUVERA_FDE_CASE(6) MUVERA_FDE_CASE(7) MUVERA_FDE_CASE(8) MUVERA_FDE_CASE(9) MUVERA_FDE_CASE(10)
        MUVERA_FDE_CASE(11) MUVERA_FDE_CASE(12)
#undef MUVERA_FDE_CASE
        default: break;
      }
      c0 += C;
    }
  }

  static void sketch(const PlanView& plan, const Item& item, const float* xt, const float* tau, int64_t n_pad,
                     uint32_t* pat) {
    const int64_t nv = n_pad / kL;
    int64_t tv0 = 0;
    for (; tv0 + 2 <= nv; tv0 += 2) sketch_columns<2>(plan, item, xt, tau, n_pad, tv0, pat);
    if (tv0 < nv) sketch_columns<1>(plan, item, xt, tau, n_pad, tv0, pat);
  }

  // Projects token vectors [tv0, tv0 + TV) for every repetition and adds each token's row
  // to its block. The group's slice of xt (d x 64 floats) stays in L1 across repetitions.
  template <int TV>
  static void project_group(const PlanView& plan, const Item& item, const float* xt, int64_t n_pad, int64_t tv0,
                            const uint32_t* idx, float* out, float* tile) {
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
        // Two output columns at a time: 2 x TV independent FMA chains hide the latency.
        for (int64_t c = 0; c < kL; c += 2) {
          __m512 a0[TV], a1[TV];
#pragma GCC unroll 4
          for (int v = 0; v < TV; ++v) a0[v] = a1[v] = _mm512_setzero_ps();
          int32_t m0 = 0, e0 = 0, m1 = 0, e1 = 0;
          if (c < cw) m0 = start[c0 + c], e0 = start[c0 + c + 1];
          if (c + 1 < cw) m1 = start[c0 + c + 1], e1 = start[c0 + c + 2];
          for (; m0 < e0 && m1 < e1; ++m0, ++m1) {
            const __m512 s0 = _mm512_set1_ps(sign[m0]), s1 = _mm512_set1_ps(sign[m1]);
            const float* r0 = x + static_cast<int64_t>(coord[m0]) * n_pad;
            const float* r1 = x + static_cast<int64_t>(coord[m1]) * n_pad;
#pragma GCC unroll 4
            for (int v = 0; v < TV; ++v) {
              a0[v] = _mm512_fmadd_ps(s0, _mm512_load_ps(r0 + v * kL), a0[v]);
              a1[v] = _mm512_fmadd_ps(s1, _mm512_load_ps(r1 + v * kL), a1[v]);
            }
          }
          for (; m0 < e0; ++m0) {
            const __m512 s0 = _mm512_set1_ps(sign[m0]);
            const float* r0 = x + static_cast<int64_t>(coord[m0]) * n_pad;
#pragma GCC unroll 4
            for (int v = 0; v < TV; ++v) a0[v] = _mm512_fmadd_ps(s0, _mm512_load_ps(r0 + v * kL), a0[v]);
          }
          for (; m1 < e1; ++m1) {
            const __m512 s1 = _mm512_set1_ps(sign[m1]);
            const float* r1 = x + static_cast<int64_t>(coord[m1]) * n_pad;
#pragma GCC unroll 4
            for (int v = 0; v < TV; ++v) a1[v] = _mm512_fmadd_ps(s1, _mm512_load_ps(r1 + v * kL), a1[v]);
          }
#pragma GCC unroll 4
          for (int v = 0; v < TV; ++v) {
            _mm512_store_ps(tile + (v * kL + c) * kL, a0[v]);
            _mm512_store_ps(tile + (v * kL + c + 1) * kL, a1[v]);
          }
        }
        const __mmask16 m = lane_mask(cw);
        for (int v = 0; v < TV; ++v) {
          __m512 rows[16];
          for (int64_t c = 0; c < kL; ++c) rows[c] = _mm512_load_ps(tile + (v * kL + c) * kL);
          transpose16(rows);
          const int64_t t0 = (tv0 + v) * kL;
          const int64_t cnt = item.n - t0 < kL ? item.n - t0 : kL;
          for (int64_t l = 0; l < cnt; ++l) {
            float* dst = o + ir[t0 + l] * p + c0;
            _mm512_mask_storeu_ps(dst, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, dst), rows[l]));
          }
        }
      }
    }
  }

  static void project_add(const PlanView& plan, const Item& item, const float* xt, int64_t n_pad,
                          const uint32_t* idx, float* out) {
    float* tile = static_cast<float*>(scratch(kTile, 4 * kL * kL * 4));
    const int64_t nv = n_pad / kL;
    int64_t tv0 = 0;
    for (; tv0 + 4 <= nv; tv0 += 4) project_group<4>(plan, item, xt, n_pad, tv0, idx, out, tile);
    switch (nv - tv0) {
      case 3: project_group<3>(plan, item, xt, n_pad, tv0, idx, out, tile); break;
      case 2: project_group<2>(plan, item, xt, n_pad, tv0, idx, out, tile); break;
      case 1: project_group<1>(plan, item, xt, n_pad, tv0, idx, out, tile); break;
      default: break;
    }
  }
};

int64_t encode(const PlanView& plan, const Item& item, bool document, bool fill, float* out) {
  return encode_item<Avx512Ops>(plan, item, document, fill, out);
}

}  // namespace

KernelTable avx512_kernels() { return KernelTable{encode}; }

}  // namespace muvera_nano::fde_detail
