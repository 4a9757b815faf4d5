#include "stores.h"

#include <string>

#include "arrays.h"
#include "muvera_nano/maxsim.h"

namespace muvera_nano::bindings {
namespace {

// The storage type a caller may declare: None, a DType, or its name.
bool declared_dtype(py::handle obj, DType* out) {
  if (obj.is_none()) return false;
  if (py::isinstance<DType>(obj)) {
    *out = obj.cast<DType>();
    return true;
  }
  if (!py::isinstance<py::str>(obj))
    throw py::type_error("dtype must be None, a str or a muvera_nano DType, got " + describe(obj));
  const std::string name = obj.cast<std::string>();
  for (DType t : {DType::f32, DType::f16, DType::bf16, DType::i8, DType::pq8})
    if (name == dtype_name(t)) {
      *out = t;
      return true;
    }
  throw py::value_error("dtype must be one of 'bfloat16', 'float16', 'float32', 'int8', 'pq8', got '" + name + "'");
}

// The storage type of `array`, read from its buffer; `declared` may only confirm it or say
// that uint16 values are bfloat16 bits.
DType storage_type(const py::array& a, py::handle declared, const char* name) {
  DType want = DType::f32;
  const bool has_declared = declared_dtype(declared, &want);
  DType found;
  if (has_declared && want == DType::pq8)
    throw py::type_error(std::string(name) +
                         ": pq8 values are PQ codes, which only a Ragged built with codebook= holds");
  if (!dtype_of(a, &found)) {
    if (is_uint16(a)) {
      if (has_declared && want == DType::bf16) return DType::bf16;
      throw py::type_error(std::string(name) +
                           " is uint16, which is ambiguous: if it holds bfloat16 bits, pass "
                           "dtype='bfloat16'");
    }
    throw py::type_error(std::string(name) + " must be float32, float16, bfloat16 (ml_dtypes) or int8, got " +
                         describe(a) + "; convert with .astype(numpy.float32)" +
                         (a.dtype().kind() == 'u' && a.itemsize() == 1 ? " (uint8 PQ codes need codebook=)" : ""));
  }
  if (has_declared && want != found)
    throw py::type_error(std::string(name) + " holds " + dtype_name(found) + " values but dtype='" + dtype_name(want) +
                         "' was given; convert the array with .astype() instead");
  return found;
}

PyRows make_rows(py::handle rows, py::handle scales, py::handle dtype) {
  py::array a = require_ndarray(rows, "rows", "a 2-D numpy array");
  PyRows r;
  const DType type = storage_type(a, dtype, "rows");
  r.view = typed_matrix(a, type, "rows");
  r.view.scales = row_scales(scales, r.view.dtype, r.view.rows, "scales", &r.view.scale_stride);
  r.array = a;
  r.scales = py::reinterpret_borrow<py::object>(scales);
  return r;
}

// uint8 codes (T, M) of a pq8 codebook with M subspaces, viewed as T rows of M * dsub values.
RaggedView pq8_view(const py::array& codes, py::handle offsets, py::handle scales, py::handle dtype,
                    const PyPQCodebook& cb) {
  DType want = DType::pq8;
  if (declared_dtype(dtype, &want) && want != DType::pq8)
    throw py::type_error(std::string("dtype='") + dtype_name(want) + "' was given with a codebook; PQ codes are pq8");
  if (!scales.is_none()) throw py::value_error("scales is only used with int8 tokens, not with PQ codes");
  RaggedView v = ragged_view(codes, offsets, scales, DType::pq8, "");
  const PqCodebookView& book = cb.codebook->view();
  if (v.tokens.cols != book.subspaces)
    throw py::value_error("tokens must hold one code per subspace of the codebook: shape (n_tokens, " +
                          std::to_string(book.subspaces) + "), got " + describe(codes));
  v.tokens.cols = cb.codebook->dim();
  v.tokens.codebook = &book;
  return v;
}

PyRaggedStore make_ragged(py::handle tokens, py::handle offsets, py::handle scales, py::handle dtype,
                          py::handle codebook) {
  py::array t = require_ndarray(tokens, "tokens", "a 2-D numpy array");
  PyRaggedStore r;
  if (codebook.is_none()) r.view = ragged_view(t, offsets, scales, storage_type(t, dtype, "tokens"), "");
  else r.view = pq8_view(t, offsets, scales, dtype, codebook_arg(codebook, "codebook"));
  try {
    validate_ragged(r.view, "");
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
  r.tokens = t;
  r.offsets = py::reinterpret_borrow<py::array>(offsets);
  r.scales = py::reinterpret_borrow<py::object>(scales);
  r.codebook = py::reinterpret_borrow<py::object>(codebook);
  return r;
}

}  // namespace

const PyRaggedStore& ragged_arg(py::handle obj, const char* name) {
  if (!py::isinstance<PyRaggedStore>(obj))
    throw py::type_error(std::string(name) + " must be a muvera_nano.Ragged, got " + describe(obj) +
                         "; build one with Ragged(tokens, offsets) or Ragged.from_list(arrays)");
  return obj.cast<const PyRaggedStore&>();
}

const PyPQCodebook& codebook_arg(py::handle obj, const char* name) {
  if (!py::isinstance<PyPQCodebook>(obj))
    throw py::type_error(std::string(name) + " must be a muvera_nano.PQCodebook, got " + describe(obj) +
                         "; build one with PQCodebook(centroids)");
  return obj.cast<const PyPQCodebook&>();
}

const PyRows& rows_arg(py::handle obj, const char* name) {
  if (!py::isinstance<PyRows>(obj))
    throw py::type_error(std::string(name) + " must be a muvera_nano._core.Rows, got " + describe(obj));
  return obj.cast<const PyRows&>();
}

void register_stores(py::module_& m) {
  py::enum_<DType>(m, "DType", "Storage type of token or row values.")
      .value("float32", DType::f32)
      .value("float16", DType::f16)
      .value("bfloat16", DType::bf16)
      .value("int8", DType::i8)
      .value("pq8", DType::pq8);

  py::class_<PyPQCodebook>(m, "PQCodebook",
                           "The codebook of pq8 tokens: centroids (M, 256, dsub) float32, copied; a token of M "
                           "uint8 codes stands for the concatenation of centroids[m, code_m].")
      .def(py::init([](py::handle centroids) {
             py::array a = require_ndarray(centroids, "centroids", "a float32 numpy array (M, 256, dsub)");
             const CentroidsView c = centroids_view(a, "centroids");
             if (c.n_centroids != kPqCentroids)
               throw py::value_error("centroids must have 256 centroids per subspace (8-bit codes), got shape " +
                                     describe(a) + "; 4-bit codebooks code FDE rows (pq4_lut, pq_encode)");
             PyPQCodebook cb;
             try {
               cb.codebook = std::make_shared<const PqCodebook>(c.data, c.subspaces, c.dsub);
             } catch (const std::invalid_argument& e) {
               throw py::value_error(e.what());
             }
             // The view keeps the owned copy alive through a capsule holding a share of it.
             auto* share = new std::shared_ptr<const PqCodebook>(cb.codebook);
             py::capsule owner(share, [](void* p) { delete static_cast<std::shared_ptr<const PqCodebook>*>(p); });
             cb.centroids =
                 readonly_array<float>(cb.codebook->view().centroids, {c.subspaces, kPqCentroids, c.dsub}, owner);
             return cb;
           }),
           py::arg("centroids"))
      .def_property_readonly("centroids", [](const PyPQCodebook& c) { return c.centroids; })
      .def_property_readonly("n_subspaces", [](const PyPQCodebook& c) { return c.codebook->view().subspaces; })
      .def_property_readonly("dsub", [](const PyPQCodebook& c) { return c.codebook->view().dsub; })
      .def_property_readonly("dim", [](const PyPQCodebook& c) { return c.codebook->dim(); });

  py::class_<PyRows>(m, "Rows", "A typed row matrix: (n, dim) values with a float32 scale per row for int8.")
      .def(py::init(&make_rows), py::arg("rows"), py::arg("scales") = py::none(), py::kw_only(),
           py::arg("dtype") = py::none())
      .def_property_readonly("array", [](const PyRows& r) { return r.array; })
      .def_property_readonly("scales", [](const PyRows& r) { return r.scales; })
      .def_property_readonly("dtype", [](const PyRows& r) { return std::string(dtype_name(r.view.dtype)); })
      .def_property_readonly("shape", [](const PyRows& r) { return py::make_tuple(r.view.rows, r.view.cols); });

  py::class_<PyRaggedStore>(m, "RaggedStore",
                            "A set of multi-vectors: item i is tokens[offsets[i]:offsets[i + 1]] (the native part "
                            "of muvera_nano.Ragged).")
      .def(py::init(&make_ragged), py::arg("tokens"), py::arg("offsets"), py::arg("scales") = py::none(), py::kw_only(),
           py::arg("dtype") = py::none(), py::arg("codebook") = py::none())
      .def_property_readonly("tokens", [](const PyRaggedStore& r) { return r.tokens; })
      .def_property_readonly("offsets", [](const PyRaggedStore& r) { return r.offsets; })
      .def_property_readonly("scales", [](const PyRaggedStore& r) { return r.scales; })
      .def_property_readonly("codebook", [](const PyRaggedStore& r) { return r.codebook; })
      .def_property_readonly("dtype",
                             [](const PyRaggedStore& r) { return std::string(dtype_name(r.view.tokens.dtype)); })
      .def_property_readonly("dim", [](const PyRaggedStore& r) { return r.view.tokens.cols; })
      .def_property_readonly("n_tokens", [](const PyRaggedStore& r) { return r.view.tokens.rows; })
      .def("__len__", [](const PyRaggedStore& r) { return r.view.count; });
}

}  // namespace muvera_nano::bindings
