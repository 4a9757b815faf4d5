// PQ drivers: the codebook of pq8 rows, encoding and decoding rows, and the quantized lookup
// tables of the 4-bit scan with the blocked code layout. Encoding is the only heavy part: it
// builds the kernels' plan once and splits rows over the pool; each row's codes come from one
// kernel call computing a fixed sequence of float operations, so they never depend on the
// instruction set or the thread count.
#include "muvera_nano/pq.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "aligned_buffer.h"
#include "dispatch.h"
#include "muvera_nano/parallel.h"
#include "number_formats.h"

namespace muvera_nano {
namespace {

void check_centroids(const float* centroids, int64_t subspaces, int64_t n_centroids, int64_t dsub) {
  if (subspaces < 1)
    throw std::invalid_argument("centroids need at least one subspace, got " + std::to_string(subspaces));
  if (dsub < 1) throw std::invalid_argument("centroids need dsub >= 1, got " + std::to_string(dsub));
  if (n_centroids != 16 && n_centroids != 256)
    throw std::invalid_argument("centroids must have 16 (4-bit codes) or 256 (8-bit codes) per subspace, got " +
                                std::to_string(n_centroids));
  const int64_t n = subspaces * n_centroids * dsub;
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(centroids[i]))
      throw std::invalid_argument("centroids[" + std::to_string(i / (n_centroids * dsub)) + ", " +
                                  std::to_string(i / dsub % n_centroids) + ", " + std::to_string(i % dsub) +
                                  "] is not finite");
}

// Bytes of one row's codes.
int64_t code_bytes(int64_t subspaces, int64_t n_centroids) { return n_centroids == 256 ? subspaces : subspaces / 2; }

}  // namespace

PqCodebook::PqCodebook(const float* centroids, int64_t subspaces, int64_t dsub) {
  check_centroids(centroids, subspaces, kPqCentroids, dsub);
  const int64_t n = subspaces * kPqCentroids * dsub;
  f32_.assign(static_cast<size_t>(n + kPqPadFloats), 0.0f);
  bf16_.assign(static_cast<size_t>(n + kPqPadFloats), 0);
  std::memcpy(f32_.data(), centroids, static_cast<size_t>(n) * 4);
  for (int64_t i = 0; i < n; ++i) bf16_[i] = f32_to_bf16(centroids[i]);
  view_.centroids = f32_.data();
  view_.centroids_bf16 = bf16_.data();
  view_.subspaces = subspaces;
  view_.dsub = dsub;
}

void pq_encode(const RowMatrix& rows, const float* centroids, int64_t subspaces, int64_t n_centroids, int64_t dsub,
               uint8_t* out, int threads) {
  check_centroids(centroids, subspaces, n_centroids, dsub);
  if (rows.dtype != DType::f32) throw std::invalid_argument("rows must be float32");
  if (rows.cols != subspaces * dsub)
    throw std::invalid_argument("rows have dimension " + std::to_string(rows.cols) + " but the centroids code " +
                                std::to_string(subspaces) + " x " + std::to_string(dsub) + " = " +
                                std::to_string(subspaces * dsub));
  if (n_centroids == 16 && subspaces % 2 != 0)
    throw std::invalid_argument("4-bit codes pack two subspaces per byte: the number of subspaces must be even, got " +
                                std::to_string(subspaces));
  const int64_t K = n_centroids, M = subspaces;
  AlignedBuffer<float> neg2c(static_cast<size_t>(M * K * dsub)), norms(static_cast<size_t>(M * K)), iota(K);
  for (int64_t c = 0; c < M * K; ++c) {
    float n2 = 0.0f;
    for (int64_t j = 0; j < dsub; ++j) {
      const float x = centroids[c * dsub + j];
      n2 = std::fma(x, x, n2);
      neg2c.data()[c * dsub + j] = -2.0f * x;
    }
    norms.data()[c] = n2;
  }
  for (int64_t k = 0; k < K; ++k) iota.data()[k] = static_cast<float>(k);
  PqEncodePlan plan;
  plan.subspaces = M;
  plan.centroids = K;
  plan.dsub = dsub;
  plan.neg2c = neg2c.data();
  plan.norms = norms.data();
  plan.iota = iota.data();

  const PqEncodeFn fn = active_kernels().pq_encode;
  const int64_t out_bytes = code_bytes(M, K);
  // Pieces of about 2^22 multiply-adds (at least 64 rows, so a SIMD kernel has whole blocks).
  const double per_row = static_cast<double>(M * K * dsub);
  parallel_for(split_work(rows.rows, per_row, 1 << 22, threads, 64), [&](int64_t, int64_t b, int64_t e) {
    uint8_t* codes = out + b * out_bytes;
    AlignedBuffer<uint8_t> unpacked;
    if (K == 16) codes = unpacked.resize(static_cast<size_t>((e - b) * M));
    const int64_t bad = fn(plan, rows, b, e - b, codes);
    if (bad >= 0) throw std::invalid_argument("rows[" + std::to_string(b + bad) + "] holds a non-finite value");
    if (K == 16)
      for (int64_t r = 0; r < e - b; ++r)
        for (int64_t p = 0; p < M / 2; ++p)
          out[(b + r) * out_bytes + p] = static_cast<uint8_t>(codes[r * M + 2 * p] | (codes[r * M + 2 * p + 1] << 4));
  });
}

void pq_decode(const uint8_t* codes, int64_t n, const float* centroids, int64_t subspaces, int64_t n_centroids,
               int64_t dsub, float* out, int threads) {
  if (n_centroids != 16 && n_centroids != 256)
    throw std::invalid_argument("centroids must have 16 or 256 per subspace, got " + std::to_string(n_centroids));
  const int64_t M = subspaces, K = n_centroids, in_bytes = code_bytes(M, K), dim = M * dsub;
  parallel_for(split_work(n, static_cast<double>(dim), 1 << 16, threads), [&](int64_t, int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const uint8_t* row = codes + r * in_bytes;
      for (int64_t m = 0; m < M; ++m) {
        const int64_t code = K == 256 ? row[m] : (row[m / 2] >> (4 * (m % 2))) & 15;
        std::memcpy(out + r * dim + m * dsub, centroids + (m * K + code) * dsub, static_cast<size_t>(dsub) * 4);
      }
    }
  });
}

Pq4Luts pq4_lut(const RowMatrix& queries, const float* centroids, int64_t subspaces, int64_t dsub) {
  check_centroids(centroids, subspaces, 16, dsub);
  if (queries.dtype != DType::f32) throw std::invalid_argument("queries must be float32");
  if (queries.cols != subspaces * dsub)
    throw std::invalid_argument("queries have dimension " + std::to_string(queries.cols) + " but the centroids code " +
                                std::to_string(subspaces) + " x " + std::to_string(dsub) + " = " +
                                std::to_string(subspaces * dsub));
  const int64_t M = subspaces;
  Pq4Luts out;
  out.queries = queries.rows;
  out.subspaces = M;
  out.table.resize(static_cast<size_t>(queries.rows * M * 16));
  out.scale.resize(static_cast<size_t>(queries.rows));
  out.bias.resize(static_cast<size_t>(queries.rows));
  std::vector<float> lut(static_cast<size_t>(M * 16)), low(static_cast<size_t>(M));
  for (int64_t q = 0; q < queries.rows; ++q) {
    const unsigned char* row = queries.row(q);
    for (int64_t i = 0; i < M * dsub; ++i)
      if (!std::isfinite(load<float>(row + 4 * i)))
        throw std::invalid_argument("queries[" + std::to_string(q) + "] holds a non-finite value");
    double widest = 0.0, bias = 0.0;
    for (int64_t m = 0; m < M; ++m) {
      float lo = std::numeric_limits<float>::infinity(), hi = -lo;
      for (int64_t c = 0; c < 16; ++c) {
        const float* cen = centroids + (m * 16 + c) * dsub;
        float s = load<float>(row + 4 * m * dsub) * cen[0];
        for (int64_t j = 1; j < dsub; ++j) s = s + load<float>(row + 4 * (m * dsub + j)) * cen[j];
        lut[m * 16 + c] = s;
        lo = std::min(lo, s);
        hi = std::max(hi, s);
      }
      low[m] = lo;
      bias += lo;
      widest = std::max(widest, static_cast<double>(hi) - lo);
    }
    // The smallest float32 scale with 255 * scale >= the widest table row, so no entry clips.
    float scale = static_cast<float>(widest / 255.0);
    if (static_cast<double>(scale) * 255.0 < widest)
      scale = std::nextafter(scale, std::numeric_limits<float>::infinity());
    uint8_t* table = out.table.data() + q * M * 16;
    for (int64_t i = 0; i < M * 16; ++i) {
      const double v = scale > 0 ? std::nearbyint((static_cast<double>(lut[i]) - low[i / 16]) / scale) : 0.0;
      table[i] = static_cast<uint8_t>(std::min(255.0, std::max(0.0, v)));
    }
    out.scale[q] = scale;
    out.bias[q] = static_cast<float>(bias);
  }
  return out;
}

void pq4_block(const uint8_t* codes, int64_t n, int64_t subspaces, uint8_t* blocked) {
  const int64_t pairs = subspaces / 2, blocks = (n + kPq4BlockRows - 1) / kPq4BlockRows;
  std::memset(blocked, 0, static_cast<size_t>(blocks * pairs * kPq4BlockRows));
  for (int64_t r = 0; r < n; ++r) {
    uint8_t* dst = blocked + (r / kPq4BlockRows) * pairs * kPq4BlockRows + r % kPq4BlockRows;
    for (int64_t p = 0; p < pairs; ++p) dst[p * kPq4BlockRows] = codes[r * pairs + p];
  }
}

void pq4_unblock(const uint8_t* blocked, int64_t n, int64_t subspaces, uint8_t* codes) {
  const int64_t pairs = subspaces / 2;
  for (int64_t r = 0; r < n; ++r) {
    const uint8_t* src = blocked + (r / kPq4BlockRows) * pairs * kPq4BlockRows + r % kPq4BlockRows;
    for (int64_t p = 0; p < pairs; ++p) codes[r * pairs + p] = src[p * kPq4BlockRows];
  }
}

}  // namespace muvera_nano
