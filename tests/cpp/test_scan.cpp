// The dense scan on every supported ISA against float64, for every row type, plus top-k.
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "harness.h"
#include "muvera_nano/cpu.h"
#include "muvera_nano/quantize.h"
#include "muvera_nano/scan.h"
#include "number_formats.h"

using namespace muvera_nano;

TEST(scan_every_isa_matches_float64) {
  std::mt19937 g(5);
  std::normal_distribution<float> nd;
  for (int64_t cols : {1, 7, 16, 17, 33, 100}) {
    const int64_t n = 97;
    std::vector<float> rows(static_cast<size_t>(n * cols)), q(static_cast<size_t>(5 * cols));
    for (auto& x : rows) x = nd(g);
    for (auto& x : q) x = nd(g);
    std::vector<uint16_t> bf(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) bf[i] = f32_to_bf16(rows[i]);
    std::vector<int8_t> i8(rows.size());
    std::vector<float> scales(static_cast<size_t>(n));
    quantize_int8(MatrixView{reinterpret_cast<const unsigned char*>(rows.data()), n, cols, cols * 4}, i8.data(),
                  scales.data(), 1);
    for (DType t : {DType::f32, DType::bf16, DType::i8}) {
      RowStore s;
      s.rows = n;
      s.cols = cols;
      s.dtype = t;
      s.data = t == DType::f32 ? reinterpret_cast<const unsigned char*>(rows.data())
               : t == DType::bf16 ? reinterpret_cast<const unsigned char*>(bf.data())
                                  : reinterpret_cast<const unsigned char*>(i8.data());
      s.row_stride = cols * dtype_size(t);
      s.scales = reinterpret_cast<const unsigned char*>(scales.data());
      auto value = [&](int64_t j, int64_t k) -> double {
        if (t == DType::f32) return rows[j * cols + k];
        if (t == DType::bf16) return bf16_to_f32(bf[j * cols + k]);
        return static_cast<double>(i8[j * cols + k]) * scales[j];
      };
      for (Isa isa : supported_isas()) {
        set_active_isa(isa);
        std::vector<float> out(static_cast<size_t>(5 * n));
        scan_scores(MatrixView{reinterpret_cast<const unsigned char*>(q.data()), 5, cols, cols * 4}, s, out.data(), 2);
        for (int64_t i = 0; i < 5; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double want = 0, mag = 0;
            for (int64_t k = 0; k < cols; ++k) {
              want += q[i * cols + k] * value(j, k);
              mag += std::fabs(q[i * cols + k] * value(j, k));
            }
            const double bound = 1.01 * (cols + 2) * std::ldexp(1.0, -24) * mag;
            CHECK_MSG(std::fabs(out[i * n + j] - want) <= bound, "%s %s cols %lld: %g vs %g", isa_name(isa),
                      dtype_name(t), (long long)cols, out[i * n + j], want);
          }
        std::vector<int64_t> ids(10);
        std::vector<float> top(10);
        scan_topk(MatrixView{reinterpret_cast<const unsigned char*>(q.data()), 1, cols, cols * 4}, s, nullptr, 10,
                  ids.data(), top.data(), 2);
        for (int j = 0; j < 10; ++j) CHECK(top[j] == out[ids[j]]);
        for (int j = 1; j < 10; ++j) CHECK(top[j - 1] > top[j] || (top[j - 1] == top[j] && ids[j - 1] < ids[j]));
      }
    }
  }
  set_active_isa(supported_isas().front());
}
