#include "muvera_nano/quantize.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "dispatch.h"
#include "muvera_nano/parallel.h"
#include "number_formats.h"

namespace muvera_nano {
namespace {

// Rows per piece: about 64 Ki values; threads from 128 Ki values on.
Split split_values(const RowMatrix& src, int threads) {
  return split_work(src.rows, static_cast<double>(std::max<int64_t>(src.cols, 1)), 1 << 16, threads);
}

}  // namespace

void quantize_int8(const RowMatrix& src, int8_t* out, float* scales, int threads) {
  const int64_t dim = src.cols;
  parallel_for(split_values(src, threads), [&](int64_t, int64_t b, int64_t e) {
    std::vector<float> row(static_cast<size_t>(dim));
    for (int64_t r = b; r < e; ++r) {
      std::memcpy(row.data(), src.row(r), static_cast<size_t>(dim) * 4);
      const float s = int8_scale(row.data(), dim);
      scales[r] = s;
      for (int64_t k = 0; k < dim; ++k) out[r * dim + k] = int8_quantize(row[k], s);
    }
  });
}

void convert_rows(const RowMatrix& src, DType to, uint16_t* out, int threads) {
  if (to != DType::f16 && to != DType::bf16)
    throw std::invalid_argument("convert_rows converts to float16 or bfloat16");
  const int64_t cols = src.cols;
  const ToHalfFn half = active_kernels().to_half;
  parallel_for(split_values(src, threads), [&](int64_t, int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const unsigned char* row = src.row(r);
      uint16_t* dst = out + r * cols;
      if (to == DType::f16) {
        half(row, cols, dst);
      } else {
        for (int64_t k = 0; k < cols; ++k) dst[k] = f32_to_bf16(load<float>(row + 4 * k));
      }
    }
  });
}

}  // namespace muvera_nano
