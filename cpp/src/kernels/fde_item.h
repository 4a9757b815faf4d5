// Internal: the per-item FDE pipeline shared by the scalar reference (isa/scalar.cpp, plain
// loops) and the SIMD kernel (kernels/fde.h, written once over V): encode_item<Ops> with the
// hot loops (pack, sketch, project) from Ops. Everything here lives in an anonymous
// namespace, so each translation unit keeps its own copy (no inline function compiled with
// one ISA's flags can be picked for another's callers).
//
// Ops provides:
//   kLanes                                   tokens per vector (the padding unit)
//   pack(plan, item, n_pad, xt, tau)         xt = tokens transposed (dim x n_pad, zero padded),
//                                            tau = per-token bound factor (token_tau); returns
//                                            the first non-finite row or -1
//   sketch(plan, item, xt, tau, n_pad, pat)  pat[r * n_pad + t] = exact k-bit pattern of token t
//   project_add(plan, item, xt, n_pad, idx, out)
//                                            adds each token's AMS projection (as project_token
//                                            computes it) to block idx[r * n_pad + t] of
//                                            repetition r, tokens in increasing order per block
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "fde_plan.h"
#include "muvera_nano/views.h"
#include "scratch.h"

namespace muvera_nano::kernels {
namespace {

// Per-token factor of the float32 sketch error bound. A dot product of d terms accumulated
// in float32 in any order (with or without FMA) is within gamma_d * sum|x_i g_i| <=
// gamma_d * |x| |g| of the exact value, gamma_d = d u / (1 - d u), u = 2^-24; we use
// 2 d u |x| (d <= 2^22), so |s| > tau * |g| + abs_slack decides the sign. 0 marks an all-zero
// token (its sign bits are all 0); +inf a token so large that float32 could overflow.
inline float token_tau(const FdePlanView& plan, double norm2) {
  if (norm2 == 0.0) return 0.0f;
  const double norm = std::sqrt(norm2);
  if (!(norm <= plan.huge_norm)) return std::numeric_limits<float>::infinity();
  double tau = 2.0 * static_cast<double>(plan.dim) * 0x1p-24 * norm * (1.0 + 0x1p-20);
  if (tau < 0x1p-100) tau = 0x1p-100;  // covers flushed or subnormal products
  return static_cast<float>(tau);
}

// Resolves a token/column pair the float32 bound could not decide.
inline bool resolve_bit(const FdePlanView& plan, const RowMatrix& item, const float* tau, int64_t t, int64_t col) {
  if (tau[t] == 0.0f) return false;
  return fde_exact_positive(plan, item.row(t), col);
}

// Partition index from the pattern (bit k-1-j = bit j of the sketch): Google's Gray-code
// fold, idx = prefix XOR of the bits from the most significant one.
inline uint32_t gray_decode(uint32_t x) {
  x ^= x >> 1;
  x ^= x >> 2;
  x ^= x >> 4;
  x ^= x >> 8;
  x ^= x >> 16;
  return x;
}

inline int popcount32(uint32_t x) { return __builtin_popcount(x); }

// The token whose pattern is nearest to block b's (ties: lowest index).
inline int64_t nearest_token(const uint32_t* pat, int64_t n, uint32_t block) {
  const uint32_t target = block ^ (block >> 1);
  int64_t best = 0;
  int best_dist = 64;
  for (int64_t t = 0; t < n; ++t) {
    const int dist = popcount32(pat[t] ^ target);
    if (dist < best_dist) {
      best_dist = dist;
      best = t;
      if (dist <= 1) break;  // an empty block has no token at distance 0
    }
  }
  return best;
}

inline void add_row(float* dst, const unsigned char* src, int64_t p) {
  for (int64_t c = 0; c < p; ++c) dst[c] += load<float>(src + 4 * c);
}

inline void copy_row(float* dst, const unsigned char* src, int64_t p) {
  std::memcpy(dst, src, static_cast<size_t>(p) * 4);
}

inline void divide_row(float* dst, int64_t p, float count) {
  for (int64_t c = 0; c < p; ++c) dst[c] = dst[c] / count;
}

// The AMS projection of one token for repetition r, in the order every kernel uses: per
// output column, acc = 0, then acc + sign * x[i] over its coordinates in increasing order.
inline void project_token(const FdePlanView& plan, int64_t r, const unsigned char* row, float* dst) {
  const int64_t d = plan.dim, p = plan.proj;
  const int32_t* coord = plan.ams_coord + r * d;
  const float* sign = plan.ams_sign + r * d;
  const int32_t* start = plan.ams_start + r * (p + 1);
  for (int64_t c = 0; c < p; ++c) {
    float acc = 0.0f;
    for (int32_t m = start[c]; m < start[c + 1]; ++m) acc = acc + sign[m] * load<float>(row + 4 * coord[m]);
    dst[c] = acc;
  }
}

template <class Ops>
int64_t encode_item(const FdePlanView& plan, const RowMatrix& item, bool document, bool fill, float* out) {
  const int64_t n = item.rows, p = plan.proj, blocks = plan.blocks, reps = plan.reps;
  std::memset(out, 0, static_cast<size_t>(plan.fde_dim) * 4);
  if (n == 0) return -1;
  const int64_t n_pad = (n + Ops::kLanes - 1) / Ops::kLanes * Ops::kLanes;
  float* xt = scratch_as<float>(kFdeXt, plan.dim * n_pad);
  float* tau = scratch_as<float>(kFdeTau, n_pad);
  const int64_t bad = Ops::pack(plan, item, n_pad, xt, tau);
  if (bad >= 0) return bad;

  uint32_t* pat = scratch_as<uint32_t>(kFdePattern, reps * n_pad);
  std::memset(pat, 0, static_cast<size_t>(reps * n_pad) * 4);
  if (plan.bits > 0) Ops::sketch(plan, item, xt, tau, n_pad, pat);

  // Partition of every token in every repetition, and the block sizes.
  uint32_t* idx = scratch_as<uint32_t>(kFdeIndex, reps * n_pad);
  for (int64_t i = 0; i < reps * n_pad; ++i) idx[i] = gray_decode(pat[i]);
  int32_t* counts = scratch_as<int32_t>(kFdeCounts, reps * blocks);
  std::memset(counts, 0, static_cast<size_t>(reps * blocks) * 4);
  for (int64_t r = 0; r < reps; ++r)
    for (int64_t t = 0; t < n; ++t) ++counts[r * blocks + idx[r * n_pad + t]];

  // Block sums, each block in token order.
  if (plan.identity) {
    for (int64_t r = 0; r < reps; ++r) {
      float* o = out + r * blocks * p;
      for (int64_t t = 0; t < n; ++t) add_row(o + idx[r * n_pad + t] * p, item.row(t), p);
    }
  } else {
    Ops::project_add(plan, item, xt, n_pad, idx, out);
  }
  if (!document) return -1;

  float* y = scratch_as<float>(kFdeProjected, p);
  for (int64_t r = 0; r < reps; ++r) {
    float* o = out + r * blocks * p;
    const int32_t* cnt = counts + r * blocks;
    for (int64_t b = 0; b < blocks; ++b) {
      if (cnt[b] > 1) {
        divide_row(o + b * p, p, static_cast<float>(cnt[b]));
      } else if (cnt[b] == 0 && fill && plan.bits > 0) {
        const unsigned char* row = item.row(nearest_token(pat + r * n_pad, n, static_cast<uint32_t>(b)));
        if (plan.identity) {
          copy_row(o + b * p, row, p);
        } else {
          project_token(plan, r, row, y);
          std::memcpy(o + b * p, y, static_cast<size_t>(p) * 4);
        }
      }
    }
  }
  return -1;
}

}  // namespace
}  // namespace muvera_nano::kernels
