// muvera_nano._core._testing: hooks for the test suite only (behind muvera_nano._testing),
// kept out of the production surface: forcing an instruction set or its extensions, and the
// FDE random-stream primitives.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <string>

#include "../src/dispatch.h"
#include "../src/fde_random.h"
#include "muvera_nano/cpu.h"

namespace muvera_nano::bindings {

namespace py = pybind11;

namespace {

// `count` values of one primitive stream from mt19937(seed).
py::array random_stream(const std::string& kind, int64_t seed, int64_t count, int64_t n) {
  if (seed < 0 || seed > 0xffffffffLL) throw py::value_error("seed must be in [0, 2^32)");
  if (count < 0) throw py::value_error("count must be >= 0");
  fde_random::Mt19937 g(static_cast<uint32_t>(seed));
  if (kind == "mt19937" || kind == "uniform") {
    if (kind == "uniform" && (n < 1 || n > 0xffffffffLL)) throw py::value_error("n must be in [1, 2^32 - 1]");
    py::array_t<uint32_t> out(static_cast<py::ssize_t>(count));
    uint32_t* o = out.mutable_data();
    for (int64_t i = 0; i < count; ++i)
      o[i] = kind == "mt19937" ? g.next() : fde_random::uniform_below(g, static_cast<uint32_t>(n));
    return out;
  }
  if (kind == "normal" || kind == "canonical_float") {
    py::array_t<float> out(static_cast<py::ssize_t>(count));
    float* o = out.mutable_data();
    fde_random::NormalFloat normal;
    for (int64_t i = 0; i < count; ++i) o[i] = kind == "normal" ? normal.next(g) : fde_random::canonical_float(g);
    return out;
  }
  if (kind == "canonical_double") {
    py::array_t<double> out(static_cast<py::ssize_t>(count));
    double* o = out.mutable_data();
    for (int64_t i = 0; i < count; ++i) o[i] = fde_random::canonical_double(g);
    return out;
  }
  if (kind == "bernoulli") {
    py::array_t<bool> out(static_cast<py::ssize_t>(count));
    bool* o = out.mutable_data();
    for (int64_t i = 0; i < count; ++i) o[i] = fde_random::bernoulli_half(g);
    return out;
  }
  throw py::value_error("unknown stream kind '" + kind + "'");
}

py::array log_float(py::array_t<float, py::array::c_style | py::array::forcecast> x) {
  py::array_t<float> out(static_cast<py::ssize_t>(x.size()));
  const float* in = x.data();
  float* o = out.mutable_data();
  for (py::ssize_t i = 0; i < x.size(); ++i) {
    if (!(in[i] > 0.0f) || !std::isfinite(in[i])) throw py::value_error("log_float needs finite positive values");
    o[i] = fde_random::log_float(in[i]);
  }
  return out;
}

}  // namespace

void register_testing(py::module_& m) {
  py::module_ t = m.def_submodule("_testing", "Test hooks (private; use muvera_nano._testing)");
  t.def("set_isa", [](const std::string& name) { set_active_isa(parse_isa(name)); }, py::arg("name"));
  t.def("set_extensions", &set_extensions_for_testing, py::arg("enabled"));
  t.def("fde_random_stream", &random_stream, py::arg("kind"), py::arg("seed"), py::arg("count"), py::arg("n") = 1);
  t.def("fde_log_float", &log_float, py::arg("x"));
}

}  // namespace muvera_nano::bindings
