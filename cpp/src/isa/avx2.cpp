// AVX2 + FMA + F16C kernels: the bodies of kernels/ over simd::Avx2 (8 lanes). float16 rows
// widen with F16C, bfloat16 by a shift, int8 to exact integer-valued floats (exact integer
// MaxSim dots for dim <= 1040; beyond that float32 rounding may enter).
#include "simd/vec_avx2.h"
// (first: the vector header decides how the intrinsics headers are included)
#include "kernels/table.h"

namespace muvera_nano {

void fill_avx2(KernelTable& t) { kernels::fill_simd<simd::Avx2>(t); }

}  // namespace muvera_nano
