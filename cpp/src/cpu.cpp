#include "muvera_nano/cpu.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#define MUVERA_NANO_X86 1
#include <cpuid.h>
#endif

#if defined(__aarch64__)
#define MUVERA_NANO_ARM64 1
#endif

namespace muvera_nano {
namespace {

#if MUVERA_NANO_X86
struct Regs {
  unsigned a = 0, b = 0, c = 0, d = 0;
};

Regs cpuid(unsigned leaf, unsigned sub = 0) {
  Regs r;
  __cpuid_count(leaf, sub, r.a, r.b, r.c, r.d);
  return r;
}

// XGETBV(0): which register states the OS saves on context switch.
unsigned long long xgetbv0() {
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<unsigned long long>(hi) << 32) | lo;
}

CpuFeatures detect() {
  CpuFeatures f;
  Regs r0 = cpuid(0);
  char vendor[13] = {};
  std::memcpy(vendor + 0, &r0.b, 4);
  std::memcpy(vendor + 4, &r0.d, 4);
  std::memcpy(vendor + 8, &r0.c, 4);
  f.vendor = vendor;
  unsigned max_leaf = r0.a;

  Regs ext = cpuid(0x80000000u);
  if (ext.a >= 0x80000004u) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      Regs b = cpuid(0x80000002u + i);
      std::memcpy(brand + 16 * i + 0, &b.a, 4);
      std::memcpy(brand + 16 * i + 4, &b.b, 4);
      std::memcpy(brand + 16 * i + 8, &b.c, 4);
      std::memcpy(brand + 16 * i + 12, &b.d, 4);
    }
    std::string s = brand;
    size_t first = s.find_first_not_of(' ');
    size_t last = s.find_last_not_of(' ');
    f.brand = first == std::string::npos ? "" : s.substr(first, last - first + 1);
  }
  if (max_leaf < 1) return f;

  Regs r1 = cpuid(1);
  bool osxsave = (r1.c >> 27) & 1;
  unsigned long long xcr0 = osxsave ? xgetbv0() : 0;
  bool os_ymm = (xcr0 & 0x6) == 0x6;              // SSE + AVX state
  bool os_zmm = os_ymm && (xcr0 & 0xE0) == 0xE0;  // opmask + ZMM_Hi256 + Hi16_ZMM

  const bool avx = os_ymm && ((r1.c >> 28) & 1);
  f.fma = avx && ((r1.c >> 12) & 1);
  f.f16c = avx && ((r1.c >> 29) & 1);
  if (max_leaf >= 7) {
    Regs r7 = cpuid(7, 0);
    f.avx2 = avx && ((r7.b >> 5) & 1);
    f.avx512f = os_zmm && ((r7.b >> 16) & 1);
    f.avx512dq = f.avx512f && ((r7.b >> 17) & 1);
    f.avx512bw = f.avx512f && ((r7.b >> 30) & 1);
    f.avx512vl = f.avx512f && ((r7.b >> 31) & 1);
    f.avx512_vnni = f.avx512f && ((r7.c >> 11) & 1);
    if (r7.a >= 1) {
      Regs r71 = cpuid(7, 1);
      f.avx512_bf16 = f.avx512f && ((r71.a >> 5) & 1);
    }
  }
  return f;
}
#elif MUVERA_NANO_ARM64
CpuFeatures detect() {
  CpuFeatures f;
  f.vendor = "arm64";
  f.neon = true;  // Advanced SIMD is mandatory on AArch64.
  return f;
}
#else
CpuFeatures detect() {
  CpuFeatures f;
  f.vendor = "unknown";
  return f;
}
#endif

Isa best_isa() {
  auto all = supported_isas();
  return all.front();
}

std::atomic<int> g_active{-1};

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    case Isa::neon: return "neon";
  }
  return "unknown";
}

Isa parse_isa(std::string_view name) {
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512, Isa::neon})
    if (name == isa_name(isa)) return isa;
  throw std::invalid_argument("unknown instruction set '" + std::string(name) +
                              "'; expected one of: scalar, avx2, avx512, neon");
}

bool isa_supported(Isa isa) {
  const CpuFeatures& f = cpu_features();
  switch (isa) {
    case Isa::scalar: return true;
    case Isa::avx2: return f.avx2 && f.fma && f.f16c;
    case Isa::avx512: return f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl && f.avx2 && f.fma && f.f16c;
    case Isa::neon: return f.neon;
  }
  return false;
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::avx512, Isa::avx2, Isa::neon, Isa::scalar})
    if (isa_supported(isa)) out.push_back(isa);
  return out;
}

Isa active_isa() {
  int v = g_active.load(std::memory_order_relaxed);
  if (v < 0) {
    v = static_cast<int>(best_isa());
    int expected = -1;
    g_active.compare_exchange_strong(expected, v);
    v = g_active.load(std::memory_order_relaxed);
  }
  return static_cast<Isa>(v);
}

void set_active_isa(Isa isa) {
  if (!isa_supported(isa))
    throw std::invalid_argument(std::string("this CPU does not support the '") + isa_name(isa) +
                                "' instruction set; supported here: " + [] {
                                  std::string s;
                                  for (Isa i : supported_isas())
                                    s += (s.empty() ? "" : ", ") + std::string(isa_name(i));
                                  return s;
                                }());
  g_active.store(static_cast<int>(isa), std::memory_order_relaxed);
}

void init_isa_from_environment() {
  const char* env = std::getenv("MUVERA_NANO_ISA");
  if (env == nullptr || *env == '\0') {
    active_isa();
    return;
  }
  Isa isa;
  try {
    isa = parse_isa(env);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("MUVERA_NANO_ISA: ") + e.what());
  }
  try {
    set_active_isa(isa);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("MUVERA_NANO_ISA=") + env + ": " + e.what());
  }
}

}  // namespace muvera_nano
