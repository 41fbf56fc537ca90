// The loop's shared read buffer and the carry-over rule every connection reads with.
//
// libuv reads into one buffer per thread; each connection consumes what it can at once
// (forwarding straight from that buffer) and keeps only the unconsumed tail — an incomplete
// header or a message it must see whole — in its own `carry`. Idle connections hold nothing.
#pragma once

#include <uv.h>

#include <cstdint>
#include <span>
#include <string>

namespace pgtenant::proxy {

inline constexpr size_t kReadBufferSize = 64 * 1024;

// alloc_cb for uv_read_start: hands out the thread's shared buffer.
void AllocSharedReadBuffer(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) noexcept;

// Offers `carry` + `fresh` to `process` (which returns bytes consumed) and keeps the rest in
// `carry`. `fresh` may be empty (re-offer the carry after a pause).
template <typename Process>
void FeedBytes(std::string& carry, std::span<const uint8_t> fresh, Process&& process) {
  if (carry.empty()) {
    if (fresh.empty()) return;
    size_t used = process(fresh);
    if (used < fresh.size()) carry.assign(reinterpret_cast<const char*>(fresh.data()) + used, fresh.size() - used);
    return;
  }
  carry.append(reinterpret_cast<const char*>(fresh.data()), fresh.size());
  // Process from a moved-out copy so that `process` may append to or clear `carry` safely.
  std::string pending;
  pending.swap(carry);
  size_t used = process(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(pending.data()), pending.size()));
  if (used < pending.size()) {
    pending.erase(0, used);
    pending.append(carry);
    carry.swap(pending);
  } else if (carry.empty()) {
    // All taken: the carry keeps its storage (a shared pool's client waits for a connection, its
    // request carried, at nearly every transaction). An idle session gives it back (TrimIdle).
    pending.clear();
    carry.swap(pending);
  }
}

}  // namespace pgtenant::proxy
