// Bindings for product quantization: encoding and decoding rows, and the 4-bit fast scan (its
// quantized lookup tables, the blocked code layout and the top-k scan). The pq8 codebook and
// PQ-coded Ragged stores are in stores.cpp.
#include "muvera_nano/pq.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <memory>
#include <string>

#include "arrays.h"

namespace muvera_nano::bindings {
namespace {

// Lookup tables of one or more queries; `single` when built from one (D,) query.
struct PyPq4Luts {
  std::shared_ptr<const Pq4Luts> luts;
  bool single = false;
};

// A capsule owning a share of `p`, to keep numpy views of its memory alive.
template <class T>
py::capsule owner_of(const std::shared_ptr<T>& p) {
  auto* share = new std::shared_ptr<T>(p);
  return py::capsule(share, [](void* s) { delete static_cast<std::shared_ptr<T>*>(s); });
}

template <class Fn>
auto value_errors(Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
}

int64_t code_bytes(int64_t subspaces, int64_t k) { return k == 256 ? subspaces : subspaces / 2; }

void check_k(const CentroidsView& c, const char* name) {
  if (c.n_centroids != 16 && c.n_centroids != 256)
    throw py::value_error(std::string(name) + " must have 16 (4-bit codes) or 256 (8-bit codes) centroids per " +
                          "subspace, got " + std::to_string(c.n_centroids));
  if (c.n_centroids == 16 && c.subspaces % 2 != 0)
    throw py::value_error(std::string(name) + ": 4-bit codes pack two subspaces per byte, so the number of " +
                          "subspaces must be even, got " + std::to_string(c.subspaces));
}

py::array encode(py::handle rows_obj, py::handle centroids, py::handle threads) {
  const int n_threads = threads_arg(threads);
  RowMatrix rows = float32_matrix(require_ndarray(rows_obj, "rows", "a 2-D float32 numpy array"), "rows");
  const CentroidsView c = centroids_view(centroids, "centroids");
  check_k(c, "centroids");
  if (rows.cols != c.subspaces * c.dsub)
    throw py::value_error("rows have dimension " + std::to_string(rows.cols) + " but centroids code " +
                          std::to_string(c.subspaces) + " subspaces x " + std::to_string(c.dsub) + " = " +
                          std::to_string(c.subspaces * c.dsub));
  py::array_t<uint8_t> out(
      {static_cast<py::ssize_t>(rows.rows), static_cast<py::ssize_t>(code_bytes(c.subspaces, c.n_centroids))});
  uint8_t* dst = out.mutable_data();
  value_errors([&] {
    py::gil_scoped_release release;
    pq_encode(rows, c.data, c.subspaces, c.n_centroids, c.dsub, dst, n_threads);
  });
  return out;
}

py::array decode(py::handle codes_obj, py::handle centroids, py::handle threads) {
  const int n_threads = threads_arg(threads);
  const CentroidsView c = centroids_view(centroids, "centroids");
  check_k(c, "centroids");
  py::array codes = c_array(codes_obj, "codes", py::dtype::of<uint8_t>(), "a 2-D uint8 numpy array of PQ codes");
  const int64_t width = code_bytes(c.subspaces, c.n_centroids);
  if (codes.ndim() != 2 || codes.shape(1) != width)
    throw py::value_error("codes must have shape (n, " + std::to_string(width) + ") for " +
                          std::to_string(c.subspaces) + " subspaces of " + std::to_string(c.n_centroids) +
                          " centroids, got " + describe(codes));
  const int64_t n = codes.shape(0);
  py::array_t<float> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(c.subspaces * c.dsub)});
  float* dst = out.mutable_data();
  const auto* src = static_cast<const uint8_t*>(codes.data());
  {
    py::gil_scoped_release release;
    pq_decode(src, n, c.data, c.subspaces, c.n_centroids, c.dsub, dst, n_threads);
  }
  return out;
}

PyPq4Luts lut(py::handle queries, py::handle centroids) {
  py::array q = require_ndarray(queries, "queries", "a float32 numpy array (D,) or (n_queries, D)");
  PyPq4Luts out;
  out.single = q.ndim() == 1;
  if (out.single) q = q.attr("reshape")(1, q.shape(0));
  const RowMatrix view = float32_matrix(q, "queries");
  const CentroidsView c = centroids_view(centroids, "centroids");
  if (c.n_centroids != 16)
    throw py::value_error("centroids must have 16 centroids per subspace (4-bit codes), got shape (" +
                          std::to_string(c.subspaces) + ", " + std::to_string(c.n_centroids) + ", " +
                          std::to_string(c.dsub) + ")");
  check_k(c, "centroids");
  if (view.cols != c.subspaces * c.dsub)
    throw py::value_error("queries have dimension " + std::to_string(view.cols) + " but centroids code " +
                          std::to_string(c.subspaces) + " subspaces x " + std::to_string(c.dsub) + " = " +
                          std::to_string(c.subspaces * c.dsub));
  out.luts = value_errors([&] { return std::make_shared<const Pq4Luts>(pq4_lut(view, c.data, c.subspaces, c.dsub)); });
  return out;
}

// The blocked codes (n_blocks, M / 2, 32) of tables with M subspaces.
py::array blocked_arg(py::handle obj, int64_t subspaces) {
  py::array b = c_array(obj, "codes_blocked", py::dtype::of<uint8_t>(),
                        "a uint8 numpy array (n_blocks, M / 2, 32) from pq4_block");
  if (b.ndim() != 3 || b.shape(1) != subspaces / 2 || b.shape(2) != kPq4BlockRows)
    throw py::value_error("codes_blocked must have shape (n_blocks, " + std::to_string(subspaces / 2) + ", 32) for " +
                          std::to_string(subspaces) + " subspaces, got " + describe(b));
  return b;
}

py::tuple topk(const PyPq4Luts& l, py::handle blocked_obj, py::handle ranges_obj, py::handle offsets_obj,
               py::handle k_obj, py::handle threads) {
  const int n_threads = threads_arg(threads);
  const Pq4Luts& luts = *l.luts;
  py::array blocked = blocked_arg(blocked_obj, luts.subspaces);
  py::array ranges = c_array(ranges_obj, "ranges", py::dtype::of<int64_t>(),
                             "an int64 numpy array (n_ranges, 2) of [begin, end) positions");
  if (ranges.ndim() != 2 || ranges.shape(1) != 2)
    throw py::value_error("ranges must have shape (n_ranges, 2), got " + describe(ranges));
  const int64_t n_ranges = ranges.shape(0), nq = luts.queries;
  py::array offsets = c_array(offsets_obj, "range_offsets", py::dtype::of<float>(),
                              "a float32 numpy array (n_ranges,) or (n_queries, n_ranges)");
  int64_t offset_stride = 0;
  if (offsets.ndim() == 1 && offsets.shape(0) == n_ranges) offset_stride = 0;
  else if (offsets.ndim() == 2 && offsets.shape(0) == nq && offsets.shape(1) == n_ranges) offset_stride = n_ranges;
  else
    throw py::value_error("range_offsets must have shape (" + std::to_string(n_ranges) + ",) or (" +
                          std::to_string(nq) + ", " + std::to_string(n_ranges) + "), got " + describe(offsets));
  k_arg(k_obj, 0, false);  // type and sign first, before the ranges are read
  const int64_t n_blocks = blocked.shape(0);
  const auto* r = static_cast<const int64_t*>(ranges.data());
  const int64_t positions = value_errors([&] { return pq4_range_positions(r, n_ranges, n_blocks); });
  const int64_t k = k_arg(k_obj, positions, false);
  py::array_t<int64_t> ids = result_array<int64_t>(l.single, nq, k);
  py::array_t<float> scores = result_array<float>(l.single, nq, k);
  int64_t* ids_out = ids.mutable_data();
  float* scores_out = scores.mutable_data();
  const auto* codes = static_cast<const uint8_t*>(blocked.data());
  const auto* off = static_cast<const float*>(offsets.data());
  value_errors([&] {
    py::gil_scoped_release release;
    pq4_topk(luts, codes, n_blocks, r, n_ranges, off, offset_stride, k, ids_out, scores_out, n_threads);
  });
  return py::make_tuple(ids, scores);
}

py::array block(py::handle codes_obj) {
  py::array codes = c_array(codes_obj, "codes", py::dtype::of<uint8_t>(), "a uint8 numpy array (n, M / 2)");
  if (codes.ndim() != 2 || codes.shape(1) < 1)
    throw py::value_error("codes must have shape (n, M / 2) with M / 2 >= 1, got " + describe(codes));
  const int64_t n = codes.shape(0), pairs = codes.shape(1);
  const int64_t blocks = (n + kPq4BlockRows - 1) / kPq4BlockRows;
  py::array_t<uint8_t> out(
      {static_cast<py::ssize_t>(blocks), static_cast<py::ssize_t>(pairs), static_cast<py::ssize_t>(kPq4BlockRows)});
  uint8_t* dst = out.mutable_data();
  const auto* src = static_cast<const uint8_t*>(codes.data());
  {
    py::gil_scoped_release release;
    pq4_block(src, n, 2 * pairs, dst);
  }
  return out;
}

py::array unblock(py::handle blocked_obj, py::handle n_obj) {
  py::array blocked = c_array(blocked_obj, "codes_blocked", py::dtype::of<uint8_t>(),
                              "a uint8 numpy array (n_blocks, M / 2, 32) from pq4_block");
  if (blocked.ndim() != 3 || blocked.shape(1) < 1 || blocked.shape(2) != kPq4BlockRows)
    throw py::value_error("codes_blocked must have shape (n_blocks, M / 2, 32), got " + describe(blocked));
  if (!py::isinstance<py::int_>(n_obj) || py::isinstance<py::bool_>(n_obj))
    throw py::type_error("n must be an int, got " + describe(n_obj));
  const int64_t n = n_obj.cast<int64_t>(), blocks = blocked.shape(0), pairs = blocked.shape(1);
  if (n < 0 || n > blocks * kPq4BlockRows || n <= (blocks - 1) * kPq4BlockRows)
    throw py::value_error("n must be the number of rows the " + std::to_string(blocks) + " blocks hold, in [" +
                          std::to_string(blocks > 0 ? (blocks - 1) * kPq4BlockRows + 1 : 0) + ", " +
                          std::to_string(blocks * kPq4BlockRows) + "], got " + std::to_string(n));
  py::array_t<uint8_t> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(pairs)});
  uint8_t* dst = out.mutable_data();
  const auto* src = static_cast<const uint8_t*>(blocked.data());
  {
    py::gil_scoped_release release;
    pq4_unblock(src, n, 2 * pairs, dst);
  }
  return out;
}

}  // namespace

void register_pq(py::module_& m) {
  m.def("pq_encode", &encode, py::arg("rows"), py::arg("centroids"), py::arg("threads") = py::none());
  m.def("pq_decode", &decode, py::arg("codes"), py::arg("centroids"), py::arg("threads") = py::none());

  py::class_<PyPq4Luts>(m, "PQ4Luts",
                        "Quantized lookup tables of queries for pq4_topk: table (n_queries, M, 16) uint8, "
                        "scale and bias (n_queries,) float32.")
      .def_property_readonly("table",
                             [](const PyPq4Luts& l) {
                               const Pq4Luts& t = *l.luts;
                               return readonly_array<uint8_t>(t.table.data(), {t.queries, t.subspaces, 16},
                                                              owner_of(l.luts));
                             })
      .def_property_readonly("scale",
                             [](const PyPq4Luts& l) {
                               return readonly_array<float>(l.luts->scale.data(), {l.luts->queries}, owner_of(l.luts));
                             })
      .def_property_readonly("bias",
                             [](const PyPq4Luts& l) {
                               return readonly_array<float>(l.luts->bias.data(), {l.luts->queries}, owner_of(l.luts));
                             })
      .def_property_readonly("n_subspaces", [](const PyPq4Luts& l) { return l.luts->subspaces; })
      .def_property_readonly("single", [](const PyPq4Luts& l) { return l.single; })
      .def("__len__", [](const PyPq4Luts& l) { return l.luts->queries; });

  m.def("pq4_lut", &lut, py::arg("queries"), py::arg("centroids"));
  m.def(
      "pq4_topk",
      [](py::handle luts, py::handle blocked, py::handle ranges, py::handle offsets, py::handle k, py::handle threads) {
        if (!py::isinstance<PyPq4Luts>(luts))
          throw py::type_error("luts must be a muvera_nano.PQ4Luts from pq4_lut, got " + describe(luts));
        return topk(luts.cast<const PyPq4Luts&>(), blocked, ranges, offsets, k, threads);
      },
      py::arg("luts"), py::arg("codes_blocked"), py::arg("ranges"), py::arg("range_offsets"), py::arg("k"),
      py::arg("threads") = py::none());
  m.def("pq4_block", &block, py::arg("codes"));
  m.def("pq4_unblock", &unblock, py::arg("codes_blocked"), py::arg("n"));
}

}  // namespace muvera_nano::bindings
