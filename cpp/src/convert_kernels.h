// Internal: per-ISA row conversion from float32 to 16-bit formats.
#pragma once

#include <cstdint>

#include "muvera_nano/cpu.h"

namespace muvera_nano::convert_detail {

// n float32 values (unaligned) to n float16 bits.
using ToHalfFn = void (*)(const unsigned char* src, int64_t n, uint16_t* out);

ToHalfFn scalar_to_half();
#if defined(__x86_64__) || defined(_M_X64)
ToHalfFn avx2_to_half();
ToHalfFn avx512_to_half();
#endif

ToHalfFn to_half_for(Isa isa);

}  // namespace muvera_nano::convert_detail
