// Internal, AVX-512 translation units only: running maxima per lane and the final sum.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <limits>

namespace muvera_nano::maxsim_detail::avx512 {
// Internal linkage: each AVX-512 translation unit (compiled with different flags) gets its own copy.
namespace {

// Running max of each query row (lane) over document rows, with a sticky NaN flag
// (vmaxps alone would drop a NaN).
template <int QV>
struct LaneMax {
  __m512 mx[QV];
  __mmask16 nan[QV];
  LaneMax() {
    for (int v = 0; v < QV; ++v) {
      mx[v] = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
      nan[v] = 0;
    }
  }
  inline __attribute__((always_inline)) void fold(int v, __m512 a) {
    nan[v] |= _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q);
    mx[v] = _mm512_max_ps(a, mx[v]);
  }
};

// Sums the valid lanes of each lane block (times the per-lane query scale for int8).
struct ScoreSum {
  float total = 0.0f;
  bool nan = false;
  template <int QV>
  inline void add(const LaneMax<QV>& st, int64_t valid, const float* lane_scale) {
    for (int v = 0; v < QV; ++v) {
      const int64_t n = valid - 16 * v;
      if (n <= 0) break;
      const __mmask16 m = n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1);
      __m512 x = st.mx[v];
      if (lane_scale) x = _mm512_mul_ps(x, _mm512_maskz_loadu_ps(m, lane_scale + 16 * v));
      nan |= ((st.nan[v] | _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q)) & m) != 0;
      total += _mm512_mask_reduce_add_ps(m, x);
    }
  }
  float result() const { return nan ? std::numeric_limits<float>::quiet_NaN() : total; }
};

}  // namespace
}  // namespace muvera_nano::maxsim_detail::avx512
