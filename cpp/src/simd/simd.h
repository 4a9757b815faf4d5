// Internal: what every per-ISA vector-operations type (simd/vec_*.h) provides. Kernel bodies
// (kernels/*.h) are templates over such a type V; each ISA's translation unit (isa/*.cpp),
// compiled with that ISA's flags, instantiates them. A vec_*.h holds intrinsics only, never a
// loop over data.
//
// V is declared in an anonymous namespace, so everything instantiated over it has internal
// linkage: an out-of-line copy compiled with one ISA's flags can never be picked by the
// linker for another ISA's (or the baseline's) callers. Helpers shared by kernel bodies that
// do not depend on V are always_inline or in an anonymous namespace for the same reason.
//
//   F, kLanes                       float32 vector and its lane count
//   Mask                            per-lane predicate (compare result)
//   zero, set1, load, loadu,        aligned / unaligned load and store; *_first(p, n) touch only
//   store, storeu, loadu_first,     lanes [0, n), n < kLanes (the rest of a load is zero)
//   store_first
//   add, sub, mul, max, abs, fmadd      fmadd(a, b, c) = a * b + c, one rounding
//   reduce_add(v), reduce_add_first(v, n)
//   nan_mask(v), gt(a, b), mask_or, mask_and, mask_none, bits(mask), any_first(mask, n)
//   select(mask, a, b), eq(a, b)    a in the lanes set in mask, b elsewhere; a == b per lane
//   reduce_min(v)                   the smallest lane (lanes hold no NaN)
//   or_lanes(p, mask, bit)          p[l] |= bit for the lanes set in mask (aligned uint32 p)
//   widen<T>(row, k), widen_first<T>(row, k, n)
//                                   stored values k.. of a row (float32, float16, bfloat16 or
//                                   int8) as exact float32
//   transpose(F r[kLanes])          an in-register kLanes x kLanes transpose
//   Norm2, norm2_add, norm2_store   per-lane sums of squares in float64 (exact products)
//   to_half_store(p, v), to_half_store_first(p, n, v)
//                                   float32 -> IEEE half, round to nearest even
//   prefetch(p)
//   Pq4Codes, Pq4Table, Pq4Acc,     4-bit fast scan of 32 rows per step (kernels/pq4.h):
//   kPq4PairsPerStep, pq4_codes,    the step's code bytes (kPq4PairsPerStep nibble pairs, or
//   pq4_table, pq4_low, pq4_high,   fewer: the rest reads as zero), a pair's table, nibbles,
//   pq4_lookup, pq4_acc_zero,       byte shuffle, 16-bit accumulation of looked-up bytes and
//   pq4_acc_add, pq4_flush          its flush: sums[0, 32) += row sums, in row order
//   blocking constants              kMaxSimWide / kMaxSimNarrow (query vectors, document rows
//                                   per micro-kernel), kScanRows(nq), kFdeTokenVecs, kFdeMaxCols
#pragma once

#define MN_INLINE inline __attribute__((always_inline))
