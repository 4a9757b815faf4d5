#include "arrays.h"

#include <sstream>

namespace muvera_nano::bindings {

namespace {

std::string shape_str(const py::array& a) {
  std::ostringstream s;
  s << "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s << (i ? ", " : "") << a.shape(i);
  if (a.ndim() == 1) s << ",";
  s << ")";
  return s.str();
}

std::string dtype_str(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

bool is_native(const py::dtype& dt) { return dt.byteorder() != '>'; }

bool is_kind(const py::array& a, char kind, py::ssize_t itemsize) {
  py::dtype dt = a.dtype();
  return dt.kind() == kind && dt.itemsize() == itemsize && is_native(dt);
}

[[noreturn]] void type_fail(const char* name, const std::string& expected, py::handle got, const std::string& fix) {
  throw py::type_error(std::string(name) + " must be " + expected + ", got " + describe(got) +
                       (fix.empty() ? "" : "; " + fix));
}

[[noreturn]] void value_fail(const char* name, const std::string& msg) {
  throw py::value_error(std::string(name) + " " + msg);
}

// Row stride in bytes of a 2-D array whose inner dimension must be contiguous.
int64_t row_stride_2d(const py::array& a, const char* name) {
  const py::ssize_t item = a.itemsize();
  if (a.shape(0) == 0) return 0;  // no rows: numpy may report any strides
  if (a.shape(1) > 1 && a.strides(1) != item)
    value_fail(name, "must have contiguous rows (inner stride " + std::to_string(item) + " bytes), got strides (" +
                         std::to_string(a.strides(0)) + ", " + std::to_string(a.strides(1)) +
                         "); pass numpy.ascontiguousarray(" + name + ")");
  if (a.strides(0) < 0 || a.strides(1) < 0)
    value_fail(name, "has negative strides " + std::string("(") + std::to_string(a.strides(0)) + ", " +
                         std::to_string(a.strides(1)) + "); pass numpy.ascontiguousarray(" + name + ")");
  return a.strides(0);
}

}  // namespace

std::string describe(py::handle obj) {
  if (py::isinstance<py::array>(obj)) {
    py::array a = py::reinterpret_borrow<py::array>(obj);
    return dtype_str(a) + " array of shape " + shape_str(a);
  }
  if (obj.is_none()) return "None";
  return py::str(py::type::handle_of(obj).attr("__name__")).cast<std::string>();
}

py::array require_ndarray(py::handle obj, const char* name, const char* expected) {
  if (!py::isinstance<py::array>(obj)) type_fail(name, expected, obj, "convert it with numpy.asarray first");
  return py::reinterpret_borrow<py::array>(obj);
}

namespace {

// A 2-D array of the right element type, viewed in place (rows may be strided, never reversed).
RowMatrix matrix_2d(const py::array& a, const char* name) {
  if (a.ndim() != 2) value_fail(name, "must be 2-D (rows, dim), got shape " + shape_str(a));
  RowMatrix m;
  m.data = static_cast<const unsigned char*>(a.data());
  m.rows = a.shape(0);
  m.cols = a.shape(1);
  m.row_stride = row_stride_2d(a, name);
  return m;
}

}  // namespace

RowMatrix float32_matrix(const py::array& a, const char* name) {
  if (!is_kind(a, 'f', 4))
    type_fail(name, "a float32 array", a, std::string("convert it with ") + name + ".astype(numpy.float32)");
  return matrix_2d(a, name);
}

std::vector<RowMatrix> float32_batch(const py::array& a, const char* name, bool& single) {
  if (!is_kind(a, 'f', 4))
    type_fail(name, "a float32 array", a, std::string("convert it with ") + name + ".astype(numpy.float32)");
  single = a.ndim() == 2;
  if (single) return {float32_matrix(a, name)};
  if (a.ndim() != 3) value_fail(name, "must be 2-D (rows, dim) or 3-D (queries, rows, dim), got shape " + shape_str(a));
  if (a.shape(0) == 0 || a.shape(1) == 0) {
    return std::vector<RowMatrix>(static_cast<size_t>(a.shape(0)),
                                  RowMatrix{static_cast<const unsigned char*>(a.data()), a.shape(1), a.shape(2), 0});
  }
  if (a.strides(0) < 0 || a.strides(1) < 0 || a.strides(2) < 0)
    value_fail(name, "has negative strides; pass numpy.ascontiguousarray(" + std::string(name) + ")");
  if (a.shape(2) > 1 && a.strides(2) != 4)
    value_fail(name, "must have contiguous rows (inner stride 4 bytes), got inner stride " +
                         std::to_string(a.strides(2)) + "; pass numpy.ascontiguousarray(" + name + ")");
  std::vector<RowMatrix> out(static_cast<size_t>(a.shape(0)));
  const auto* base = static_cast<const unsigned char*>(a.data());
  for (py::ssize_t i = 0; i < a.shape(0); ++i)
    out[i] = RowMatrix{base + i * a.strides(0), a.shape(1), a.shape(2), a.strides(1)};
  return out;
}

bool is_uint16(const py::array& a) { return is_kind(a, 'u', 2); }

bool dtype_of(const py::array& a, DType* out) {
  if (is_kind(a, 'f', 4)) *out = DType::f32;
  else if (is_kind(a, 'f', 2)) *out = DType::f16;
  else if (is_kind(a, 'i', 1)) *out = DType::i8;
  else if (a.itemsize() == 2 && py::str(a.dtype().attr("name")).cast<std::string>() == "bfloat16") *out = DType::bf16;
  else return false;
  return true;
}

RowMatrix typed_matrix(py::handle obj, DType dtype, const char* name) {
  py::array a = require_ndarray(obj, name, "a 2-D numpy array");
  bool ok = false;
  switch (dtype) {
    case DType::f32: ok = is_kind(a, 'f', 4); break;
    case DType::f16: ok = is_kind(a, 'f', 2); break;
    case DType::bf16:  // ml_dtypes.bfloat16, or uint16 holding bfloat16 bits
      ok = is_kind(a, 'u', 2) ||
           (a.itemsize() == 2 && py::str(a.dtype().attr("name")).cast<std::string>() == "bfloat16");
      break;
    case DType::i8: ok = is_kind(a, 'i', 1); break;
    case DType::pq8: ok = is_kind(a, 'u', 1); break;
  }
  if (!ok)
    type_fail(name,
              dtype == DType::pq8 ? "a uint8 array of PQ codes" : std::string("a ") + dtype_name(dtype) + " array", a,
              "");
  RowMatrix m = matrix_2d(a, name);
  m.dtype = dtype;
  return m;
}

const unsigned char* row_scales(py::handle obj, DType dtype, int64_t rows, const char* name, int64_t* stride) {
  if (dtype != DType::i8) {
    if (!obj.is_none())
      value_fail(name, std::string("is only used with int8 values, got scales for ") + dtype_name(dtype));
    *stride = 0;
    return nullptr;
  }
  if (obj.is_none())
    type_fail(name, "a float32 array with one scale per row for int8 values", obj,
              "quantize float32 rows with muvera_nano.quantize_int8");
  py::array scales = require_ndarray(obj, name, "a 1-D float32 numpy array");
  if (!is_kind(scales, 'f', 4)) type_fail(name, "a float32 array", scales, "");
  if (scales.ndim() != 1 || scales.shape(0) != rows)
    value_fail(name, "must have shape (" + std::to_string(rows) + ",) (one per row), got " + shape_str(scales));
  if (scales.strides(0) < 0) value_fail(name, "has a negative stride; pass a contiguous copy");
  *stride = scales.strides(0);
  return static_cast<const unsigned char*>(scales.data());
}

RaggedView ragged_view(py::handle tokens_obj, py::handle offsets_obj, py::handle scales_obj, DType dtype,
                       const char* name) {
  const std::string base = name;
  const std::string prefix = base.empty() ? "" : base + ".";
  const std::string tname = prefix + "tokens", oname = prefix + "offsets", sname = prefix + "scales";
  RowMatrix tokens = typed_matrix(tokens_obj, dtype, tname.c_str());

  py::array offsets = require_ndarray(offsets_obj, oname.c_str(), "a 1-D int64 numpy array");
  if (!is_kind(offsets, 'i', 8))
    type_fail(oname.c_str(), "an int64 array", offsets, "convert it with .astype(numpy.int64)");
  if (offsets.ndim() != 1 || offsets.shape(0) < 1)
    value_fail(oname.c_str(), "must be 1-D with n + 1 >= 1 entries, got shape " + shape_str(offsets));
  if (offsets.strides(0) < 0) value_fail(oname.c_str(), "has a negative stride; pass a contiguous copy");

  RaggedView r;
  r.tokens = tokens;
  r.offsets = static_cast<const unsigned char*>(offsets.data());
  r.offset_stride = offsets.strides(0);
  r.count = offsets.shape(0) - 1;
  r.tokens.scales = row_scales(scales_obj, dtype, tokens.rows, sname.c_str(), &r.tokens.scale_stride);
  return r;
}

int64_t k_arg(py::handle k_obj, int64_t available, bool allow_none) {
  if (k_obj.is_none() && allow_none) return available;
  // Any integer (numpy's too, through __index__), never a bool or a float.
  PyObject* index = py::isinstance<py::bool_>(k_obj) ? nullptr : PyNumber_Index(k_obj.ptr());
  if (!index) {
    PyErr_Clear();
    throw py::type_error(std::string("k must be ") + (allow_none ? "None or " : "") + "an int >= 0, got " +
                         describe(k_obj));
  }
  const py::int_ k = py::reinterpret_steal<py::int_>(index);
  // Compared as Python ints: a k beyond int64 (either way) must not overflow a cast.
  if (k < py::int_(0)) throw py::value_error("k must be >= 0, got " + py::str(k).cast<std::string>());
  if (k >= py::int_(available)) return available;
  return k.cast<int64_t>();
}

int threads_arg(py::handle threads) {
  if (threads.is_none()) return 0;
  if (!py::isinstance<py::int_>(threads) || py::isinstance<py::bool_>(threads))
    throw py::type_error("threads must be None or an int >= 1, got " + describe(threads));
  long long n = threads.cast<long long>();
  if (n < 1 || n > 1024) throw py::value_error("threads must be between 1 and 1024, got " + std::to_string(n));
  return static_cast<int>(n);
}

py::array c_array(py::handle obj, const char* name, const py::dtype& dtype, const char* expected) {
  py::array a = require_ndarray(obj, name, expected);
  if (!a.dtype().equal(dtype) || !is_native(a.dtype())) {
    const std::string want = py::str(dtype).cast<std::string>();
    type_fail(name, expected, a, "convert it with .astype(numpy." + want + ")");
  }
  if (!(a.flags() & py::array::c_style) || !(a.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
    value_fail(name, "must be C-contiguous and aligned; pass numpy.ascontiguousarray(" + std::string(name) + ")");
  return a;
}

CentroidsView centroids_view(py::handle obj, const char* name) {
  py::array a = c_array(obj, name, py::dtype::of<float>(), "a float32 numpy array (M, K, dsub)");
  if (a.ndim() != 3 || a.shape(0) < 1 || a.shape(1) < 1 || a.shape(2) < 1)
    value_fail(name, "must be 3-D (subspaces M, centroids K, dsub) with no empty dimension, got shape " + shape_str(a));
  return {static_cast<const float*>(a.data()), a.shape(0), a.shape(1), a.shape(2)};
}

py::array int64_ids(py::handle obj, const char* name) {
  py::array a = require_ndarray(obj, name, "an int64 numpy array of document indices");
  if (!is_kind(a, 'i', 8)) type_fail(name, "an int64 array", a, std::string("convert it with .astype(numpy.int64)"));
  if (!(a.flags() & py::array::c_style) || !(a.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
    value_fail(name, "must be C-contiguous and aligned; pass numpy.ascontiguousarray(" + std::string(name) + ")");
  return a;
}

}  // namespace muvera_nano::bindings
