// The persistent thread pool every heavy call runs on.
#pragma once

#include <cstdint>
#include <type_traits>

namespace muvera_nano {

// Library-wide default for `threads` (starts at the number of online CPUs). n >= 1.
void set_num_threads(int n);
int get_num_threads();
// requested <= 0 means "the library-wide default".
int resolve_threads(int requested);

namespace detail {
using RangeFn = void (*)(void* ctx, int64_t begin, int64_t end);
void parallel_for_impl(int64_t n_items, int64_t grain, int threads, void* ctx, RangeFn fn);
}  // namespace detail

// Calls body(begin, end) over [0, n_items) in pieces of at most `grain` items, on up to
// `threads` threads (the caller is one of them). Which thread runs a piece never changes
// what a piece computes, so results do not depend on `threads`. The first exception
// thrown by any piece is rethrown here after every thread has stopped.
template <class Body>
void parallel_for(int64_t n_items, int64_t grain, int threads, Body&& body) {
  using B = std::remove_reference_t<Body>;
  detail::parallel_for_impl(
      n_items, grain, threads, const_cast<void*>(static_cast<const void*>(&body)),
      [](void* ctx, int64_t b, int64_t e) { (*static_cast<B*>(ctx))(b, e); });
}

}  // namespace muvera_nano
