#include "muvera_nano/quantize.h"

#include <algorithm>
#include <cstring>
#include <vector>

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
