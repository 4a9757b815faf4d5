// Google's FDE random streams (see fde_random.h) and the random state they make.
// Compiled with -ffp-contract=off so no multiply-add is fused: results are portable.
#include "fde_random.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "muvera_nano/fde.h"

namespace muvera_nano {
namespace fde_random {

Mt19937::Mt19937(uint32_t seed) {
  state_[0] = seed;
  for (uint32_t i = 1; i < 624; ++i) state_[i] = 1812433253u * (state_[i - 1] ^ (state_[i - 1] >> 30)) + i;
  index_ = 624;
}

uint32_t Mt19937::next() {
  if (index_ >= 624) {
    for (int i = 0; i < 624; ++i) {
      uint32_t y = (state_[i] & 0x80000000u) | (state_[(i + 1) % 624] & 0x7fffffffu);
      state_[i] = state_[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
    }
    index_ = 0;
  }
  uint32_t y = state_[index_++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= y >> 18;
  return y;
}

float log_float(float x) {
  // x = m * 2^e with m in [sqrt(1/2), sqrt(2)); log(m) = 2 atanh(s), s = (m - 1) / (m + 1),
  // |s| <= 0.172, summed to 2^-60 in double: far below the float rounding step, so the
  // final rounding is the correct one (checked exhaustively on (0, 1], the range the
  // polar method uses, against an 80-bit logl).
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  int e = 0;
  if (bits < 0x00800000u) {  // subnormal: scale into the normal range
    x *= 8388608.0f;         // 2^23, exact
    std::memcpy(&bits, &x, 4);
    e = -23;
  }
  e += static_cast<int>(bits >> 23) - 127;
  uint32_t mbits = (bits & 0x007fffffu) | 0x3f800000u;
  float mf;
  std::memcpy(&mf, &mbits, 4);
  double m = mf;
  if (m > 1.4142135623730951) {
    m *= 0.5;
    e += 1;
  }
  const double s = (m - 1.0) / (m + 1.0);
  const double s2 = s * s;
  double poly = 1.0 / 27.0;
  for (int k = 25; k >= 1; k -= 2) poly = poly * s2 + 1.0 / k;
  const double log_m = 2.0 * s * poly;
  // ln 2 split so that e * kLn2Hi is exact for |e| < 2^11.
  constexpr double kLn2Hi = 6.93147180369123816490e-01;
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  const double de = e;
  return static_cast<float>(de * kLn2Hi + (de * kLn2Lo + log_m));
}

float canonical_float(Mt19937& g) {
  float sum = static_cast<float>(g.next()) * 1.0f;
  float ret = sum / 4294967296.0f;
  if (ret >= 1.0f) ret = std::nextafter(1.0f, 0.0f);
  return ret;
}

double canonical_double(Mt19937& g) {
  double sum = 0.0;
  sum += static_cast<double>(g.next()) * 1.0;
  sum += static_cast<double>(g.next()) * 4294967296.0;
  double ret = sum / 18446744073709551616.0;
  if (ret >= 1.0) ret = std::nextafter(1.0, 0.0);
  return ret;
}

float NormalFloat::next(Mt19937& g) {
  float ret;
  if (saved_available_) {
    saved_available_ = false;
    ret = saved_;
  } else {
    float x, y, r2;
    do {
      // libstdc++: result_type(2.0) * u - 1.0, the subtraction in double, stored as float.
      x = static_cast<float>(static_cast<double>(2.0f * canonical_float(g)) - 1.0);
      y = static_cast<float>(static_cast<double>(2.0f * canonical_float(g)) - 1.0);
      r2 = x * x + y * y;
    } while (r2 > 1.0f || r2 == 0.0f);
    const float mult = std::sqrt(-2.0f * log_float(r2) / r2);
    saved_ = x * mult;
    saved_available_ = true;
    ret = y * mult;
  }
  return ret * 1.0f + 0.0f;  // * stddev + mean
}

uint32_t uniform_below(Mt19937& g, uint32_t n) {
  uint64_t product = static_cast<uint64_t>(g.next()) * n;
  uint32_t low = static_cast<uint32_t>(product);
  if (low < n) {
    const uint32_t threshold = static_cast<uint32_t>(-n) % n;
    while (low < threshold) {
      product = static_cast<uint64_t>(g.next()) * n;
      low = static_cast<uint32_t>(product);
    }
  }
  return static_cast<uint32_t>(product >> 32);
}

bool bernoulli_half(Mt19937& g) { return canonical_double(g) < 0.5; }

}  // namespace fde_random

using namespace fde_random;

void fde_google_random_state(int64_t dim, int64_t repetitions, int64_t simhash_bits, int64_t projection_dim,
                             int64_t final_dim, uint32_t seed, float* simhash, int32_t* ams_column, float* ams_sign,
                             int32_t* final_index, float* final_sign) {
  if (dim < 1 || repetitions < 1 || simhash_bits < 0 || simhash_bits > 30 || projection_dim < 0 ||
      projection_dim > 0x7fffffff || final_dim < 0 || final_dim > 0x7fffffff)
    throw std::invalid_argument("fde_google_random_state: parameters out of range");
  const int64_t cols = repetitions * simhash_bits;
  for (int64_t r = 0; r < repetitions; ++r) {
    const uint32_t rep_seed = seed + static_cast<uint32_t>(r);  // wraps like Google's uint32 seed
    if (simhash_bits > 0) {
      // Eigen fills the column-major d x k matrix column by column: entry (i, j) is draw j*d + i.
      Mt19937 gen(rep_seed);
      NormalFloat normal;
      for (int64_t j = 0; j < simhash_bits; ++j)
        for (int64_t i = 0; i < dim; ++i) simhash[i * cols + r * simhash_bits + j] = normal.next(gen);
    }
    if (projection_dim > 0) {
      Mt19937 gen(rep_seed);
      for (int64_t i = 0; i < dim; ++i) {
        ams_column[r * dim + i] = static_cast<int32_t>(uniform_below(gen, static_cast<uint32_t>(projection_dim)));
        ams_sign[r * dim + i] = bernoulli_half(gen) ? 1.0f : -1.0f;
      }
    }
  }
  if (final_dim > 0) {
    const int64_t p = projection_dim > 0 ? projection_dim : dim;
    const int64_t fde_dim = repetitions * (int64_t{1} << simhash_bits) * p;
    Mt19937 gen(seed);
    for (int64_t c = 0; c < fde_dim; ++c) {
      final_index[c] = static_cast<int32_t>(uniform_below(gen, static_cast<uint32_t>(final_dim)));
      final_sign[c] = bernoulli_half(gen) ? 1.0f : -1.0f;
    }
  }
}

}  // namespace muvera_nano
