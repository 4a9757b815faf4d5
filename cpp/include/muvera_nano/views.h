// Plain views over caller-owned memory: pointers, sizes and byte strides. Nothing here
// owns or copies data. Every load goes through load<T>() so unaligned buffers are legal.
#pragma once

#include <cstdint>
#include <cstring>

namespace muvera_nano {

// Element types a row matrix may store. Queries are always f32. pq8 rows are product-quantization
// codes: one byte per subspace, decoded through a codebook (PqCodebookView).
enum class DType : int { f32 = 0, f16 = 1, bf16 = 2, i8 = 3, pq8 = 4 };
constexpr int kDTypes = 5;

// Bytes per stored element (a pq8 element is one subspace's code, not one coordinate).
constexpr int64_t dtype_size(DType t) { return t == DType::f32 ? 4 : (t == DType::f16 || t == DType::bf16 ? 2 : 1); }
const char* dtype_name(DType t);

// always_inline: this header is included by per-ISA translation units, and an out-of-line
// copy compiled with AVX-512 flags must never be the one the linker keeps.
template <class T>
__attribute__((always_inline)) inline T load(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// The codebook of pq8 rows: M subspaces of dsub coordinates, 256 centroids each. A row of M
// codes stands for the concatenation over m of centroids[m][code_m] (M * dsub floats). Both
// tables are followed by at least kPqPadFloats padding values, so a kernel may copy a centroid
// with whole vectors.
constexpr int64_t kPqCentroids = 256, kPqPadFloats = 64;
struct PqCodebookView {
  const float* centroids = nullptr;          // (M, 256, dsub) float32
  const uint16_t* centroids_bf16 = nullptr;  // the same rounded to bfloat16 (nearest even)
  int64_t subspaces = 0, dsub = 0;
};

// rows x cols stored values of type dtype: row r starts at data + r * row_stride bytes and
// its elements are contiguous. int8 rows carry one float32 scale per row (value = scale * q)
// at scales + r * scale_stride. pq8 rows hold codebook->subspaces codes each and stand for
// cols = subspaces * dsub values.
struct RowMatrix {
  const unsigned char* data = nullptr;
  int64_t rows = 0, cols = 0, row_stride = 0;
  DType dtype = DType::f32;
  const unsigned char* scales = nullptr;  // i8 only
  int64_t scale_stride = 0;
  const PqCodebookView* codebook = nullptr;  // pq8 only

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
