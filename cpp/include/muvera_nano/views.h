// Plain views over caller-owned memory: pointers, sizes and byte strides. Nothing here
// owns or copies data. Every load goes through load<T>() so unaligned buffers are legal.
#pragma once

#include <cstdint>
#include <cstring>

namespace muvera_nano {

// Element types a row matrix may store. Queries are always f32.
enum class DType : int { f32 = 0, f16 = 1, bf16 = 2, i8 = 3 };
constexpr int kDTypes = 4;

constexpr int64_t dtype_size(DType t) { return t == DType::i8 ? 1 : (t == DType::f32 ? 4 : 2); }
const char* dtype_name(DType t);

// always_inline: this header is included by per-ISA translation units, and an out-of-line
// copy compiled with AVX-512 flags must never be the one the linker keeps.
template <class T>
__attribute__((always_inline)) inline T load(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// rows x cols stored values of type dtype: row r starts at data + r * row_stride bytes and
// its elements are contiguous. int8 rows carry one float32 scale per row (value = scale * q)
// at scales + r * scale_stride.
struct RowMatrix {
  const unsigned char* data = nullptr;
  int64_t rows = 0, cols = 0, row_stride = 0;
  DType dtype = DType::f32;
  const unsigned char* scales = nullptr;  // i8 only
  int64_t scale_stride = 0;

  __attribute__((always_inline)) const unsigned char* row(int64_t r) const { return data + r * row_stride; }
  __attribute__((always_inline)) float scale(int64_t r) const { return load<float>(scales + r * scale_stride); }
  // Rows [a, b), with their scales.
  __attribute__((always_inline)) RowMatrix slice(int64_t a, int64_t b) const {
    RowMatrix m = *this;
    m.data = row(a);
    m.rows = b - a;
    if (scales) m.scales = scales + a * scale_stride;
    return m;
  }
};

// A dense float32 matrix (rows x cols, contiguous rows).
__attribute__((always_inline)) inline RowMatrix f32_matrix(const float* data, int64_t rows, int64_t cols) {
  return RowMatrix{reinterpret_cast<const unsigned char*>(data), rows, cols, cols * 4, DType::f32, nullptr, 0};
}

// A ragged set of multi-vectors: item i is token rows [offset(i), offset(i + 1)).
struct RaggedView {
  RowMatrix tokens;
  const unsigned char* offsets = nullptr;  // int64, count + 1 entries
  int64_t offset_stride = 8;
  int64_t count = 0;

  __attribute__((always_inline)) int64_t offset(int64_t i) const { return load<int64_t>(offsets + i * offset_stride); }
  // Item i (offsets not re-checked: see validate_ragged).
  __attribute__((always_inline)) RowMatrix item(int64_t i) const { return tokens.slice(offset(i), offset(i + 1)); }
};

}  // namespace muvera_nano
