// Plain views over caller-owned memory: pointers, sizes and byte strides. Nothing here
// owns or copies data. Every load goes through load<T>() so unaligned buffers are legal.
#pragma once

#include <cstdint>
#include <cstring>

namespace muvera_nano {

// Element types a document token store may hold. Queries are always f32.
enum class DType : int { f32 = 0, f16 = 1, bf16 = 2, i8 = 3 };

inline int64_t dtype_size(DType t) { return t == DType::i8 ? 1 : (t == DType::f32 ? 4 : 2); }
const char* dtype_name(DType t);

// always_inline: this header is included by per-ISA translation units, and an out-of-line
// copy compiled with AVX-512 flags must never be the one the linker keeps.
template <class T>
__attribute__((always_inline)) inline T load(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// A rows × cols matrix of float32; row r starts at data + r * row_stride bytes and its
// elements are contiguous.
struct MatrixView {
  const unsigned char* data = nullptr;
  int64_t rows = 0, cols = 0, row_stride = 0;
};

// A ragged set of multi-vectors: item i is token rows [offset(i), offset(i + 1)).
// int8 stores carry one float32 scale per token row (value = scale * int8).
struct RaggedView {
  const unsigned char* tokens = nullptr;
  int64_t n_tokens = 0, dim = 0, row_stride = 0;
  DType dtype = DType::f32;
  const unsigned char* scales = nullptr;  // i8 only
  int64_t scale_stride = 0;
  const unsigned char* offsets = nullptr;  // int64, count + 1 entries
  int64_t offset_stride = 8;
  int64_t count = 0;

  int64_t offset(int64_t i) const { return load<int64_t>(offsets + i * offset_stride); }
  const unsigned char* row(int64_t t) const { return tokens + t * row_stride; }
};

}  // namespace muvera_nano
