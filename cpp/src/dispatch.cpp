#include "dispatch.h"

#include <array>
#include <atomic>
#include <mutex>

namespace muvera_nano {
namespace {

using Fill = void (*)(KernelTable&);

struct Level {
  Isa isa;
  Isa fallback;
  Fill fill;
};

struct Extension {
  Isa isa;
  bool (*present)(const CpuFeatures&);
  Fill fill;
};

constexpr Level kLevels[] = {
    {Isa::scalar, Isa::scalar, fill_scalar},
#if defined(__x86_64__) || defined(_M_X64)
    {Isa::avx2, Isa::scalar, fill_avx2},
    {Isa::avx512, Isa::avx2, fill_avx512},
#endif
#if defined(__aarch64__)
    {Isa::neon, Isa::scalar, fill_neon},
#endif
};

constexpr Extension kExtensions[] = {
#if defined(__x86_64__) || defined(_M_X64)
    {Isa::avx512, [](const CpuFeatures& f) { return f.avx512_bf16; }, fill_avx512_bf16},
    {Isa::avx512, [](const CpuFeatures& f) { return f.avx512_vnni; }, fill_avx512_vnni},
#endif
    {Isa::scalar, nullptr, nullptr},  // keeps the array non-empty on every target
};

// A level's row: its fallback's row, then its own entries, then its extensions. A fill
// function is compiled with its level's flags (it may use them even to store pointers), so
// it runs only on a CPU that has them.
KernelTable build(Isa isa, bool extensions) {
  for (const Level& level : kLevels) {
    if (level.isa != isa) continue;
    KernelTable t = level.fallback == isa ? KernelTable{} : build(level.fallback, extensions);
    if (!isa_supported(isa)) return t;
    level.fill(t);
    for (const Extension& ext : kExtensions)
      if (extensions && ext.fill && ext.isa == isa && ext.present(cpu_features())) ext.fill(t);
    return t;
  }
  return build(Isa::scalar, extensions);  // a level this build has no code for
}

std::atomic<bool> g_extensions{true};

}  // namespace

const KernelTable& kernel_table(Isa isa, bool extensions) {
  static std::array<KernelTable, 2 * kIsaCount> rows;
  static std::array<std::once_flag, 2 * kIsaCount> once;
  const int i = 2 * static_cast<int>(isa) + (extensions ? 1 : 0);
  std::call_once(once[i], [&] { rows[i] = build(isa, extensions); });
  return rows[i];
}

const KernelTable& active_kernels() { return kernel_table(active_isa(), g_extensions.load(std::memory_order_relaxed)); }

void set_extensions_for_testing(bool enabled) { g_extensions.store(enabled, std::memory_order_relaxed); }

}  // namespace muvera_nano
