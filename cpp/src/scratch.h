// Internal: per-thread scratch memory for kernels (64-byte aligned, grows, never shrinks), one
// buffer per slot. Defined in a baseline translation unit: ISA files must not instantiate
// shared inline code or std containers, whose out-of-line copies the linker could pick for
// baseline callers.
#pragma once

#include <cstdint>

namespace muvera_nano {

enum ScratchSlot : int {
  kMaxSimRows = 0,  // MaxSim: widened / re-encoded document rows
  kMaxSimAcc,       // scalar MaxSim reference: dot products, maxima, integer dots
  kMaxSimMax,
  kMaxSimInt,
  kFdeXt,  // FDE: transposed tokens, bound factors, patterns, partitions, tiles, counts, full output
  kFdeTau,
  kFdePattern,
  kFdeIndex,
  kFdeProjected,
  kFdeTile,
  kFdeCounts,
  kFdeFull,
  kScratchSlots
};

void* scratch(ScratchSlot slot, int64_t bytes);

// always_inline: included by ISA units (see above).
template <class T>
inline __attribute__((always_inline)) T* scratch_as(ScratchSlot slot, int64_t count) {
  return static_cast<T*>(scratch(slot, count * static_cast<int64_t>(sizeof(T))));
}

}  // namespace muvera_nano
