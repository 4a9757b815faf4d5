// Internal: a 64-byte aligned, growable scratch buffer (kernels reuse one per thread).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>

namespace muvera_nano {

template <class T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t n) { resize(n); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  AlignedBuffer(AlignedBuffer&& o) noexcept : p_(o.p_), n_(o.n_) {
    o.p_ = nullptr;
    o.n_ = 0;
  }
  ~AlignedBuffer() { std::free(p_); }

  // Grows to at least n elements; contents are not preserved.
  T* resize(size_t n) {
    if (n > n_) {
      std::free(p_);
      size_t bytes = ((n * sizeof(T) + 63) / 64) * 64;
      p_ = static_cast<T*>(std::aligned_alloc(64, bytes == 0 ? 64 : bytes));
      if (!p_) {
        n_ = 0;
        throw std::bad_alloc();
      }
      n_ = n;
    }
    return p_;
  }
  T* data() const { return p_; }

 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

}  // namespace muvera_nano
