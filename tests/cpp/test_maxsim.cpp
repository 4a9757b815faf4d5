// Every MaxSim kernel of every supported ISA against a float64 reference on the values
// each storage type scores with, on awkward sizes; plus the empty-input rules.
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dispatch.h"
#include "harness.h"
#include "muvera_nano/cpu.h"
#include "muvera_nano/maxsim.h"
#include "muvera_nano/pq.h"
#include "muvera_nano/quantize.h"
#include "number_formats.h"

using namespace muvera_nano;

namespace {

struct Store {
  DType dtype;
  int64_t dim;
  std::vector<int64_t> offsets{0};
  std::vector<float> f32;                // the float32 rows
  std::vector<unsigned char> raw;        // rows in the storage type
  std::vector<float> scales;             // int8
  std::shared_ptr<PqCodebook> codebook;  // pq8: raw holds M codes per row, f32 the decoded rows
  bool bf16_decoded = false;             // pq8 scored through bfloat16 centroids
  RaggedView view() const {
    RaggedView r;
    r.tokens.data = raw.data();
    r.tokens.rows = offsets.back();
    r.tokens.cols = dim;
    r.tokens.row_stride = codebook ? codebook->view().subspaces : dim * dtype_size(dtype);
    r.tokens.codebook = codebook ? &codebook->view() : nullptr;
    r.tokens.dtype = dtype;
    r.tokens.scales = dtype == DType::i8 ? reinterpret_cast<const unsigned char*>(scales.data()) : nullptr;
    r.tokens.scale_stride = 4;
    r.offsets = reinterpret_cast<const unsigned char*>(offsets.data());
    r.count = static_cast<int64_t>(offsets.size()) - 1;
    return r;
  }
  // The value row t, coordinate k is scored with.
  double value(int64_t t, int64_t k) const {
    const float x = f32[t * dim + k];
    switch (dtype) {
      case DType::f16: {
        uint16_t h;
        std::memcpy(&h, &raw[(t * dim + k) * 2], 2);
        return f16_to_f32(h);
      }
      case DType::bf16: return bf16_to_f32(f32_to_bf16(x));
      case DType::pq8: return bf16_decoded ? bf16_to_f32(f32_to_bf16(x)) : x;
      case DType::i8: return static_cast<double>(static_cast<int8_t>(raw[t * dim + k])) * scales[t];
      default: return x;
    }
  }
};

std::vector<float> random_rows(std::mt19937& g, int64_t n, int64_t dim) {
  std::normal_distribution<float> nd;
  std::vector<float> v(static_cast<size_t>(n * dim));
  for (auto& x : v) x = nd(g);
  return v;
}

uint16_t to_f16(float x) {  // round to nearest even, normal range only (test data is)
  uint32_t b;
  std::memcpy(&b, &x, 4);
  uint32_t sign = (b >> 16) & 0x8000u;
  int32_t e = static_cast<int32_t>((b >> 23) & 0xff) - 127 + 15;
  uint32_t m = b & 0x7fffffu;
  if (e <= 0) return static_cast<uint16_t>(sign);  // flush tiny values (exact enough here)
  uint32_t h = (static_cast<uint32_t>(e) << 10) | (m >> 13);
  uint32_t rest = m & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

Store make_store(std::mt19937& g, DType dtype, int64_t dim, const std::vector<int64_t>& lengths) {
  Store s{dtype, dim};
  for (int64_t n : lengths) s.offsets.push_back(s.offsets.back() + n);
  const int64_t T = s.offsets.back();
  s.f32 = random_rows(g, T, dim);
  s.raw.resize(static_cast<size_t>(T * dim * dtype_size(dtype)) + 1);
  if (dtype == DType::f32) std::memcpy(s.raw.data(), s.f32.data(), s.f32.size() * 4);
  if (dtype == DType::f16 || dtype == DType::bf16)
    for (int64_t i = 0; i < T * dim; ++i) {
      uint16_t h = dtype == DType::f16 ? to_f16(s.f32[i]) : f32_to_bf16(s.f32[i]);
      std::memcpy(&s.raw[i * 2], &h, 2);
    }
  if (dtype == DType::i8) {
    s.scales.resize(static_cast<size_t>(T));
    RowMatrix m = f32_matrix(s.f32.data(), T, dim);
    quantize_int8(m, reinterpret_cast<int8_t*>(s.raw.data()), s.scales.data(), 1);
  }
  return s;
}

// pq8 rows of dim = M * dsub: random centroids and codes; f32 holds the decoded rows.
Store make_pq_store(std::mt19937& g, int64_t dim, int64_t dsub, const std::vector<int64_t>& lengths) {
  Store s{DType::pq8, dim};
  for (int64_t n : lengths) s.offsets.push_back(s.offsets.back() + n);
  const int64_t T = s.offsets.back(), M = dim / dsub;
  const std::vector<float> centroids = random_rows(g, M * kPqCentroids, dsub);
  s.codebook = std::make_shared<PqCodebook>(centroids.data(), M, dsub);
  s.raw.resize(static_cast<size_t>(T * M) + 1);
  s.f32.resize(static_cast<size_t>(T * dim));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t m = 0; m < M; ++m) {
      const auto code = static_cast<unsigned char>(g() % kPqCentroids);
      s.raw[t * M + m] = code;
      std::memcpy(&s.f32[t * dim + m * dsub], &centroids[(m * kPqCentroids + code) * dsub],
                  static_cast<size_t>(dsub) * 4);
    }
  return s;
}

// Query value as scored against dtype (pq8 through bfloat16 centroids: as bf16).
std::vector<double> scored_query(const std::vector<float>& q, int64_t rows, int64_t dim, DType dtype) {
  std::vector<double> out(q.begin(), q.end());
  for (int64_t i = 0; i < rows; ++i) {
    const float* row = &q[i * dim];
    if (dtype == DType::bf16)
      for (int64_t k = 0; k < dim; ++k) out[i * dim + k] = bf16_to_f32(f32_to_bf16(row[k]));
    if (dtype == DType::i8) {
      const float s = int8_scale(row, dim);
      for (int64_t k = 0; k < dim; ++k) out[i * dim + k] = static_cast<double>(int8_quantize(row[k], s)) * s;
    }
  }
  return out;
}

// float64 MaxSim and a rigorous bound on float32 rounding of the same values.
void reference(const std::vector<double>& q, int64_t rows, const Store& s, int64_t doc, double* score, double* bound) {
  const int64_t a = s.offsets[doc], b = s.offsets[doc + 1], dim = s.dim;
  if (rows == 0) {
    *score = 0;
    *bound = 0;
    return;
  }
  if (a == b) {
    *score = -INFINITY;
    *bound = 0;
    return;
  }
  const double u = std::ldexp(1.0, -24);
  double total = 0, err = 0, mags = 0;
  for (int64_t i = 0; i < rows; ++i) {
    double best = -INFINITY, best_abs = 0;
    for (int64_t t = a; t < b; ++t) {
      double dot = 0, absdot = 0;
      for (int64_t k = 0; k < dim; ++k) {
        dot += q[i * dim + k] * s.value(t, k);
        absdot += std::fabs(q[i * dim + k] * s.value(t, k));
      }
      best = std::max(best, dot);
      best_abs = std::max(best_abs, absdot);
    }
    total += best;
    mags += std::fabs(best);
    err += 1.01 * (dim + 2) * u * best_abs;
  }
  *score = total;
  *bound = err + 1.01 * rows * u * (mags + err);
}

const DType kTypes[] = {DType::f32, DType::f16, DType::bf16, DType::i8};

// Random queries of awkward sizes against every document of s on the active kernels, the
// query values scored as `query_as` rounds them, within the float32 bound of `reference`.
void check_every_query_size(std::mt19937& g, const Store& s, DType query_as, const std::string& what) {
  RaggedView docs = s.view();
  for (int64_t rows : {0, 1, 7, 16, 17, 32, 33, 50}) {
    std::vector<float> q = random_rows(g, rows, s.dim);
    RowMatrix qv = f32_matrix(q.data(), rows, s.dim);
    std::vector<float> got(static_cast<size_t>(docs.count));
    maxsim_all(&qv, 1, docs, got.data(), 2);
    std::vector<double> qs = scored_query(q, rows, s.dim, query_as);
    for (int64_t j = 0; j < docs.count; ++j) {
      double want, bound;
      reference(qs, rows, s, j, &want, &bound);
      const bool ok = std::isinf(want) ? got[j] == want : std::fabs(got[j] - want) <= bound;
      CHECK_MSG(ok, "%s rows %lld doc %lld: got %.9g want %.9g (bound %.3g)", what.c_str(), (long long)rows,
                (long long)j, got[j], want, bound);
    }
  }
}

}  // namespace

TEST(maxsim_every_isa_matches_float64_reference) {
  std::mt19937 g(7);
  const std::vector<int64_t> lengths = {0, 1, 2, 5, 6, 7, 11, 12, 13, 17, 31, 64};
  // Each level with its extensions (AVX512_BF16 / VNNI where the CPU has them) and without.
  for (Isa isa : supported_isas())
    for (bool extensions : {true, false}) {
      set_active_isa(isa);
      set_extensions_for_testing(extensions);
      for (DType dtype : kTypes) {
        for (int64_t dim : {1, 3, 16, 17, 33, 128, 130}) {
          const std::string what = std::string(isa_name(isa)) + (extensions ? " " : " (no extensions) ") +
                                   dtype_name(dtype) + " dim " + std::to_string(dim);
          check_every_query_size(g, make_store(g, dtype, dim, lengths), dtype, what);
        }
      }
    }
  set_extensions_for_testing(true);
  set_active_isa(supported_isas().front());
}

// pq8 documents (rows decoded through the codebook) on every level, with and without
// extensions, for subspace widths with their own copy (2, 4, 8) and any other.
TEST(maxsim_pq8_every_isa_matches_float64_reference) {
  std::mt19937 g(8);
  const std::vector<int64_t> lengths = {0, 1, 2, 5, 6, 7, 11, 12, 13, 17, 31, 64};
  const int64_t shapes[][2] = {{1, 1}, {3, 3}, {16, 8}, {17, 1}, {17, 17}, {33, 3}, {128, 4}, {130, 2}, {130, 10}};
  for (Isa isa : supported_isas())
    for (bool extensions : {true, false}) {
      set_active_isa(isa);
      set_extensions_for_testing(extensions);
      const bool bf16 = active_kernels().maxsim[static_cast<int>(DType::pq8)].layout == QueryLayout::bf16_pairs;
      for (const auto& shape : shapes) {
        const int64_t dim = shape[0], dsub = shape[1];
        Store s = make_pq_store(g, dim, dsub, lengths);
        s.bf16_decoded = bf16;
        const std::string what = std::string(isa_name(isa)) + (extensions ? " " : " (no extensions) ") + "pq8 dim " +
                                 std::to_string(dim) + " dsub " + std::to_string(dsub);
        check_every_query_size(g, s, bf16 ? DType::bf16 : DType::f32, what);
      }
    }
  set_extensions_for_testing(true);
  set_active_isa(supported_isas().front());
}

TEST(maxsim_is_independent_of_thread_count_and_rejects_bad_candidates) {
  std::mt19937 g(11);
  std::vector<int64_t> lengths;
  for (int i = 0; i < 300; ++i) lengths.push_back(static_cast<int64_t>(g() % 90));
  for (Isa isa : supported_isas()) {
    set_active_isa(isa);
    for (DType dtype : kTypes) {
      Store s = make_store(g, dtype, 40, lengths);
      RaggedView docs = s.view();
      std::vector<float> q = random_rows(g, 45, 40);
      RowMatrix qv = f32_matrix(q.data(), 45, 40);
      std::vector<float> one(300), two(300);
      maxsim_all(&qv, 1, docs, one.data(), 1);
      maxsim_all(&qv, 1, docs, two.data(), 3);
      CHECK(std::memcmp(one.data(), two.data(), one.size() * 4) == 0);
      std::vector<int64_t> cand = {299, 0, 150};
      std::vector<float> cs(3);
      maxsim_candidates(&qv, 1, docs, cand.data(), 3, cs.data(), 2);
      CHECK(cs[0] == one[299] && cs[1] == one[0] && cs[2] == one[150]);
      cand[1] = 300;
      CHECK_THROWS(maxsim_candidates(&qv, 1, docs, cand.data(), 3, cs.data(), 2));
      cand[1] = 299;
      CHECK_THROWS(maxsim_candidates(&qv, 1, docs, cand.data(), 3, cs.data(), 2));
    }
  }
  set_active_isa(supported_isas().front());
}

TEST(validate_ragged_rejects_bad_offsets) {
  std::vector<float> tokens(10 * 4);
  std::vector<int64_t> offsets = {0, 4, 10};
  RaggedView r;
  r.tokens = f32_matrix(tokens.data(), 10, 4);
  r.offsets = reinterpret_cast<const unsigned char*>(offsets.data());
  r.count = 2;
  validate_ragged(r, "docs");
  offsets = {1, 4, 10};
  CHECK_THROWS(validate_ragged(r, "docs"));
  offsets = {0, 11, 10};
  CHECK_THROWS(validate_ragged(r, "docs"));
  offsets = {0, 4, 9};
  CHECK_THROWS(validate_ragged(r, "docs"));
}

TEST(dispatch_rows_fall_back_and_patch_extensions) {
  const KernelTable& scalar = kernel_table(Isa::scalar);
  const int pq8 = static_cast<int>(DType::pq8);
  for (int t = 0; t < kDTypes; ++t) CHECK(scalar.maxsim[t].fn && (scalar.dots[t] != nullptr) == (t != pq8));
  CHECK(scalar.fde_encode && scalar.to_half && scalar.pq_encode && scalar.pq4_sums);
  for (Isa isa : supported_isas()) {
    const KernelTable& row = kernel_table(isa);
    for (int t = 0; t < kDTypes; ++t) CHECK(row.maxsim[t].fn && (row.dots[t] != nullptr) == (t != pq8));
    CHECK(row.pq_encode && row.pq4_sums);
    if (isa != Isa::scalar) CHECK(row.maxsim[0].fn != scalar.maxsim[0].fn && row.dots[0] != scalar.dots[0]);
  }
  if (isa_supported(Isa::avx512)) {
    const int bf16 = static_cast<int>(DType::bf16), i8 = static_cast<int>(DType::i8);
    const KernelTable& plain = kernel_table(Isa::avx512, false);
    const KernelTable& full = kernel_table(Isa::avx512, true);
    CHECK(plain.maxsim[bf16].layout == QueryLayout::f32_lanes && plain.maxsim[i8].layout == QueryLayout::f32_lanes);
    CHECK((full.maxsim[bf16].layout == QueryLayout::bf16_pairs) == cpu_features().avx512_bf16);
    CHECK((full.maxsim[i8].layout == QueryLayout::i8_quads) == cpu_features().avx512_vnni);
  }
}
