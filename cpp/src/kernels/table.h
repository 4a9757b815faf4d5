// Internal: the kernel-table entries every SIMD level instantiates from the bodies in
// kernels/, for its vector-operations type V. Included only by isa/<level>.cpp.
#pragma once

#include "dispatch.h"
#include "kernels/convert.h"
#include "kernels/dots.h"
#include "kernels/fde.h"
#include "kernels/maxsim.h"
#include "kernels/pq4.h"
#include "kernels/pq_encode.h"

namespace muvera_nano::kernels {
namespace {

template <class V>
void fill_simd(KernelTable& t) {
  constexpr auto kLanes = QueryLayout::f32_lanes;
  t.maxsim[static_cast<int>(DType::f32)] = {score<F32InPlace<V>>, kLanes};
  t.maxsim[static_cast<int>(DType::f16)] = {score<Widened<V, DType::f16>>, kLanes};
  t.maxsim[static_cast<int>(DType::bf16)] = {score<Widened<V, DType::bf16>>, kLanes};
  t.maxsim[static_cast<int>(DType::i8)] = {score<Widened<V, DType::i8>>, kLanes};
  t.maxsim[static_cast<int>(DType::pq8)] = {score_pq8<F32InPlace<V>, float>, kLanes};
  t.dots[static_cast<int>(DType::f32)] = dots<V, DType::f32>;
  t.dots[static_cast<int>(DType::f16)] = dots<V, DType::f16>;
  t.dots[static_cast<int>(DType::bf16)] = dots<V, DType::bf16>;
  t.dots[static_cast<int>(DType::i8)] = dots<V, DType::i8>;
  t.pq4_sums = pq4_sums<V>;
  t.pq_encode = pq_encode<V>;
  t.fde_encode = fde_encode_item<V>;
  t.to_half = to_half<V>;
}

}  // namespace
}  // namespace muvera_nano::kernels
