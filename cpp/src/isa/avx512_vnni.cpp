// AVX512_VNNI extension of the avx512 level: MaxSim over int8 documents four coordinates per
// vpdpbusd, with exact integer dots (the query quantized in quads along lanes).
#include "simd/vec_avx512.h"
// (first: the vector header decides how the intrinsics headers are included)
#include "dispatch.h"
#include "kernels/maxsim.h"

namespace muvera_nano {

void fill_avx512_vnni(KernelTable& t) {
  t.maxsim[static_cast<int>(DType::i8)] = {kernels::score_i8_quads<simd::Avx512Vnni>, QueryLayout::i8_quads};
}

}  // namespace muvera_nano
