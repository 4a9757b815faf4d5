// AVX2 + FMA MaxSim: the same fused micro-kernel as the AVX-512 file with 8 lanes per
// register (16 registers: 2 lane vectors x 6 rows = 12 accumulators). float16 documents
// widen with F16C, bfloat16 by a shift, int8 to exact integer-valued floats (exact
// integer dot products for dim <= 1040; beyond that float32 rounding may enter).
#include <immintrin.h>

#include <limits>

#include "maxsim_kernels.h"

namespace muvera_nano::maxsim_detail {
namespace {

template <int QV>
struct LaneMax {
  __m256 mx[QV];
  __m256 nan[QV];
  LaneMax() {
    for (int v = 0; v < QV; ++v) {
      mx[v] = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
      nan[v] = _mm256_setzero_ps();
    }
  }
  inline __attribute__((always_inline)) void fold(int v, __m256 a) {
    nan[v] = _mm256_or_ps(nan[v], _mm256_cmp_ps(a, a, _CMP_UNORD_Q));
    mx[v] = _mm256_max_ps(a, mx[v]);
  }
};

template <int QV, int R, bool kScaled>
inline __attribute__((always_inline)) void rows_block(const float* qp, int64_t lanes, int64_t dim,
                                                      const unsigned char* rows, int64_t stride,
                                                      const unsigned char* scales, int64_t sstride,
                                                      const char* pf, int64_t pf_step, LaneMax<QV>& st) {
  __m256 acc[R][QV];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < QV; ++v) acc[r][v] = _mm256_setzero_ps();
  const unsigned char* rp[R];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) rp[r] = rows + r * stride;
  for (int64_t k = 0; k < dim; ++k) {
    // Spread the next block's prefetches over this block's compute, one per coordinate.
    _mm_prefetch(pf + k * pf_step, _MM_HINT_T0);
    __m256 qv[QV];
#pragma GCC unroll 4
    for (int v = 0; v < QV; ++v) qv[v] = _mm256_loadu_ps(qp + k * lanes + 8 * v);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m256 b = _mm256_set1_ps(load<float>(rp[r] + 4 * k));
#pragma GCC unroll 4
      for (int v = 0; v < QV; ++v) acc[r][v] = _mm256_fmadd_ps(qv[v], b, acc[r][v]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    __m256 s = _mm256_set1_ps(1.0f);
    if constexpr (kScaled) s = _mm256_set1_ps(load<float>(scales + r * sstride));
#pragma GCC unroll 4
    for (int v = 0; v < QV; ++v) st.fold(v, kScaled ? _mm256_mul_ps(acc[r][v], s) : acc[r][v]);
  }
}

enum class Source { f32, f16, bf16, i8 };

template <Source S>
inline void widen_rows(const unsigned char* src, int64_t stride, int n, int64_t dim, float* dst) {
  for (int r = 0; r < n; ++r) {
    const unsigned char* row = src + r * stride;
    float* out = dst + r * dim;
    int64_t k = 0;
    for (; k + 8 <= dim; k += 8) {
      if constexpr (S == Source::f16) {
        _mm256_storeu_ps(out + k, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * k))));
      } else if constexpr (S == Source::bf16) {
        __m256i w = _mm256_slli_epi32(
            _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * k))), 16);
        _mm256_storeu_ps(out + k, _mm256_castsi256_ps(w));
      } else {
        __m256i w = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + k)));
        _mm256_storeu_ps(out + k, _mm256_cvtepi32_ps(w));
      }
    }
    for (; k < dim; ++k) {
      if constexpr (S == Source::f16) out[k] = _cvtsh_ss(load<uint16_t>(row + 2 * k));
      else if constexpr (S == Source::bf16) {
        uint32_t bits = static_cast<uint32_t>(load<uint16_t>(row + 2 * k)) << 16;
        out[k] = load<float>(&bits);
      } else {
        out[k] = static_cast<float>(static_cast<int8_t>(row[k]));
      }
    }
  }
}

template <Source S, int QV, int N>
inline __attribute__((always_inline)) void run_rows(const PackedQuery& q, const float* qp, const DocRows& d,
                                                    int64_t t, float* buf, LaneMax<QV>& st) {
  constexpr bool kScaled = S == Source::i8;
  constexpr int64_t kElemBytes = S == Source::f32 ? 4 : (S == Source::i8 ? 1 : 2);
  const unsigned char* src = d.data + t * d.row_stride;
  const char* pf = reinterpret_cast<const char*>(src + N * d.row_stride);
  const unsigned char* sc = kScaled ? d.scales + t * d.scale_stride : nullptr;
  if constexpr (S == Source::f32) {
    rows_block<QV, N, false>(qp, q.lanes, q.dim, src, d.row_stride, sc, d.scale_stride, pf, N * kElemBytes, st);
  } else {
    widen_rows<S>(src, d.row_stride, N, q.dim, buf);
    rows_block<QV, N, kScaled>(qp, q.lanes, q.dim, reinterpret_cast<const unsigned char*>(buf), q.dim * 4, sc,
                               d.scale_stride, pf, N * kElemBytes, st);
  }
}

constexpr int kRows = 6;

template <Source S>
float score(const PackedQuery& q, const DocRows& d) {
  float out;
  if (trivial_score(q, d, &out)) return out;
  float* buf = S == Source::f32 ? nullptr : scratch_f32(kRows * q.dim);
  float total = 0.0f;
  bool nan = false;
  alignas(32) float mx[16], flag[16];
  for (int64_t lb = 0; lb < q.rows; lb += 16) {
    const float* qp = q.f32 + lb;
    LaneMax<2> st;
    int64_t t = 0;
    for (; t + kRows <= d.rows; t += kRows) run_rows<S, 2, kRows>(q, qp, d, t, buf, st);
    switch (d.rows - t) {
      case 1: run_rows<S, 2, 1>(q, qp, d, t, buf, st); break;
      case 2: run_rows<S, 2, 2>(q, qp, d, t, buf, st); break;
      case 3: run_rows<S, 2, 3>(q, qp, d, t, buf, st); break;
      case 4: run_rows<S, 2, 4>(q, qp, d, t, buf, st); break;
      case 5: run_rows<S, 2, 5>(q, qp, d, t, buf, st); break;
      default: break;
    }
    for (int v = 0; v < 2; ++v) {
      _mm256_store_ps(mx + 8 * v, st.mx[v]);
      _mm256_store_ps(flag + 8 * v, st.nan[v]);
    }
    const int64_t valid = q.rows - lb < 16 ? q.rows - lb : 16;
    for (int64_t i = 0; i < valid; ++i) {
      float x = q.lane_scale ? q.lane_scale[lb + i] * mx[i] : mx[i];
      if (x != x || load<uint32_t>(flag + i) != 0) nan = true;
      total += x;
    }
  }
  return nan ? std::numeric_limits<float>::quiet_NaN() : total;
}

}  // namespace

KernelTable avx2_kernels() {
  KernelTable t;
  t.f32 = {score<Source::f32>, Layout::f32_lanes};
  t.f16 = {score<Source::f16>, Layout::f32_lanes};
  t.bf16 = {score<Source::bf16>, Layout::f32_lanes};
  t.i8 = {score<Source::i8>, Layout::f32_lanes};
  return t;
}

}  // namespace muvera_nano::maxsim_detail
