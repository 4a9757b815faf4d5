// The reference dense-scan dot products: plain loops in float32.
#include "number_formats.h"
#include "scan_kernels.h"

namespace muvera_nano::scan_detail {
namespace {

template <DType T>
inline float value(const unsigned char* row, int64_t k) {
  if constexpr (T == DType::f32) return load<float>(row + 4 * k);
  else if constexpr (T == DType::f16) return f16_to_f32(load<uint16_t>(row + 2 * k));
  else if constexpr (T == DType::bf16) return bf16_to_f32(load<uint16_t>(row + 2 * k));
  else return static_cast<float>(static_cast<int8_t>(row[k]));
}

template <DType T>
void dots(const float* q, int nq, const RowStore& rows, int64_t begin, int64_t n, float* out) {
  const int64_t cols = rows.cols;
  for (int64_t j = 0; j < n; ++j) {
    const unsigned char* row = rows.data + (begin + j) * rows.row_stride;
    const float scale = T == DType::i8 ? load<float>(rows.scales + (begin + j) * rows.scale_stride) : 1.0f;
    for (int i = 0; i < nq; ++i) {
      float acc = 0.0f;
      for (int64_t k = 0; k < cols; ++k) acc += q[i * cols + k] * value<T>(row, k);
      out[i * n + j] = T == DType::i8 ? acc * scale : acc;
    }
  }
}

}  // namespace

DotsTable scalar_dots() {
  return {dots<DType::f32>, dots<DType::f16>, dots<DType::bf16>, dots<DType::i8>};
}

}  // namespace muvera_nano::scan_detail
