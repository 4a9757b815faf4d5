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
    std::vector<uint16_t> bf(rows.size()), half(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) bf[i] = f32_to_bf16(rows[i]);
    for (size_t i = 0; i < rows.size(); ++i) half[i] = f32_to_f16(rows[i]);
    std::vector<int8_t> i8(rows.size());
    std::vector<float> scales(static_cast<size_t>(n));
    quantize_int8(f32_matrix(rows.data(), n, cols), i8.data(), scales.data(), 1);
    for (DType t : {DType::f32, DType::f16, DType::bf16, DType::i8}) {
      RowMatrix s;
      s.rows = n;
      s.cols = cols;
      s.dtype = t;
      s.data = t == DType::f32    ? reinterpret_cast<const unsigned char*>(rows.data())
               : t == DType::f16  ? reinterpret_cast<const unsigned char*>(half.data())
               : t == DType::bf16 ? reinterpret_cast<const unsigned char*>(bf.data())
                                  : reinterpret_cast<const unsigned char*>(i8.data());
      s.row_stride = cols * dtype_size(t);
      if (t == DType::i8) s.scales = reinterpret_cast<const unsigned char*>(scales.data()), s.scale_stride = 4;
      auto value = [&](int64_t j, int64_t k) -> double {
        if (t == DType::f32) return rows[j * cols + k];
        if (t == DType::f16) return f16_to_f32(half[j * cols + k]);
        if (t == DType::bf16) return bf16_to_f32(bf[j * cols + k]);
        return static_cast<double>(i8[j * cols + k]) * scales[j];
      };
      for (Isa isa : supported_isas()) {
        set_active_isa(isa);
        std::vector<float> out(static_cast<size_t>(5 * n));
        scan_scores(f32_matrix(q.data(), 5, cols), s, out.data(), 2);
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
        scan_topk(f32_matrix(q.data(), 1, cols), s, nullptr, 10, ids.data(), top.data(), 2);
        for (int j = 0; j < 10; ++j) CHECK(top[j] == out[ids[j]]);
        for (int j = 1; j < 10; ++j) CHECK(top[j - 1] > top[j] || (top[j - 1] == top[j] && ids[j - 1] < ids[j]));
        // Every eligible row, and no more: k above the eligible count is refused.
        std::vector<uint64_t> excluded((n + 63) / 64, 0);
        for (int64_t j = 0; j < n; j += 3) excluded[j >> 6] |= uint64_t{1} << (j & 63);
        const int64_t eligible = scan_eligible(s, excluded.data());
        CHECK(eligible == n - (n + 2) / 3);
        std::vector<int64_t> all_ids(static_cast<size_t>(eligible));
        std::vector<float> all_top(static_cast<size_t>(eligible));
        scan_topk(f32_matrix(q.data(), 1, cols), s, excluded.data(), eligible, all_ids.data(), all_top.data(), 2);
        for (int64_t j = 0; j < eligible; ++j) CHECK(all_ids[j] % 3 != 0 && all_top[j] == out[all_ids[j]]);
        CHECK_THROWS(scan_topk(f32_matrix(q.data(), 1, cols), s, excluded.data(), eligible + 1, all_ids.data(),
                               all_top.data(), 2));
      }
    }
  }
  set_active_isa(supported_isas().front());
}

TEST(to_half_every_isa_matches_the_scalar_rounding) {
  // Awkward values: ties, subnormals, overflow, NaN, signed zeros; awkward lengths for the tails.
  std::mt19937 g(11);
  std::normal_distribution<float> nd;
  std::vector<float> x;
  for (int e = -30; e <= 20; ++e)
    for (float m : {1.0f, 1.5f, 1.0009765625f, 1.00048828125f, 1.99951171875f, 65504.0f / 32768.0f})
      x.push_back(std::ldexp(m, e)), x.push_back(-std::ldexp(m, e));
  for (float v :
       {0.0f, -0.0f, 65504.0f, 65520.0f, 1e9f, -1e9f, __builtin_inff(), -__builtin_inff(), __builtin_nanf("")})
    x.push_back(v);
  for (int i = 0; i < 997; ++i) x.push_back(nd(g) * std::ldexp(1.0f, static_cast<int>(i % 40) - 20));
  for (int64_t cols : {1, 3, 8, 15, 16, 17, 31, 100}) {
    const int64_t rows = static_cast<int64_t>(x.size()) / cols;
    std::vector<uint16_t> want(static_cast<size_t>(rows * cols)), got(want.size());
    for (size_t i = 0; i < want.size(); ++i) want[i] = f32_to_f16(x[i]);
    for (Isa isa : supported_isas()) {
      set_active_isa(isa);
      std::fill(got.begin(), got.end(), uint16_t{0x1234});
      convert_rows(f32_matrix(x.data(), rows, cols), DType::f16, got.data(), 2);
      for (size_t i = 0; i < want.size(); ++i)
        CHECK_MSG(got[i] == want[i], "%s cols %lld: %g -> %04x, want %04x", isa_name(isa), (long long)cols, x[i],
                  got[i], want[i]);
    }
  }
  set_active_isa(supported_isas().front());
}
