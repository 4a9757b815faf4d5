#include "muvera_nano/quantize.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "convert_kernels.h"
#include "muvera_nano/parallel.h"
#include "number_formats.h"

namespace muvera_nano {

void quantize_int8(const MatrixView& src, int8_t* out, float* scales, int threads) {
  threads = resolve_threads(threads);
  const int64_t dim = src.cols;
  const int64_t grain = std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(dim, 1));
  if (src.rows * dim < (1 << 18)) threads = 1;
  parallel_for(src.rows, grain, threads, [&](int64_t b, int64_t e) {
    std::vector<float> row(static_cast<size_t>(dim));
    for (int64_t r = b; r < e; ++r) {
      std::memcpy(row.data(), src.data + r * src.row_stride, static_cast<size_t>(dim) * 4);
      const float s = int8_scale(row.data(), dim);
      scales[r] = s;
      for (int64_t k = 0; k < dim; ++k) out[r * dim + k] = int8_quantize(row[k], s);
    }
  });
}

}  // namespace muvera_nano

namespace muvera_nano {
namespace convert_detail {
namespace {

// IEEE half from float32, round to nearest even (the reference the SIMD paths are tested against).
uint16_t f32_to_f16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));  // NaN, quiet
  if (ax >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (ax < 0x38800000u) {  // below the smallest normal half: subnormal or zero
    if (ax < 0x33000000u) return static_cast<uint16_t>(sign);  // below half the smallest subnormal
    const uint32_t e = ax >> 23, m = (ax & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - e;  // 14..24
    uint32_t h = m >> shift;
    const uint32_t rest = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rest > half || (rest == half && (h & 1u))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  uint32_t h = ((ax >> 13) - (112u << 10));
  const uint32_t rest = ax & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

void scalar(const unsigned char* src, int64_t n, uint16_t* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = f32_to_f16(load<float>(src + 4 * i));
}

}  // namespace

ToHalfFn scalar_to_half() { return scalar; }

ToHalfFn to_half_for(Isa isa) {
#if defined(__x86_64__) || defined(_M_X64)
  if (isa == Isa::avx512) return avx512_to_half();
  if (isa == Isa::avx2) return avx2_to_half();
#endif
  (void)isa;
  return scalar;
}

}  // namespace convert_detail

void convert_rows(const MatrixView& src, DType to, uint16_t* out, int threads) {
  if (to != DType::f16 && to != DType::bf16) throw std::invalid_argument("convert_rows converts to float16 or bfloat16");
  threads = resolve_threads(threads);
  const int64_t cols = src.cols;
  if (src.rows * cols < (1 << 18)) threads = 1;
  const convert_detail::ToHalfFn half = convert_detail::to_half_for(active_isa());
  parallel_for(src.rows, std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(cols, 1)), threads, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const unsigned char* row = src.data + r * src.row_stride;
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
