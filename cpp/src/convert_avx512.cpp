// AVX-512 float32 -> float16, 16 values per instruction, round to nearest even, masked tail.
#include <immintrin.h>

#include "convert_kernels.h"

namespace muvera_nano::convert_detail {
namespace {

void to_half(const unsigned char* src, int64_t n, uint16_t* out) {
  for (int64_t i = 0; i < n; i += 16) {
    const int64_t left = n - i;
    const __mmask16 m = left >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << left) - 1);
    const __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, src + 4 * i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm256_mask_storeu_epi16(out + i, m, h);
  }
}

}  // namespace

ToHalfFn avx512_to_half() { return to_half; }

}  // namespace muvera_nano::convert_detail
