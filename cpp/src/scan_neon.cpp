// NEON dense-scan dot products: coordinates along 4 lanes, up to 4 queries per row load.
#include <arm_neon.h>

#include "number_formats.h"
#include "scan_kernels.h"

namespace muvera_nano::scan_detail {
namespace {

template <DType T>
inline __attribute__((always_inline)) float32x4_t widen4(const unsigned char* row, int64_t k) {
  if constexpr (T == DType::f32) {
    return vld1q_f32(reinterpret_cast<const float*>(row + 4 * k));
  } else if constexpr (T == DType::f16) {
    return vcvt_f32_f16(vreinterpret_f16_u8(vld1_u8(row + 2 * k)));
  } else if constexpr (T == DType::bf16) {
    return vreinterpretq_f32_u32(vshll_n_u16(vreinterpret_u16_u8(vld1_u8(row + 2 * k)), 16));
  } else {
    const float v[4] = {static_cast<float>(static_cast<int8_t>(row[k])), static_cast<float>(static_cast<int8_t>(row[k + 1])),
                        static_cast<float>(static_cast<int8_t>(row[k + 2])), static_cast<float>(static_cast<int8_t>(row[k + 3]))};
    return vld1q_f32(v);
  }
}

template <DType T>
inline float value(const unsigned char* row, int64_t k) {
  if constexpr (T == DType::f32) return load<float>(row + 4 * k);
  else if constexpr (T == DType::f16) return f16_to_f32(load<uint16_t>(row + 2 * k));
  else if constexpr (T == DType::bf16) return bf16_to_f32(load<uint16_t>(row + 2 * k));
  else return static_cast<float>(static_cast<int8_t>(row[k]));
}

template <DType T, int NQ>
void dots_nq(const float* q, const RowStore& rows, int64_t begin, int64_t n, float* out) {
  const int64_t cols = rows.cols;
  for (int64_t j = 0; j < n; ++j) {
    const unsigned char* row = rows.data + (begin + j) * rows.row_stride;
    float32x4_t a0[NQ], a1[NQ];
    for (int i = 0; i < NQ; ++i) a0[i] = a1[i] = vdupq_n_f32(0.0f);
    int64_t k = 0;
    for (; k + 8 <= cols; k += 8) {
      const float32x4_t x0 = widen4<T>(row, k), x1 = widen4<T>(row, k + 4);
      for (int i = 0; i < NQ; ++i) {
        a0[i] = vfmaq_f32(a0[i], vld1q_f32(q + i * cols + k), x0);
        a1[i] = vfmaq_f32(a1[i], vld1q_f32(q + i * cols + k + 4), x1);
      }
    }
    float dot[NQ];
    for (int i = 0; i < NQ; ++i) dot[i] = vaddvq_f32(vaddq_f32(a0[i], a1[i]));
    for (; k < cols; ++k) {
      const float x = value<T>(row, k);
      for (int i = 0; i < NQ; ++i) dot[i] += q[i * cols + k] * x;
    }
    const float scale = T == DType::i8 ? load<float>(rows.scales + (begin + j) * rows.scale_stride) : 1.0f;
    for (int i = 0; i < NQ; ++i) out[i * n + j] = T == DType::i8 ? dot[i] * scale : dot[i];
  }
}

template <DType T>
void dots(const float* q, int nq, const RowStore& rows, int64_t begin, int64_t n, float* out) {
  switch (nq) {
    case 1: dots_nq<T, 1>(q, rows, begin, n, out); break;
    case 2: dots_nq<T, 2>(q, rows, begin, n, out); break;
    case 3: dots_nq<T, 3>(q, rows, begin, n, out); break;
    default: dots_nq<T, 4>(q, rows, begin, n, out); break;
  }
}

}  // namespace

DotsTable neon_dots() {
  return {dots<DType::f32>, dots<DType::f16>, dots<DType::bf16>, dots<DType::i8>};
}

}  // namespace muvera_nano::scan_detail
