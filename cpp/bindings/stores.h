// The native classes the Python boundary passes instead of loose arrays and dtype codes:
// a typed row matrix (Rows) and a ragged store (RaggedStore). Each holds its numpy arrays
// (so the views stay valid), reads the storage type from the buffer (declared only for
// uint16 arrays holding bfloat16 bits) and is validated once, when it is built.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <memory>

#include "muvera_nano/pq.h"
#include "muvera_nano/views.h"

namespace muvera_nano::bindings {

namespace py = pybind11;

struct PyRows {
  py::array array;
  py::object scales;
  RowMatrix view;
};

// A pq8 codebook: the owned copy (the kernels read it) and a read-only numpy view of it.
struct PyPQCodebook {
  std::shared_ptr<const PqCodebook> codebook;
  py::array centroids;
};

struct PyRaggedStore {
  py::array tokens, offsets;
  py::object scales, codebook;  // codebook: a PyPQCodebook for pq8 tokens, else None
  RaggedView view;
};

// `obj` as a RaggedStore, or a TypeError naming `name` and how to build one.
const PyRaggedStore& ragged_arg(py::handle obj, const char* name);
// `obj` as a PQCodebook, or a TypeError naming `name`.
const PyPQCodebook& codebook_arg(py::handle obj, const char* name);
// `obj` as Rows, or a TypeError naming `name`.
const PyRows& rows_arg(py::handle obj, const char* name);

void register_stores(py::module_& m);

}  // namespace muvera_nano::bindings
