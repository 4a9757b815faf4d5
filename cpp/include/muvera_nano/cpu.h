// CPU feature detection and the instruction-set level the kernels dispatch on.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace muvera_nano {

// Instruction-set levels, each a complete kernel set. Within a level a kernel may still
// depend on an extension (avx512 uses AVX512_BF16 / AVX512_VNNI kernels where present).
enum class Isa : int { scalar = 0, avx2 = 1, avx512 = 2, neon = 3 };
constexpr int kIsaCount = 4;

struct CpuFeatures {
  std::string vendor;
  std::string brand;
  // x86: each flag is true only when the OS also saves the register state (XGETBV). Only
  // what decides a level or an extension is detected.
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false;
  bool avx512_bf16 = false, avx512_vnni = false;
  bool neon = false;
};

// Detected once, on first use.
const CpuFeatures& cpu_features();

const char* isa_name(Isa isa);
// Throws std::invalid_argument for an unknown name.
Isa parse_isa(std::string_view name);
bool isa_supported(Isa isa);
// Best first.
std::vector<Isa> supported_isas();

// The level kernels use now: the best supported one, or MUVERA_NANO_ISA if set
// (read once; an unknown or unsupported value makes init_isa() throw).
Isa active_isa();
// Throws std::invalid_argument when the CPU lacks `isa`.
void set_active_isa(Isa isa);
// Applies MUVERA_NANO_ISA; called once at module import so a bad value fails the import.
void init_isa_from_environment();

}  // namespace muvera_nano
