// AVX-512 (F/BW/DQ/VL) kernels: the bodies of kernels/ over simd::Avx512 (16 lanes).
#include "simd/vec_avx512.h"
// (first: the vector header decides how the intrinsics headers are included)
#include "kernels/table.h"

namespace muvera_nano {

void fill_avx512(KernelTable& t) { kernels::fill_simd<simd::Avx512>(t); }

}  // namespace muvera_nano
