// Bindings for the dense scan (dot products + top-k over a row matrix).
#include "muvera_nano/scan.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <vector>

#include "arrays.h"
#include "stores.h"

namespace muvera_nano::bindings {
namespace {

struct Queries {
  RowMatrix view;
  bool single = false;
};

Queries parse_queries(py::handle obj) {
  py::array a = require_ndarray(obj, "queries", "a float32 numpy array (dim,) or (n_queries, dim)");
  Queries q;
  if (a.ndim() == 1) {
    // One query: view (dim,) as (1, dim).
    py::array as2d = a.attr("reshape")(1, a.shape(0));
    q.view = float32_matrix(as2d, "queries");
    q.single = true;
  } else {
    q.view = float32_matrix(a, "queries");
  }
  return q;
}

void check_dims(const Queries& q, const RowMatrix& rows) {
  if (q.view.cols != rows.cols)
    throw py::value_error("queries have dimension " + std::to_string(q.view.cols) + " but rows have dimension " +
                          std::to_string(rows.cols));
}

py::array scores(py::handle queries, py::handle rows_obj, py::handle threads) {
  const int n_threads = threads_arg(threads);
  Queries q = parse_queries(queries);
  const RowMatrix& rows = rows_arg(rows_obj, "rows").view;
  check_dims(q, rows);
  py::array_t<float> out = result_array<float>(q.single, q.view.rows, rows.rows);
  float* dst = out.mutable_data();
  {
    py::gil_scoped_release release;
    scan_scores(q.view, rows, dst, n_threads);
  }
  return out;
}

py::tuple topk(py::handle queries, py::handle rows_obj, py::handle k_obj, py::handle exclude, py::handle threads) {
  const int n_threads = threads_arg(threads);
  Queries q = parse_queries(queries);
  const RowMatrix& rows = rows_arg(rows_obj, "rows").view;
  check_dims(q, rows);
  k_arg(k_obj, rows.rows, false);  // type and sign first, before the mask is read
  std::vector<uint64_t> bitmap;
  if (!exclude.is_none()) {
    py::array mask = require_ndarray(exclude, "exclude", "a bool numpy array with one entry per row");
    if (mask.dtype().kind() != 'b')
      throw py::type_error("exclude must be a bool array, got " + describe(exclude) + "; pass exclude.astype(bool)");
    if (mask.ndim() != 1 || mask.shape(0) != rows.rows)
      throw py::value_error("exclude must have shape (" + std::to_string(rows.rows) + ",) (one entry per row), got " +
                            describe(exclude));
    bitmap.assign(static_cast<size_t>((rows.rows + 63) / 64), 0);
    const auto* m = static_cast<const unsigned char*>(mask.data());
    const py::ssize_t stride = mask.strides(0);
    for (int64_t j = 0; j < rows.rows; ++j)
      if (m[j * stride]) bitmap[j >> 6] |= uint64_t{1} << (j & 63);
  }
  // Fewer results when fewer rows are eligible: never padded with ids numpy would read as rows.
  const int64_t kept = k_arg(k_obj, scan_eligible(rows, bitmap.empty() ? nullptr : bitmap.data()), false);
  py::array_t<int64_t> ids = result_array<int64_t>(q.single, q.view.rows, kept);
  py::array_t<float> top = result_array<float>(q.single, q.view.rows, kept);
  int64_t* ids_out = ids.mutable_data();
  float* top_out = top.mutable_data();
  {
    py::gil_scoped_release release;
    scan_topk(q.view, rows, bitmap.empty() ? nullptr : bitmap.data(), kept, ids_out, top_out, n_threads);
  }
  return py::make_tuple(ids, top);
}

}  // namespace

void register_scan(py::module_& m) {
  m.def("dot_scores", &scores, py::arg("queries"), py::arg("rows"), py::arg("threads") = py::none());
  m.def("dot_topk", &topk, py::arg("queries"), py::arg("rows"), py::arg("k"), py::arg("exclude") = py::none(),
        py::arg("threads") = py::none());
}

}  // namespace muvera_nano::bindings
