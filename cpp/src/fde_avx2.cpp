// AVX2 + FMA FDE kernel: the AVX-512 design with 8 lanes (tokens along lanes; sketch tile of
// 2 token vectors x up to 6 hyperplanes = 12 accumulators of the 16 registers; 8 x 8
// transposes).
#include <immintrin.h>

#include "fde_common.h"
#include "fde_kernels.h"

namespace muvera_nano::fde_detail {
namespace {

constexpr int64_t kL = 8;

inline __attribute__((always_inline)) void transpose8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int k = 0; k < 4; ++k) {
    t[2 * k] = _mm256_unpacklo_ps(r[2 * k], r[2 * k + 1]);
    t[2 * k + 1] = _mm256_unpackhi_ps(r[2 * k], r[2 * k + 1]);
  }
  for (int k = 0; k < 2; ++k) {
    u[4 * k + 0] = _mm256_shuffle_ps(t[4 * k], t[4 * k + 2], 0x44);
    u[4 * k + 1] = _mm256_shuffle_ps(t[4 * k], t[4 * k + 2], 0xee);
    u[4 * k + 2] = _mm256_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0x44);
    u[4 * k + 3] = _mm256_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0xee);
  }
  for (int e = 0; e < 4; ++e) {
    r[e] = _mm256_permute2f128_ps(u[e], u[4 + e], 0x20);
    r[4 + e] = _mm256_permute2f128_ps(u[e], u[4 + e], 0x31);
  }
}

// Lanes [0, count) set, as a vector mask for maskload/maskstore.
inline __m256i lane_mask(int64_t count) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count > 8 ? 8 : count)), idx);
}

inline uint32_t lane_bits(int64_t count) { return count >= 8 ? 0xffu : (1u << count) - 1u; }

struct Avx2Ops {
  static constexpr int64_t kLanes = kL;

  static int64_t pack(const PlanView& plan, const Item& item, int64_t n_pad, float* xt, float* tau) {
    const int64_t d = plan.dim, n = item.n;
    alignas(32) double norm2[8];
    for (int64_t t0 = 0; t0 < n_pad; t0 += kL) {
      const int64_t cnt = n - t0 < kL ? n - t0 : kL;
      __m256d n_lo = _mm256_setzero_pd(), n_hi = _mm256_setzero_pd();
      __m256 bad = _mm256_setzero_ps();
      for (int64_t i0 = 0; i0 < d; i0 += kL) {
        const int64_t w = d - i0 < kL ? d - i0 : kL;
        const __m256i m = lane_mask(w);
        __m256 r[8];
        for (int64_t l = 0; l < 8; ++l) {
          r[l] = l < cnt ? _mm256_maskload_ps(reinterpret_cast<const float*>(item.rows + (t0 + l) * item.row_stride + 4 * i0), m)
                         : _mm256_setzero_ps();
          if (t0 + kL + l < n) _mm_prefetch(reinterpret_cast<const char*>(item.rows + (t0 + kL + l) * item.row_stride + 4 * i0), _MM_HINT_T0);
        }
        transpose8(r);
        for (int64_t j = 0; j < w; ++j) {
          const __m256 v = r[j];
          const __m256 diff = _mm256_sub_ps(v, v);
          bad = _mm256_or_ps(bad, _mm256_cmp_ps(diff, diff, _CMP_UNORD_Q));
          _mm256_store_ps(xt + (i0 + j) * n_pad + t0, v);
          const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
          const __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
          n_lo = _mm256_fmadd_pd(lo, lo, n_lo);
          n_hi = _mm256_fmadd_pd(hi, hi, n_hi);
        }
      }
      const uint32_t b = static_cast<uint32_t>(_mm256_movemask_ps(bad)) & lane_bits(cnt);
      if (b) return t0 + __builtin_ctz(b);
      _mm256_store_pd(norm2, n_lo);
      _mm256_store_pd(norm2 + 4, n_hi);
      for (int64_t l = 0; l < 8; ++l) tau[t0 + l] = l < cnt ? token_tau(plan, norm2[l]) : 0.0f;
    }
    return -1;
  }

  template <int TV, int C>
  static void sketch_tile(const PlanView& plan, const Item& item, const float* xt, const float* tau, int64_t n_pad,
                          int64_t tv0, int64_t c0, uint32_t* pat) {
    const int64_t d = plan.dim, cols = plan.cols;
    __m256 acc[TV][C];
#pragma GCC unroll 16
    for (int v = 0; v < TV; ++v)
#pragma GCC unroll 16
      for (int c = 0; c < C; ++c) acc[v][c] = _mm256_setzero_ps();
    const float* x = xt + tv0 * kL;
    const float* g = plan.simhash + c0;
    for (int64_t i = 0; i < d; ++i) {
      __m256 xv[TV];
#pragma GCC unroll 4
      for (int v = 0; v < TV; ++v) xv[v] = _mm256_load_ps(x + i * n_pad + v * kL);
      const float* gi = g + i * cols;
#pragma GCC unroll 16
      for (int c = 0; c < C; ++c) {
        const __m256 b = _mm256_broadcast_ss(gi + c);
#pragma GCC unroll 4
        for (int v = 0; v < TV; ++v) acc[v][c] = _mm256_fmadd_ps(xv[v], b, acc[v][c]);
      }
    }
    const __m256 slack = _mm256_set1_ps(plan.abs_slack);
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
#pragma GCC unroll 4
    for (int v = 0; v < TV; ++v) {
      const int64_t t0 = (tv0 + v) * kL;
      const uint32_t valid = lane_bits(item.n - t0);
      const __m256 tv = _mm256_load_ps(tau + t0);
#pragma GCC unroll 16
      for (int c = 0; c < C; ++c) {
        const int64_t col = c0 + c;
        const __m256 s = acc[v][c];
        const __m256 thr = _mm256_fmadd_ps(tv, _mm256_set1_ps(plan.col_norm[col]), slack);
        const __m256 decided = _mm256_cmp_ps(_mm256_and_ps(s, abs_mask), thr, _CMP_GT_OQ);
        const __m256 pos = _mm256_and_ps(_mm256_cmp_ps(s, _mm256_setzero_ps(), _CMP_GT_OQ), decided);
        uint32_t* pp = pat + plan.col_rep[col] * n_pad + t0;
        const uint32_t bit = plan.col_bit[col];
        const __m256i old = _mm256_load_si256(reinterpret_cast<const __m256i*>(pp));
        const __m256i add = _mm256_and_si256(_mm256_castps_si256(pos), _mm256_set1_epi32(static_cast<int>(bit)));
        _mm256_store_si256(reinterpret_cast<__m256i*>(pp), _mm256_or_si256(old, add));
        uint32_t amb = ~static_cast<uint32_t>(_mm256_movemask_ps(decided)) & valid;
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
    for (; tv0 + 2 <= nv; tv0 += 2) sketch_columns<2>(plan, item, xt, tau, n_pad, tv0, pat);
    if (tv0 < nv) sketch_columns<1>(plan, item, xt, tau, n_pad, tv0, pat);
  }

  // Projects token vectors [tv0, tv0 + TV) for every repetition and adds each token's row
  // to its block (the group's slice of xt stays in L1 across repetitions).
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
        for (int64_t c = 0; c < kL; ++c) {
          __m256 acc[TV];
#pragma GCC unroll 4
          for (int v = 0; v < TV; ++v) acc[v] = _mm256_setzero_ps();
          if (c < cw) {
            for (int32_t m = start[c0 + c]; m < start[c0 + c + 1]; ++m) {
              const __m256 s = _mm256_broadcast_ss(sign + m);
              const float* row = x + static_cast<int64_t>(coord[m]) * n_pad;
#pragma GCC unroll 4
              for (int v = 0; v < TV; ++v) acc[v] = _mm256_fmadd_ps(s, _mm256_load_ps(row + v * kL), acc[v]);
            }
          }
#pragma GCC unroll 4
          for (int v = 0; v < TV; ++v) _mm256_store_ps(tile + (v * kL + c) * kL, acc[v]);
        }
        const __m256i m = lane_mask(cw);
        for (int v = 0; v < TV; ++v) {
          __m256 rows[8];
          for (int64_t c = 0; c < kL; ++c) rows[c] = _mm256_load_ps(tile + (v * kL + c) * kL);
          transpose8(rows);
          const int64_t t0 = (tv0 + v) * kL;
          const int64_t cnt = item.n - t0 < kL ? item.n - t0 : kL;
          for (int64_t l = 0; l < cnt; ++l) {
            float* dst = o + ir[t0 + l] * p + c0;
            _mm256_maskstore_ps(dst, m, _mm256_add_ps(_mm256_maskload_ps(dst, m), rows[l]));
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
  return encode_item<Avx2Ops>(plan, item, document, fill, out);
}

}  // namespace

KernelTable avx2_kernels() { return KernelTable{encode}; }

}  // namespace muvera_nano::fde_detail
