// The per-thread read buffer shared by every connection of a loop.
#include "proxy/io/read_buffer.h"

namespace pgtenant::proxy {

void AllocSharedReadBuffer(uv_handle_t*, size_t, uv_buf_t* buf) noexcept {
  thread_local char storage[kReadBufferSize];
  *buf = uv_buf_init(storage, sizeof(storage));
}

}  // namespace pgtenant::proxy
