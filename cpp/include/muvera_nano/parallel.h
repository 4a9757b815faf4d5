// The persistent thread pool every heavy call runs on, and the one rule for cutting a call
// into pieces.
#pragma once

#include <cstdint>
#include <type_traits>

namespace muvera_nano {

// Library-wide default for `threads` (starts at the number of online CPUs). n >= 1.
void set_num_threads(int n);
int get_num_threads();
// requested <= 0 means "the library-wide default".
int resolve_threads(int requested);

// How a call is cut: piece p is items [p * grain, min(items, (p + 1) * grain)), run on up to
// `threads` threads. Pieces never depend on the thread count, so neither do results.
struct Split {
  int64_t items = 0;
  int64_t grain = 1;
  int threads = 1;
  int64_t pieces() const { return items <= 0 ? 0 : (items + grain - 1) / grain; }
};

// Is this worth threads, and how big is a piece? Pieces cost about `piece_cost` (an item
// costs `item_cost`, in the same unit) and hold at least `min_grain` items. Threads run only
// when there are at least two pieces' worth of work, and no more threads than pieces' worth.
// pieces_per_thread > 0 also caps the grain so each thread gets that many pieces (balance
// for pieces of uneven speed). `threads` <= 0 means the library default.
Split split_work(int64_t items, double item_cost, double piece_cost, int threads, int64_t min_grain = 1,
                 int pieces_per_thread = 0);

namespace detail {
using PieceFn = void (*)(void* ctx, int64_t piece, int64_t begin, int64_t end);
void parallel_for_impl(const Split& split, void* ctx, PieceFn fn);
}  // namespace detail

// Calls body(piece, begin, end) for every piece of `split` (the caller is one of the
// threads). Which thread runs a piece never changes what it computes. The first exception
// thrown by any piece is rethrown here after every thread has stopped.
template <class Body>
void parallel_for(const Split& split, Body&& body) {
  using B = std::remove_reference_t<Body>;
  detail::parallel_for_impl(split, const_cast<void*>(static_cast<const void*>(&body)),
                            [](void* ctx, int64_t p, int64_t b, int64_t e) { (*static_cast<B*>(ctx))(p, b, e); });
}

}  // namespace muvera_nano
