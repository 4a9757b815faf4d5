// Bindings for MaxSim scoring, top-k reranking and int8 quantization.
#include "muvera_nano/maxsim.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <vector>

#include "arrays.h"
#include "muvera_nano/quantize.h"
#include "muvera_nano/topk.h"

namespace muvera_nano::bindings {
namespace {

DType dtype_arg(int code) {
  if (code < 0 || code > 3) throw py::value_error("unknown token dtype code " + std::to_string(code));
  return static_cast<DType>(code);
}

// Queries as given: one 2-D array, a 3-D batch, or ragged (tokens + offsets).
struct Queries {
  std::vector<RowMatrix> views;
  int64_t dim = 0;
  bool single = false;
};

Queries parse_queries(py::handle queries, py::handle query_offsets, const char* name) {
  Queries q;
  if (!query_offsets.is_none()) {
    RaggedView r = ragged_view(queries, query_offsets, py::none(), DType::f32, name);
    validate_ragged(r, name);
    q.dim = r.tokens.cols;
    q.views.resize(static_cast<size_t>(r.count));
    for (int64_t i = 0; i < r.count; ++i) q.views[i] = r.item(i);
    return q;
  }
  py::array a = require_ndarray(queries, name, "a float32 numpy array (rows, dim) or (queries, rows, dim)");
  q.views = float32_batch(a, name, q.single);
  q.dim = a.shape(a.ndim() - 1);
  return q;
}

RaggedView docs_view(py::handle tokens, py::handle offsets, py::handle scales, int dtype) {
  return ragged_view(tokens, offsets, scales, dtype_arg(dtype), "docs");
}

void check_dims(const Queries& q, const RaggedView& docs, const char* name) {
  if (q.dim != docs.tokens.cols)
    throw py::value_error(std::string(name) + " has dimension " + std::to_string(q.dim) + " but docs have dimension " +
                          std::to_string(docs.tokens.cols));
}

py::array maxsim(py::handle queries, py::handle query_offsets, py::handle tokens, py::handle offsets,
                 py::handle scales, int dtype, py::handle threads) {
  const int n_threads = threads_arg(threads);
  Queries q = parse_queries(queries, query_offsets, "queries");
  RaggedView docs = docs_view(tokens, offsets, scales, dtype);
  check_dims(q, docs, "queries");
  const int64_t nq = static_cast<int64_t>(q.views.size());
  py::array_t<float> out = q.single ? py::array_t<float>({docs.count}) : py::array_t<float>({nq, docs.count});
  float* dst = out.mutable_data();
  {
    py::gil_scoped_release release;
    maxsim_all(q.views.data(), nq, docs, dst, n_threads);
  }
  return out;
}

py::tuple rerank(py::handle queries, py::handle query_offsets, py::handle tokens, py::handle offsets,
                 py::handle scales, int dtype, py::handle candidates, py::handle k_obj, py::handle threads) {
  const int n_threads = threads_arg(threads);
  Queries q = parse_queries(queries, query_offsets, "query");
  RaggedView docs = docs_view(tokens, offsets, scales, dtype);
  check_dims(q, docs, "query");
  const int64_t nq = static_cast<int64_t>(q.views.size());

  py::array cand;
  int64_t n_cols = docs.count;
  if (!candidates.is_none()) {
    cand = int64_ids(candidates, "candidates");
    const py::ssize_t want = q.single ? 1 : 2;
    if (cand.ndim() != want || (!q.single && cand.shape(0) != nq))
      throw py::value_error(std::string("candidates must have shape ") +
                            (q.single ? "(n_candidates,) for one query" : "(n_queries, n_candidates) = (" +
                                                                              std::to_string(nq) + ", n_candidates)") +
                            ", got " + describe(candidates));
    n_cols = cand.shape(cand.ndim() - 1);
  }
  int64_t k = n_cols;
  if (!k_obj.is_none()) {
    if (!py::isinstance<py::int_>(k_obj) || py::isinstance<py::bool_>(k_obj))
      throw py::type_error("k must be None or an int, got " + describe(k_obj));
    k = k_obj.cast<int64_t>();
    if (k < 0 || k > n_cols)
      throw py::value_error("k must be between 0 and " + std::to_string(n_cols) + " (the number of " +
                            (candidates.is_none() ? "documents" : "candidates") + "), got " + std::to_string(k));
  }

  py::array_t<int64_t> ids = q.single ? py::array_t<int64_t>({k}) : py::array_t<int64_t>({nq, k});
  py::array_t<float> top = q.single ? py::array_t<float>({k}) : py::array_t<float>({nq, k});
  int64_t* ids_out = ids.mutable_data();
  float* top_out = top.mutable_data();
  const int64_t* cand_ptr = candidates.is_none() ? nullptr : static_cast<const int64_t*>(cand.data());
  {
    py::gil_scoped_release release;
    std::vector<float> scores(static_cast<size_t>(nq * n_cols));
    if (cand_ptr) maxsim_candidates(q.views.data(), nq, docs, cand_ptr, n_cols, scores.data(), n_threads);
    else maxsim_all(q.views.data(), nq, docs, scores.data(), n_threads);
    topk_rows(scores.data(), cand_ptr, nq, n_cols, k, ids_out, top_out, n_threads);
  }
  return py::make_tuple(ids, top);
}

void check_ragged(py::handle tokens, py::handle offsets, py::handle scales, int dtype, const std::string& name) {
  RaggedView r = ragged_view(tokens, offsets, scales, dtype_arg(dtype), name.c_str());
  validate_ragged(r, name.c_str());
}

py::tuple quantize(py::handle rows_obj, py::handle threads) {
  const int n_threads = threads_arg(threads);
  py::array rows = require_ndarray(rows_obj, "rows", "a 2-D float32 numpy array");
  RowMatrix m = float32_matrix(rows, "rows");
  py::array_t<int8_t> q({m.rows, m.cols});
  py::array_t<float> scales({m.rows});
  int8_t* qd = q.mutable_data();
  float* sd = scales.mutable_data();
  {
    py::gil_scoped_release release;
    quantize_int8(m, qd, sd, n_threads);
  }
  return py::make_tuple(q, scales);
}

py::array convert(py::handle rows_obj, int to, py::handle threads) {
  const int n_threads = threads_arg(threads);
  RowMatrix m = float32_matrix(require_ndarray(rows_obj, "rows", "a 2-D float32 numpy array"), "rows");
  const DType t = dtype_arg(to);
  if (t != DType::f16 && t != DType::bf16) throw py::value_error("rows convert to float16 or bfloat16 only");
  py::array_t<uint16_t> out({m.rows, m.cols});
  uint16_t* dst = out.mutable_data();
  {
    py::gil_scoped_release release;
    convert_rows(m, t, dst, n_threads);
  }
  return out;
}

}  // namespace

void register_maxsim(py::module_& m) {
  m.def("check_ragged", &check_ragged, py::arg("tokens"), py::arg("offsets"), py::arg("scales"), py::arg("dtype"),
        py::arg("name"));
  m.def("maxsim", &maxsim, py::arg("queries"), py::arg("query_offsets"), py::arg("tokens"), py::arg("offsets"),
        py::arg("scales"), py::arg("dtype"), py::arg("threads"));
  m.def("rerank", &rerank, py::arg("queries"), py::arg("query_offsets"), py::arg("tokens"), py::arg("offsets"),
        py::arg("scales"), py::arg("dtype"), py::arg("candidates"), py::arg("k"), py::arg("threads"));
  m.def("quantize_int8", &quantize, py::arg("rows"), py::arg("threads"));
  m.def("convert_rows", &convert, py::arg("rows"), py::arg("to"), py::arg("threads"));
}

}  // namespace muvera_nano::bindings
