// Internal: the random streams of Google's FDE reference, as libstdc++ (GCC >= 11) draws
// them, implemented here so the matrices do not depend on the compiler or standard library.
// fde_random.cpp is compiled with -ffp-contract=off: every float operation rounds as written.
#pragma once

#include <cstdint>

namespace muvera_nano::fde_random {

// std::mt19937.
class Mt19937 {
 public:
  explicit Mt19937(uint32_t seed);
  uint32_t next();

 private:
  uint32_t state_[624];
  int index_;
};

// log(x) rounded correctly to float, for finite x > 0. libstdc++ calls the C library's logf
// here, which is not correctly rounded everywhere (glibc 2.36: one ulp off on 0.02% of the
// floats in (0, 1]); with it, about 0.3% of the SimHash entries of a (128, 20 x 5) state differ
// by 1-2 ulp from this portable result. Partition bits change only for tokens within ~1e-7
// (relative) of a hyperplane, where the references themselves depend on their BLAS.
float log_float(float x);

// std::generate_canonical<float, 24>: one draw, float(u) / 2^32, clamped below 1.
float canonical_float(Mt19937& g);
// std::generate_canonical<double, 53>: two draws, (u0 + u1 * 2^32) / 2^64, clamped below 1.
double canonical_double(Mt19937& g);

// std::normal_distribution<float>(0, 1): Marsaglia's polar method; each accepted pair gives
// y * m first and x * m on the next call.
class NormalFloat {
 public:
  float next(Mt19937& g);

 private:
  float saved_ = 0.0f;
  bool saved_available_ = false;
};

// std::uniform_int_distribution over [0, n), n in [1, 2^32 - 1]: Lemire's method.
uint32_t uniform_below(Mt19937& g, uint32_t n);

// std::bernoulli_distribution(0.5).
bool bernoulli_half(Mt19937& g);

}  // namespace muvera_nano::fde_random
