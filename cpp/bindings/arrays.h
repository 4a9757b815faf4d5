// Argument validation at the Python boundary: one helper per argument kind. Arrays of
// the right dtype and layout are viewed in place; anything else raises TypeError (wrong
// type or dtype) or ValueError (shape, strides, values) naming the argument, what was
// received and how to fix it. Nothing is converted or copied here.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "muvera_nano/views.h"

namespace muvera_nano::bindings {

namespace py = pybind11;

// "float64 array of shape (3, 4)", "list", ...
std::string describe(py::handle obj);

// obj must be a numpy.ndarray (no conversion).
py::array require_ndarray(py::handle obj, const char* name, const char* expected);

// A 2-D float32 matrix whose rows are contiguous (any non-negative row stride).
RowMatrix float32_matrix(const py::array& a, const char* name);

// A 2-D float32 matrix (one item) or a 3-D batch (items, rows, dim) viewed as matrices.
// `single` tells which was given.
std::vector<RowMatrix> float32_batch(const py::array& a, const char* name, bool& single);

// The storage type of a's elements (float32, float16, ml_dtypes bfloat16, int8); false for
// anything else (uint16 bits included: only a declared dtype makes them bfloat16).
bool dtype_of(const py::array& a, DType* out);
bool is_uint16(const py::array& a);

// A 2-D matrix of the given element type (float32, float16, bfloat16 as ml_dtypes or
// uint16 bits, int8) with contiguous rows.
RowMatrix typed_matrix(py::handle obj, DType dtype, const char* name);

// For int8: the float32 scale per row (1-D, `rows` entries; *stride set in bytes). For
// other types scales must be None and nullptr is returned.
const unsigned char* row_scales(py::handle obj, DType dtype, int64_t rows, const char* name, int64_t* stride);

// Token rows (tokens), offsets (int64, n + 1) and for int8 the per-row scales, for the
// declared element type. Offsets *values* are checked by validate_ragged, not here.
RaggedView ragged_view(py::handle tokens, py::handle offsets, py::handle scales, DType dtype, const char* name);

// None -> 0 (library default), else an int >= 1.
int threads_arg(py::handle threads);

// The one rule for k: an int >= 0 (not a bool), or None for "all" where allow_none; the
// result is min(k, available), so results are never padded. Checked before any allocation.
int64_t k_arg(py::handle k, int64_t available, bool allow_none);

// A new result array: (cols,) for a single query, else (rows, cols).
template <class T>
py::array_t<T> result_array(bool single, int64_t rows, int64_t cols) {
  if (single) return py::array_t<T>(static_cast<py::ssize_t>(cols));
  return py::array_t<T>({static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(cols)});
}

// PQ centroids: a C-contiguous float32 array (M, K, dsub), M, K, dsub >= 1 (values not checked).
struct CentroidsView {
  const float* data;
  int64_t subspaces, n_centroids, dsub;
};
CentroidsView centroids_view(py::handle obj, const char* name);

// A C-contiguous array of `dtype` elements with at least `ndim` dimensions, viewed in place
// (`expected` describes it in the TypeError).
py::array c_array(py::handle obj, const char* name, const py::dtype& dtype, const char* expected);

// A read-only numpy view of `data` with the given shape (C order), kept alive by `owner`.
template <class T>
py::array readonly_array(const T* data, std::vector<py::ssize_t> shape, py::handle owner) {
  py::array_t<T> a(shape, data, owner);
  py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return a;
}

// A 1-D or 2-D C-contiguous aligned int64 array (candidate ids).
py::array int64_ids(py::handle obj, const char* name);

}  // namespace muvera_nano::bindings
