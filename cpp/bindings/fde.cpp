// Bindings for MUVERA FDE: plans (random state in kernel form), encoding and Google's random
// state (the random-stream test hooks are in testing.cpp).
#include "muvera_nano/fde.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <memory>
#include <string>

#include "arrays.h"
#include "muvera_nano/maxsim.h"
#include "stores.h"

namespace muvera_nano::bindings {
namespace {

using PlanPtr = std::shared_ptr<const FdePlan>;

struct PyFdePlan {
  PlanPtr plan;
};

template <class T>
const T* state_array(py::handle obj, const char* name, int64_t rows, int64_t cols, const char* dtype) {
  if (obj.is_none()) return nullptr;
  if (!py::isinstance<py::array_t<T, py::array::c_style>>(obj))
    throw py::type_error(std::string(name) + " must be a C-contiguous " + dtype + " array, got " + describe(obj));
  auto a = py::reinterpret_borrow<py::array_t<T, py::array::c_style>>(obj);
  const bool ok =
      (rows < 0) ? (a.ndim() == 1 && a.shape(0) == cols) : (a.ndim() == 2 && a.shape(0) == rows && a.shape(1) == cols);
  if (!ok)
    throw py::value_error(std::string(name) + " must have shape " +
                          (rows < 0 ? "(" + std::to_string(cols) + ",)"
                                    : "(" + std::to_string(rows) + ", " + std::to_string(cols) + ")") +
                          ", got " + describe(obj));
  return a.data();
}

PyFdePlan make_plan(int64_t dim, int64_t repetitions, int64_t simhash_bits, int64_t projection_dim, py::handle simhash,
                    py::handle ams_column, py::handle ams_sign, int64_t final_dim, py::handle final_index,
                    py::handle final_sign) {
  if (dim < 1 || repetitions < 1 || simhash_bits < 0 || simhash_bits > 30 || projection_dim < 0 || final_dim < 0)
    throw py::value_error("invalid FDE plan sizes");
  FdeRandomState s;
  s.dim = dim;
  s.repetitions = repetitions;
  s.simhash_bits = simhash_bits;
  s.projection_dim = projection_dim;
  s.final_dim = final_dim;
  s.simhash = state_array<float>(simhash, "simhash", dim, repetitions * simhash_bits, "float32");
  if (projection_dim > 0) {
    s.ams_column = state_array<int32_t>(ams_column, "ams_column", repetitions, dim, "int32");
    s.ams_sign = state_array<float>(ams_sign, "ams_sign", repetitions, dim, "float32");
  }
  if (final_dim > 0) {
    const int64_t p = projection_dim > 0 ? projection_dim : dim;
    const int64_t n = repetitions * (int64_t{1} << simhash_bits) * p;
    s.final_index = state_array<int32_t>(final_index, "final_index", -1, n, "int32");
    s.final_sign = state_array<float>(final_sign, "final_sign", -1, n, "float32");
  }
  try {
    return PyFdePlan{fde_make_plan(s)};
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
}

bool overlaps(const void* a, size_t a_bytes, const void* b, size_t b_bytes) {
  auto pa = reinterpret_cast<uintptr_t>(a), pb = reinterpret_cast<uintptr_t>(b);
  return a_bytes && b_bytes && pa < pb + b_bytes && pb < pa + a_bytes;
}

py::array encode(const PyFdePlan& p, py::handle items_obj, FdeKind kind, bool fill, py::handle out_obj,
                 py::handle threads) {
  const int n_threads = threads_arg(threads);
  const RaggedView& items = ragged_arg(items_obj, "items").view;
  if (items.tokens.dtype != DType::f32)
    throw py::type_error(std::string("items must hold float32 tokens, got ") + dtype_name(items.tokens.dtype));
  const int64_t dim = fde_output_dim(*p.plan);
  if (items.tokens.cols != fde_input_dim(*p.plan))
    throw py::value_error("items.tokens has dimension " + std::to_string(items.tokens.cols) +
                          " but the FDE configuration has dimension " + std::to_string(fde_input_dim(*p.plan)));
  if (kind == FdeKind::query && fill) throw py::value_error("fill_empty applies to documents only, not to queries");

  py::array_t<float> out;
  int64_t row_stride = dim;
  if (out_obj.is_none()) {
    out = py::array_t<float>({items.count, dim});
  } else {
    if (!py::isinstance<py::array_t<float>>(out_obj) || !py::isinstance<py::array>(out_obj) ||
        py::reinterpret_borrow<py::array>(out_obj).dtype().kind() != 'f' ||
        py::reinterpret_borrow<py::array>(out_obj).itemsize() != 4)
      throw py::type_error("out must be a float32 numpy array, got " + describe(out_obj));
    out = py::reinterpret_borrow<py::array_t<float>>(out_obj);
    if (out.ndim() != 2 || out.shape(0) != items.count || out.shape(1) != dim)
      throw py::value_error("out must have shape (" + std::to_string(items.count) + ", " + std::to_string(dim) +
                            "), got " + describe(out_obj));
    if (!out.writeable()) throw py::value_error("out must be writeable");
    if ((dim > 1 && out.strides(1) != 4) || out.strides(0) < 0 || out.strides(0) % 4 != 0 ||
        !(out.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
      throw py::value_error("out must be aligned with contiguous rows (inner stride 4 bytes), got strides (" +
                            std::to_string(out.strides(0)) + ", " +
                            std::to_string(out.ndim() > 1 ? out.strides(1) : 0) + ")");
    row_stride = out.strides(0) / 4;
    const size_t out_bytes = items.count ? static_cast<size_t>((items.count - 1) * out.strides(0) + dim * 4) : 0;
    const size_t tok_bytes =
        items.tokens.rows
            ? static_cast<size_t>((items.tokens.rows - 1) * items.tokens.row_stride + items.tokens.cols * 4)
            : 0;
    if (overlaps(out.data(), out_bytes, items.tokens.data, tok_bytes) ||
        overlaps(out.data(), out_bytes, items.offsets, static_cast<size_t>((items.count + 1) * items.offset_stride)))
      throw py::value_error("out must not share memory with the input tokens or offsets");
  }
  float* dst = out.mutable_data();
  {
    py::gil_scoped_release release;
    fde_encode(*p.plan, items, kind, fill, dst, row_stride, n_threads);
  }
  return out;
}

py::dict google_state(int64_t dim, int64_t repetitions, int64_t simhash_bits, int64_t projection_dim, int64_t final_dim,
                      int64_t seed) {
  if (dim < 1 || dim > (int64_t{1} << 22))
    throw py::value_error("dimension must be in [1, 4194304], got " + std::to_string(dim));
  if (repetitions < 1) throw py::value_error("repetitions must be >= 1, got " + std::to_string(repetitions));
  if (simhash_bits < 0 || simhash_bits > 30)
    throw py::value_error("simhash_bits must be in [0, 30], got " + std::to_string(simhash_bits));
  if (projection_dim < 0 || projection_dim > 0x7fffffff) throw py::value_error("projection_dim out of range");
  if (final_dim < 0 || final_dim > 0x7fffffff) throw py::value_error("final_dimension out of range");
  if (seed < 0 || seed > 0xffffffffLL) throw py::value_error("seed must be in [0, 2^32), got " + std::to_string(seed));
  const int64_t p = projection_dim > 0 ? projection_dim : dim;
  const double fde = static_cast<double>(repetitions) * static_cast<double>(int64_t{1} << simhash_bits) * p;
  if (fde > 2147483647.0) throw py::value_error("the encoding would have more than 2^31 - 1 values");
  py::array_t<float> simhash({dim, repetitions * simhash_bits});
  py::dict d;
  py::array_t<int32_t> ams_column;
  py::array_t<float> ams_sign, final_sign;
  py::array_t<int32_t> final_index;
  if (projection_dim > 0) {
    ams_column = py::array_t<int32_t>({repetitions, dim});
    ams_sign = py::array_t<float>({repetitions, dim});
  }
  if (final_dim > 0) {
    final_index = py::array_t<int32_t>(static_cast<py::ssize_t>(fde));
    final_sign = py::array_t<float>(static_cast<py::ssize_t>(fde));
  }
  float* sh = simhash.mutable_data();
  int32_t* ac = projection_dim > 0 ? ams_column.mutable_data() : nullptr;
  float* as = projection_dim > 0 ? ams_sign.mutable_data() : nullptr;
  int32_t* fi = final_dim > 0 ? final_index.mutable_data() : nullptr;
  float* fs = final_dim > 0 ? final_sign.mutable_data() : nullptr;
  {
    py::gil_scoped_release release;
    fde_google_random_state(dim, repetitions, simhash_bits, projection_dim, final_dim, static_cast<uint32_t>(seed), sh,
                            ac, as, fi, fs);
  }
  d["simhash"] = simhash;
  d["ams_column"] = projection_dim > 0 ? py::object(ams_column) : py::object(py::none());
  d["ams_sign"] = projection_dim > 0 ? py::object(ams_sign) : py::object(py::none());
  d["final_index"] = final_dim > 0 ? py::object(final_index) : py::object(py::none());
  d["final_sign"] = final_dim > 0 ? py::object(final_sign) : py::object(py::none());
  return d;
}

}  // namespace

void register_fde(py::module_& m) {
  py::enum_<FdeKind>(m, "FdeKind", "What an FDE encodes: queries (sums per partition) or documents (averages).")
      .value("query", FdeKind::query)
      .value("document", FdeKind::document);
  py::class_<PyFdePlan>(m, "FdePlan")
      .def_property_readonly("input_dim", [](const PyFdePlan& p) { return fde_input_dim(*p.plan); })
      .def_property_readonly("output_dim", [](const PyFdePlan& p) { return fde_output_dim(*p.plan); });
  m.def("fde_plan", &make_plan, py::arg("dim"), py::arg("repetitions"), py::arg("simhash_bits"),
        py::arg("projection_dim"), py::arg("simhash"), py::arg("ams_column"), py::arg("ams_sign"), py::arg("final_dim"),
        py::arg("final_index"), py::arg("final_sign"));
  m.def("fde_encode", &encode, py::arg("plan"), py::arg("items"), py::arg("kind"), py::arg("fill") = false,
        py::arg("out") = py::none(), py::arg("threads") = py::none());
  m.def("fde_google_state", &google_state, py::arg("dim"), py::arg("repetitions"), py::arg("simhash_bits"),
        py::arg("projection_dim"), py::arg("final_dim"), py::arg("seed"));
}

}  // namespace muvera_nano::bindings
