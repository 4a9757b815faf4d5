// F16C float32 -> float16, 8 values per instruction, round to nearest even.
#include <immintrin.h>

#include "convert_kernels.h"
#include "muvera_nano/views.h"

namespace muvera_nano::convert_detail {
namespace {

void to_half(const unsigned char* src, int64_t n, uint16_t* out) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(reinterpret_cast<const float*>(src + 4 * i)),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
  for (; i < n; ++i) {
    const __m128i h = _mm_cvtps_ph(_mm_set_ss(load<float>(src + 4 * i)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    out[i] = static_cast<uint16_t>(_mm_extract_epi16(h, 0));
  }
}

}  // namespace

ToHalfFn avx2_to_half() { return to_half; }

}  // namespace muvera_nano::convert_detail
