// NEON (AArch64) MaxSim: the fused micro-kernel with 4 lanes per register; 16 query rows
// (4 registers) x 4 document rows = 16 accumulators of the 32 vector registers.
// Reduced-precision documents are widened into a small buffer first.
#include <arm_neon.h>

#include <limits>

#include "maxsim_kernels.h"
#include "number_formats.h"

namespace muvera_nano::maxsim_detail {
namespace {

template <int QV>
struct LaneMax {
  float32x4_t mx[QV];
  uint32x4_t nan[QV];
  LaneMax() {
    for (int v = 0; v < QV; ++v) {
      mx[v] = vdupq_n_f32(-std::numeric_limits<float>::infinity());
      nan[v] = vdupq_n_u32(0);
    }
  }
  inline __attribute__((always_inline)) void fold(int v, float32x4_t a) {
    nan[v] = vorrq_u32(nan[v], vmvnq_u32(vceqq_f32(a, a)));
    // vmaxq_f32 propagates NaN, but the flag above keeps the rule explicit and shared.
    mx[v] = vmaxq_f32(a, mx[v]);
  }
};

template <int QV, int R, bool kScaled>
inline __attribute__((always_inline)) void rows_block(const float* qp, int64_t lanes, int64_t dim,
                                                      const unsigned char* rows, int64_t stride,
                                                      const unsigned char* scales, int64_t sstride,
                                                      const char* pf, int64_t pf_step, LaneMax<QV>& st) {
  float32x4_t acc[R][QV];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < QV; ++v) acc[r][v] = vdupq_n_f32(0.0f);
  const unsigned char* rp[R];
  for (int r = 0; r < R; ++r) rp[r] = rows + r * stride;
  for (int64_t k = 0; k < dim; ++k) {
    // Spread the next block's prefetches over this block's compute, one per coordinate.
    __builtin_prefetch(pf + k * pf_step);
    float32x4_t qv[QV];
    for (int v = 0; v < QV; ++v) qv[v] = vld1q_f32(qp + k * lanes + 4 * v);
    for (int r = 0; r < R; ++r) {
      const float32x4_t b = vdupq_n_f32(load<float>(rp[r] + 4 * k));
      for (int v = 0; v < QV; ++v) acc[r][v] = vfmaq_f32(acc[r][v], qv[v], b);
    }
  }
  for (int r = 0; r < R; ++r) {
    float32x4_t s = vdupq_n_f32(1.0f);
    if constexpr (kScaled) s = vdupq_n_f32(load<float>(scales + r * sstride));
    for (int v = 0; v < QV; ++v) st.fold(v, kScaled ? vmulq_f32(acc[r][v], s) : acc[r][v]);
  }
}

enum class Source { f32, f16, bf16, i8 };

template <Source S>
inline void widen_rows(const unsigned char* src, int64_t stride, int n, int64_t dim, float* dst) {
  for (int r = 0; r < n; ++r) {
    const unsigned char* row = src + r * stride;
    float* out = dst + r * dim;
    int64_t k = 0;
    for (; k + 4 <= dim; k += 4) {
      uint16x4_t h;
      if constexpr (S != Source::i8) h = vreinterpret_u16_u8(vld1_u8(row + 2 * k));
      if constexpr (S == Source::f16) vst1q_f32(out + k, vcvt_f32_f16(vreinterpret_f16_u16(h)));
      else if constexpr (S == Source::bf16) vst1q_f32(out + k, vreinterpretq_f32_u32(vshll_n_u16(h, 16)));
      else
        for (int j = 0; j < 4; ++j) out[k + j] = static_cast<float>(static_cast<int8_t>(row[k + j]));
    }
    for (; k < dim; ++k) {
      if constexpr (S == Source::f16) out[k] = f16_to_f32(load<uint16_t>(row + 2 * k));
      else if constexpr (S == Source::bf16) out[k] = bf16_to_f32(load<uint16_t>(row + 2 * k));
      else out[k] = static_cast<float>(static_cast<int8_t>(row[k]));
    }
  }
}

template <Source S, int N>
inline __attribute__((always_inline)) void run_rows(const PackedQuery& q, const float* qp, const DocRows& d,
                                                    int64_t t, float* buf, LaneMax<4>& st) {
  constexpr bool kScaled = S == Source::i8;
  constexpr int64_t kElemBytes = S == Source::f32 ? 4 : (S == Source::i8 ? 1 : 2);
  const unsigned char* src = d.data + t * d.row_stride;
  const char* pf = reinterpret_cast<const char*>(src + N * d.row_stride);
  const unsigned char* sc = kScaled ? d.scales + t * d.scale_stride : nullptr;
  if constexpr (S == Source::f32) {
    rows_block<4, N, false>(qp, q.lanes, q.dim, src, d.row_stride, sc, d.scale_stride, pf, N * kElemBytes, st);
  } else {
    widen_rows<S>(src, d.row_stride, N, q.dim, buf);
    rows_block<4, N, kScaled>(qp, q.lanes, q.dim, reinterpret_cast<const unsigned char*>(buf), q.dim * 4, sc,
                              d.scale_stride, pf, N * kElemBytes, st);
  }
}

constexpr int kRows = 4;

template <Source S>
float score(const PackedQuery& q, const DocRows& d) {
  float out;
  if (trivial_score(q, d, &out)) return out;
  float* buf = S == Source::f32 ? nullptr : scratch_f32(kRows * q.dim);
  float total = 0.0f;
  bool nan = false;
  alignas(16) float mx[16];
  alignas(16) uint32_t flag[16];
  for (int64_t lb = 0; lb < q.rows; lb += 16) {
    const float* qp = q.f32 + lb;
    LaneMax<4> st;
    int64_t t = 0;
    for (; t + kRows <= d.rows; t += kRows) run_rows<S, kRows>(q, qp, d, t, buf, st);
    switch (d.rows - t) {
      case 1: run_rows<S, 1>(q, qp, d, t, buf, st); break;
      case 2: run_rows<S, 2>(q, qp, d, t, buf, st); break;
      case 3: run_rows<S, 3>(q, qp, d, t, buf, st); break;
      default: break;
    }
    for (int v = 0; v < 4; ++v) {
      vst1q_f32(mx + 4 * v, st.mx[v]);
      vst1q_u32(flag + 4 * v, st.nan[v]);
    }
    const int64_t valid = q.rows - lb < 16 ? q.rows - lb : 16;
    for (int64_t i = 0; i < valid; ++i) {
      float x = q.lane_scale ? q.lane_scale[lb + i] * mx[i] : mx[i];
      if (x != x || flag[i] != 0) nan = true;
      total += x;
    }
  }
  return nan ? std::numeric_limits<float>::quiet_NaN() : total;
}

}  // namespace

KernelTable neon_kernels() {
  KernelTable t;
  t.f32 = {score<Source::f32>, Layout::f32_lanes};
  t.f16 = {score<Source::f16>, Layout::f32_lanes};
  t.bf16 = {score<Source::bf16>, Layout::f32_lanes};
  t.i8 = {score<Source::i8>, Layout::f32_lanes};
  return t;
}

}  // namespace muvera_nano::maxsim_detail
