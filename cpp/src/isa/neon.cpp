// NEON (AArch64) kernels: the bodies of kernels/ over simd::Neon (4 lanes).
#include "simd/vec_neon.h"
// (first: the vector header decides how the intrinsics headers are included)
#include "kernels/table.h"

namespace muvera_nano {

void fill_neon(KernelTable& t) { kernels::fill_simd<simd::Neon>(t); }

}  // namespace muvera_nano
