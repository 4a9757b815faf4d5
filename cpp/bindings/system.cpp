// Bindings for CPU dispatch and the thread pool.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "arrays.h"
#include "muvera_nano/cpu.h"
#include "muvera_nano/parallel.h"

namespace muvera_nano::bindings {

void register_system(py::module_& m) {
  m.def("isa", [] { return std::string(isa_name(active_isa())); });
  m.def("supported_isas", [] {
    std::vector<std::string> out;
    for (Isa i : supported_isas()) out.emplace_back(isa_name(i));
    return out;
  });
  m.def("cpu_info", [] {
    const CpuFeatures& f = cpu_features();
    py::dict d;
    d["vendor"] = f.vendor;
    d["brand"] = f.brand;
    py::dict flags;
    flags["avx2"] = f.avx2;
    flags["fma"] = f.fma;
    flags["f16c"] = f.f16c;
    flags["avx512f"] = f.avx512f;
    flags["avx512bw"] = f.avx512bw;
    flags["avx512dq"] = f.avx512dq;
    flags["avx512vl"] = f.avx512vl;
    flags["avx512_bf16"] = f.avx512_bf16;
    flags["avx512_vnni"] = f.avx512_vnni;
    flags["neon"] = f.neon;
    d["features"] = flags;
    std::vector<std::string> isas;
    for (Isa i : supported_isas()) isas.emplace_back(isa_name(i));
    d["supported_isas"] = isas;
    d["isa"] = std::string(isa_name(active_isa()));
    return d;
  });
  m.def(
      "set_num_threads",
      [](py::handle n) {
        if (n.is_none()) throw py::type_error("threads must be an int >= 1, got None");
        set_num_threads(threads_arg(n));
      },
      py::arg("n"));
  m.def("get_num_threads", &get_num_threads);
}

}  // namespace muvera_nano::bindings
