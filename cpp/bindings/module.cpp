// The compiled core, muvera_nano._core: registers each binding family. Importing it applies
// MUVERA_NANO_ISA, so an unknown or unsupported value fails the import with a message.
#include <pybind11/pybind11.h>

#include <stdexcept>

#include "muvera_nano/cpu.h"

namespace py = pybind11;

namespace muvera_nano::bindings {
void register_system(py::module_& m);
void register_stores(py::module_& m);
void register_maxsim(py::module_& m);
void register_scan(py::module_& m);
void register_fde(py::module_& m);
void register_pq(py::module_& m);
void register_testing(py::module_& m);
}  // namespace muvera_nano::bindings

PYBIND11_MODULE(_core, m) {
  m.doc() = "muvera-nano compiled kernels (use the muvera_nano package, not this module directly)";
  try {
    muvera_nano::init_isa_from_environment();
  } catch (const std::invalid_argument& e) {
    throw py::import_error(e.what());
  }
  muvera_nano::bindings::register_system(m);
  muvera_nano::bindings::register_stores(m);
  muvera_nano::bindings::register_maxsim(m);
  muvera_nano::bindings::register_scan(m);
  muvera_nano::bindings::register_fde(m);
  muvera_nano::bindings::register_pq(m);
  muvera_nano::bindings::register_testing(m);
}
