// Bindings for MaxSim scoring, top-k reranking, int8 quantization and 16-bit conversion.
#include "muvera_nano/maxsim.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <vector>

#include "arrays.h"
#include "muvera_nano/quantize.h"
#include "muvera_nano/topk.h"
#include "stores.h"

namespace muvera_nano::bindings {
namespace {

// Queries as given: one 2-D float32 array, a 3-D batch, or a float32 RaggedStore.
struct Queries {
  std::vector<RowMatrix> views;
  int64_t dim = 0;
  bool single = false;
};

Queries parse_queries(py::handle queries, const char* name) {
  Queries q;
  if (py::isinstance<PyRaggedStore>(queries)) {
    const RaggedView& r = queries.cast<const PyRaggedStore&>().view;
    if (r.tokens.dtype != DType::f32)
      throw py::type_error(std::string(name) + " must hold float32 tokens, got " + dtype_name(r.tokens.dtype));
    q.dim = r.tokens.cols;
    q.views.resize(static_cast<size_t>(r.count));
    for (int64_t i = 0; i < r.count; ++i) q.views[i] = r.item(i);
    return q;
  }
  py::array a =
      require_ndarray(queries, name, "a float32 numpy array (rows, dim) or (queries, rows, dim), or a float32 Ragged");
  q.views = float32_batch(a, name, q.single);
  q.dim = a.shape(a.ndim() - 1);
  return q;
}

void check_dims(const Queries& q, const RaggedView& docs, const char* name) {
  if (q.dim != docs.tokens.cols)
    throw py::value_error(std::string(name) + " has dimension " + std::to_string(q.dim) + " but docs have dimension " +
                          std::to_string(docs.tokens.cols));
}

py::array maxsim(py::handle queries, py::handle docs_obj, py::handle threads) {
  const int n_threads = threads_arg(threads);
  Queries q = parse_queries(queries, "queries");
  const RaggedView& docs = ragged_arg(docs_obj, "docs").view;
  check_dims(q, docs, "queries");
  const int64_t nq = static_cast<int64_t>(q.views.size());
  py::array_t<float> out = result_array<float>(q.single, nq, docs.count);
  float* dst = out.mutable_data();
  {
    py::gil_scoped_release release;
    maxsim_all(q.views.data(), nq, docs, dst, n_threads);
  }
  return out;
}

py::tuple rerank(py::handle queries, py::handle docs_obj, py::handle candidates, py::handle k_obj, py::handle threads) {
  const int n_threads = threads_arg(threads);
  Queries q = parse_queries(queries, "query");
  const RaggedView& docs = ragged_arg(docs_obj, "docs").view;
  check_dims(q, docs, "query");
  const int64_t nq = static_cast<int64_t>(q.views.size());

  py::array cand;
  int64_t n_cols = docs.count;
  if (!candidates.is_none()) {
    cand = int64_ids(candidates, "candidates");
    const py::ssize_t want = q.single ? 1 : 2;
    if (cand.ndim() != want || (!q.single && cand.shape(0) != nq))
      throw py::value_error(std::string("candidates must have shape ") +
                            (q.single ? "(n_candidates,) for one query"
                                      : "(n_queries, n_candidates) = (" + std::to_string(nq) + ", n_candidates)") +
                            ", got " + describe(candidates));
    n_cols = cand.shape(cand.ndim() - 1);
  }
  const int64_t k = k_arg(k_obj, n_cols, true);

  py::array_t<int64_t> ids = result_array<int64_t>(q.single, nq, k);
  py::array_t<float> top = result_array<float>(q.single, nq, k);
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

py::tuple quantize(py::handle rows_obj, py::handle threads) {
  const int n_threads = threads_arg(threads);
  py::array rows = require_ndarray(rows_obj, "rows", "a 2-D float32 numpy array");
  RowMatrix m = float32_matrix(rows, "rows");
  py::array_t<int8_t> q({m.rows, m.cols});
  py::array_t<float> scales(static_cast<py::ssize_t>(m.rows));
  int8_t* qd = q.mutable_data();
  float* sd = scales.mutable_data();
  {
    py::gil_scoped_release release;
    quantize_int8(m, qd, sd, n_threads);
  }
  return py::make_tuple(q, scales);
}

py::array convert(py::handle rows_obj, DType to, py::handle threads) {
  const int n_threads = threads_arg(threads);
  RowMatrix m = float32_matrix(require_ndarray(rows_obj, "rows", "a 2-D float32 numpy array"), "rows");
  if (to != DType::f16 && to != DType::bf16) throw py::value_error("rows convert to float16 or bfloat16 only");
  py::array_t<uint16_t> out({m.rows, m.cols});
  uint16_t* dst = out.mutable_data();
  {
    py::gil_scoped_release release;
    convert_rows(m, to, dst, n_threads);
  }
  return out;
}

}  // namespace

void register_maxsim(py::module_& m) {
  m.def("maxsim", &maxsim, py::arg("queries"), py::arg("docs"), py::arg("threads") = py::none());
  m.def("rerank", &rerank, py::arg("queries"), py::arg("docs"), py::arg("candidates") = py::none(),
        py::arg("k") = py::none(), py::arg("threads") = py::none());
  m.def("quantize_int8", &quantize, py::arg("rows"), py::arg("threads") = py::none());
  m.def("convert_rows", &convert, py::arg("rows"), py::arg("to"), py::arg("threads") = py::none());
}

}  // namespace muvera_nano::bindings
