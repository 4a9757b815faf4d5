#include "scratch.h"

#include "aligned_buffer.h"

namespace muvera_nano {
namespace {
thread_local AlignedBuffer<unsigned char> tls_scratch[kScratchSlots];
}  // namespace

void* scratch(ScratchSlot slot, int64_t bytes) { return tls_scratch[slot].resize(static_cast<size_t>(bytes)); }

}  // namespace muvera_nano
