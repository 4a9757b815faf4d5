// Internal: the one kernel table. Each instruction-set level has one row, built once from its
// translation unit (isa/<level>.cpp, compiled with that level's flags only) on top of its
// fallback's row: avx512 <- avx2 <- scalar, neon <- scalar. Features within a level that the
// CPU may lack (AVX512_BF16, AVX512_VNNI) are extensions patched into their level's row when
// CPUID reports them. A new ISA is one file plus one row in dispatch.cpp.
#pragma once

#include <cstdint>

#include "fde_plan.h"
#include "maxsim_query.h"
#include "muvera_nano/cpu.h"
#include "muvera_nano/views.h"
#include "pq_plan.h"

namespace muvera_nano {

// MaxSim of one packed query against one document (the query packed in `layout`).
using MaxSimFn = float (*)(const PackedQuery& q, const RowMatrix& doc);
struct MaxSimKernel {
  MaxSimFn fn = nullptr;
  QueryLayout layout = QueryLayout::f32_lanes;
};

// Dense scan: out[i * n + (j - begin)] = <q[i], row j> for j in [begin, begin + n), i < nq <= 4;
// q holds nq contiguous float32 vectors of rows.cols values.
using DotsFn = void (*)(const float* q, int nq, const RowMatrix& rows, int64_t begin, int64_t n, float* out);

// The FDE of one item (fde_dim floats, before any final projection) into out. Returns -1, or
// the index of the first row holding a non-finite value (out is then undefined).
using FdeEncodeFn = int64_t (*)(const FdePlanView& plan, const RowMatrix& item, bool document, bool fill, float* out);

// n float32 values (unaligned) to n IEEE half bits.
using ToHalfFn = void (*)(const unsigned char* src, int64_t n, uint16_t* out);

// PQ codes of rows [begin, begin + n) (float32), one byte per (row, subspace): codes[r * M + m].
// Returns -1, or the first row (relative to begin) holding a non-finite value (codes are then
// undefined).
using PqEncodeFn = int64_t (*)(const PqEncodePlan& plan, const RowMatrix& rows, int64_t begin, int64_t n,
                               uint8_t* codes);

// 4-bit fast scan: sums[(b * nq + i) * 32 + j] = sum over subspaces m of table_{q0 + i}[m][code]
// for row j of block b, for n_blocks blocks of (M / 2) x 32 bytes at `blocks`, nq <= kPq4MaxQueries.
using Pq4SumsFn = void (*)(const Pq4Tables& t, int64_t q0, int nq, const uint8_t* blocks, int64_t n_blocks,
                           uint32_t* sums);

struct KernelTable {
  MaxSimKernel maxsim[kDTypes];  // by document DType
  DotsFn dots[kDTypes];          // by row DType (none for pq8: the dense scan reads dense rows)
  FdeEncodeFn fde_encode = nullptr;
  ToHalfFn to_half = nullptr;
  PqEncodeFn pq_encode = nullptr;
  Pq4SumsFn pq4_sums = nullptr;
};

// The row of `isa` (a level the CPU lacks gets its fallback's row), with or without the
// extensions this CPU has.
const KernelTable& kernel_table(Isa isa, bool extensions = true);
// The active level's row; with extensions unless a test turned them off.
const KernelTable& active_kernels();
// Tests only: run the active level without its extensions, so a CPU that has AVX512_BF16 /
// AVX512_VNNI still exercises the avx512 level's own bfloat16, int8 and pq8 kernels.
void set_extensions_for_testing(bool enabled);

// Each level's unit fills the entries it implements; the rest stay its fallback's.
void fill_scalar(KernelTable& t);
#if defined(__x86_64__) || defined(_M_X64)
void fill_avx2(KernelTable& t);
void fill_avx512(KernelTable& t);
void fill_avx512_bf16(KernelTable& t);
void fill_avx512_vnni(KernelTable& t);
#endif
#if defined(__aarch64__)
void fill_neon(KernelTable& t);
#endif

}  // namespace muvera_nano
