// Internal: the per-ISA dot-product kernels of the dense scan.
#pragma once

#include <cstdint>

#include "muvera_nano/cpu.h"
#include "muvera_nano/scan.h"

namespace muvera_nano::scan_detail {

// Up to kMaxQueries queries are scored against each row while it is in registers.
constexpr int kMaxQueries = 4;

// out[i * n + (j - begin)] = <q[i], row j> for j in [begin, begin + n), i < nq.
// q holds nq contiguous float32 vectors of rows.cols values.
using DotsFn = void (*)(const float* q, int nq, const RowStore& rows, int64_t begin, int64_t n, float* out);

struct DotsTable {
  DotsFn f32, f16, bf16, i8;
  DotsFn for_dtype(DType t) const {
    switch (t) {
      case DType::f16: return f16;
      case DType::bf16: return bf16;
      case DType::i8: return i8;
      default: return f32;
    }
  }
};

DotsTable scalar_dots();
#if defined(__x86_64__) || defined(_M_X64)
DotsTable avx2_dots();
DotsTable avx512_dots();
#endif
#if defined(__aarch64__)
DotsTable neon_dots();
#endif

const DotsTable& dots_for(Isa isa);

}  // namespace muvera_nano::scan_detail
