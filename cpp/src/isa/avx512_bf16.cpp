// AVX512_BF16 extension of the avx512 level: MaxSim over bfloat16 documents two coordinates
// per vdpbf16ps (the query rounded to bfloat16 in pairs along lanes).
#include "simd/vec_avx512.h"
// (first: the vector header decides how the intrinsics headers are included)
#include "dispatch.h"
#include "kernels/maxsim.h"

namespace muvera_nano {

void fill_avx512_bf16(KernelTable& t) {
  t.maxsim[static_cast<int>(DType::bf16)] = {kernels::score<kernels::Bf16Pairs<simd::Avx512Bf16>>,
                                             QueryLayout::bf16_pairs};
  t.maxsim[static_cast<int>(DType::pq8)] = {kernels::score_pq8<kernels::Bf16Pairs<simd::Avx512Bf16>, uint16_t>,
                                            QueryLayout::bf16_pairs};
}

}  // namespace muvera_nano
