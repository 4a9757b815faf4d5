// MaxSim driver: packs queries, validates per-document ranges, splits work over the pool,
// and calls the active ISA's pair kernel. Every score is computed by one kernel call, so
// results are independent of the thread count and of how work is split.
#include "muvera_nano/maxsim.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "aligned_buffer.h"
#include "dispatch.h"
#include "muvera_nano/parallel.h"
#include "number_formats.h"

namespace muvera_nano {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "float32";
    case DType::f16: return "float16";
    case DType::bf16: return "bfloat16";
    case DType::i8: return "int8";
    case DType::pq8: return "pq8";
  }
  return "unknown";
}

namespace {

// Multiply-adds per piece of work (~50 us): sizes pieces and runs small calls inline.
constexpr double kPieceWork = 1 << 22;

struct QueryPack {
  AlignedBuffer<float> f32;
  AlignedBuffer<uint16_t> bf16;
  AlignedBuffer<int8_t> i8;
  AlignedBuffer<float> scale;
  AlignedBuffer<int32_t> bias;
  PackedQuery view;
};

// Packs query rows along lanes in the layout the kernel reads, with the value
// transformation the document type implies (see PackedQuery).
void pack_query(const RowMatrix& q, DType doc_type, QueryLayout layout, QueryPack& out) {
  const int64_t rows = q.rows, dim = q.cols;
  const int64_t lanes = (rows + kLaneAlign - 1) / kLaneAlign * kLaneAlign;
  PackedQuery& v = out.view;
  v.rows = rows;
  v.lanes = lanes;
  v.dim = dim;

  std::vector<float> row(static_cast<size_t>(dim));
  auto read_row = [&](int64_t i) { std::memcpy(row.data(), q.row(i), static_cast<size_t>(dim) * 4); };

  if (doc_type == DType::i8) {
    float* scale = out.scale.resize(static_cast<size_t>(lanes));
    std::fill(scale, scale + lanes, 0.0f);
    const int64_t groups = layout == QueryLayout::i8_quads ? (dim + 3) / 4 : dim;
    int8_t* qi = nullptr;
    float* qf = nullptr;
    int32_t* bias = nullptr;
    if (layout == QueryLayout::i8_quads) {
      qi = out.i8.resize(static_cast<size_t>(groups * lanes * 4));
      std::fill(qi, qi + groups * lanes * 4, int8_t{0});
      bias = out.bias.resize(static_cast<size_t>(lanes));
      std::fill(bias, bias + lanes, 0);
    } else {
      qf = out.f32.resize(static_cast<size_t>(dim * lanes));
      std::fill(qf, qf + dim * lanes, 0.0f);
    }
    for (int64_t i = 0; i < rows; ++i) {
      read_row(i);
      float s = int8_scale(row.data(), dim);
      scale[i] = s;
      int32_t sum = 0;
      for (int64_t k = 0; k < dim; ++k) {
        int8_t x = int8_quantize(row[k], s);
        sum += x;
        if (qi) qi[((k / 4) * lanes + i) * 4 + (k & 3)] = x;
        else qf[k * lanes + i] = static_cast<float>(x);
      }
      if (bias) bias[i] = 128 * sum;
    }
    v.lane_scale = scale;
    v.i8 = qi;
    v.f32 = qf;
    v.lane_bias = bias;
    return;
  }

  if (layout == QueryLayout::bf16_pairs) {
    const int64_t pairs = (dim + 1) / 2;
    uint16_t* qb = out.bf16.resize(static_cast<size_t>(pairs * lanes * 2));
    std::fill(qb, qb + pairs * lanes * 2, uint16_t{0});
    for (int64_t i = 0; i < rows; ++i) {
      read_row(i);
      for (int64_t k = 0; k < dim; ++k) qb[((k / 2) * lanes + i) * 2 + (k & 1)] = f32_to_bf16(row[k]);
    }
    v.bf16 = qb;
    return;
  }

  float* qf = out.f32.resize(static_cast<size_t>(dim * lanes));
  std::fill(qf, qf + dim * lanes, 0.0f);
  const bool round_bf16 = doc_type == DType::bf16;
  for (int64_t i = 0; i < rows; ++i) {
    read_row(i);
    for (int64_t k = 0; k < dim; ++k) qf[k * lanes + i] = round_bf16 ? bf16_to_f32(f32_to_bf16(row[k])) : row[k];
  }
  v.f32 = qf;
}

// Document j, its offsets checked again (the caller's array may have changed since validation).
RowMatrix document(const RaggedView& docs, int64_t j) {
  const int64_t a = docs.offset(j), b = docs.offset(j + 1);
  if (a < 0 || b < a || b > docs.tokens.rows)
    throw std::invalid_argument("docs.offsets changed or is invalid at document " + std::to_string(j) + ": rows [" +
                                std::to_string(a) + ", " + std::to_string(b) + ") with " +
                                std::to_string(docs.tokens.rows) + " token rows");
  return docs.tokens.slice(a, b);
}

std::vector<QueryPack> pack_queries(const RowMatrix* queries, int64_t n_queries, const RaggedView& docs,
                                    QueryLayout layout, int threads) {
  for (int64_t i = 0; i < n_queries; ++i)
    if (queries[i].cols != docs.tokens.cols)
      throw std::invalid_argument("query " + std::to_string(i) + " has dimension " + std::to_string(queries[i].cols) +
                                  " but the documents have dimension " + std::to_string(docs.tokens.cols));
  std::vector<QueryPack> packs(static_cast<size_t>(n_queries));
  const double per_query = static_cast<double>(docs.tokens.cols) * (n_queries ? queries[0].rows + 1 : 1);
  parallel_for(split_work(n_queries, per_query, kPieceWork / 8, threads), [&](int64_t, int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) pack_query(queries[i], docs.tokens.dtype, layout, packs[i]);
  });
  return packs;
}

int64_t total_rows(const RowMatrix* queries, int64_t n) {
  int64_t rows = 0;
  for (int64_t i = 0; i < n; ++i) rows += queries[i].rows;
  return rows;
}

}  // namespace

void validate_ragged(const RaggedView& r, const char* what) {
  const std::string prefix = *what ? std::string(what) + "." : std::string();
  if (r.count < 0) throw std::invalid_argument(prefix + "offsets must have at least one entry");
  if (r.offset(0) != 0)
    throw std::invalid_argument(prefix + "offsets must start at 0, got " + std::to_string(r.offset(0)));
  for (int64_t i = 0; i < r.count; ++i) {
    int64_t a = r.offset(i), b = r.offset(i + 1);
    if (b < a)
      throw std::invalid_argument(prefix + "offsets must be non-decreasing; offsets[" + std::to_string(i + 1) + "] = " +
                                  std::to_string(b) + " < offsets[" + std::to_string(i) + "] = " + std::to_string(a));
  }
  const RowMatrix& t = r.tokens;
  if (r.offset(r.count) != t.rows)
    throw std::invalid_argument(prefix + "offsets must end at the number of token rows (" + std::to_string(t.rows) +
                                "), got " + std::to_string(r.offset(r.count)));
  if (t.dtype == DType::i8 && t.scales == nullptr)
    throw std::invalid_argument(prefix + "scales: int8 tokens need a float32 scale per row");
  if (t.dtype == DType::pq8 && (t.codebook == nullptr || t.cols != t.codebook->subspaces * t.codebook->dsub))
    throw std::invalid_argument(prefix + "codebook: pq8 tokens need a codebook coding their dimension");
  if (t.dtype == DType::i8 && t.cols > 65536)
    throw std::invalid_argument(prefix + "tokens: int8 tokens support dimensions up to 65536, got " +
                                std::to_string(t.cols));
}

void maxsim_all(const RowMatrix* queries, int64_t n_queries, const RaggedView& docs, float* scores, int threads) {
  const MaxSimKernel& kernel = active_kernels().maxsim[static_cast<int>(docs.tokens.dtype)];
  std::vector<QueryPack> packs = pack_queries(queries, n_queries, docs, kernel.layout, threads);
  const int64_t n_docs = docs.count;
  if (n_queries == 0 || n_docs == 0) return;

  const double per_doc =
      (static_cast<double>(docs.tokens.rows) / n_docs + 1) * docs.tokens.cols * (total_rows(queries, n_queries) + 1);
  parallel_for(split_work(n_docs, per_doc, kPieceWork, threads), [&](int64_t, int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j) {
      const RowMatrix d = document(docs, j);
      for (int64_t i = 0; i < n_queries; ++i) scores[i * n_docs + j] = kernel.fn(packs[i].view, d);
    }
  });
}

void maxsim_candidates(const RowMatrix* queries, int64_t n_queries, const RaggedView& docs, const int64_t* candidates,
                       int64_t n_candidates, float* scores, int threads) {
  const int64_t n_docs = docs.count;
  std::vector<uint64_t> seen(static_cast<size_t>((n_docs + 63) / 64));
  for (int64_t i = 0; i < n_queries; ++i) {
    const int64_t* row = candidates + i * n_candidates;
    for (int64_t c = 0; c < n_candidates; ++c) {
      int64_t id = row[c];
      if (id < 0 || id >= n_docs)
        throw std::invalid_argument("candidates[" + (n_queries > 1 ? std::to_string(i) + ", " : std::string()) +
                                    std::to_string(c) + "] = " + std::to_string(id) +
                                    " is not a document index in [0, " + std::to_string(n_docs) + ")");
      uint64_t bit = uint64_t{1} << (id & 63);
      if (seen[id >> 6] & bit)
        throw std::invalid_argument("candidates" + (n_queries > 1 ? "[" + std::to_string(i) + "]" : std::string()) +
                                    " lists document " + std::to_string(id) + " more than once");
      seen[id >> 6] |= bit;
    }
    for (int64_t c = 0; c < n_candidates; ++c) seen[row[c] >> 6] = 0;
  }

  const MaxSimKernel& kernel = active_kernels().maxsim[static_cast<int>(docs.tokens.dtype)];
  std::vector<QueryPack> packs = pack_queries(queries, n_queries, docs, kernel.layout, threads);
  const int64_t n_items = n_queries * n_candidates;
  if (n_items == 0) return;

  const double per_item = (static_cast<double>(docs.tokens.rows) / std::max<int64_t>(n_docs, 1) + 1) *
                          docs.tokens.cols * (static_cast<double>(total_rows(queries, n_queries)) / n_queries + 1);
  parallel_for(split_work(n_items, per_item, kPieceWork, threads), [&](int64_t, int64_t b, int64_t e) {
    for (int64_t it = b; it < e; ++it)
      scores[it] = kernel.fn(packs[it / n_candidates].view, document(docs, candidates[it]));
  });
}

}  // namespace muvera_nano
