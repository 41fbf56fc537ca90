// Outbox: the ordered write queue of one socket, with backpressure.
//
// Bytes go straight to the kernel with uv_try_write; only what the socket cannot take now is
// copied and written asynchronously. While anything is pending, HasBacklog() is true and the
// owner stops reading the peer that feeds this socket; the drained callback tells it to resume.
// Memory per outbox is therefore bounded by what one read of the peer can deliver plus the
// messages pgtenant injects itself.
//
// Thread-safety: loop thread only. Lifetime: the owner keeps the Outbox (and its stream) alive
// until the stream's close callback; libuv cancels pending writes before that callback runs.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace pgtenant::proxy {

class TlsChannel;

class Outbox {
 public:
  // Called when all pending bytes are written (ok) or when a write failed (!ok); `owner` is the
  // stream's `data`.
  using EventFn = void (*)(void* owner, bool ok);

  Outbox() = default;
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // REQUIRES: called once before Send; `stream` outlives this Outbox's pending writes, and its
  // `data` points at the owner whenever `on_event` may run.
  void Init(uv_stream_t* stream, EventFn on_event);

  // Queues `data` after anything already pending. Returns false if the socket is broken (or,
  // with TLS, the session is). With a TLS channel set, `data` is plaintext and is encrypted first.
  bool Send(std::span<const uint8_t> data) { return tls_ == nullptr ? SendRaw(data) : SendEncrypted(data); }
  // Bytes exactly as given (ciphertext of the TLS handshake, or everything without TLS).
  bool SendRaw(std::span<const uint8_t> data);
  bool SendRaw(std::string_view data) {
    return SendRaw(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
  }
  // From now on Send encrypts through `tls` (null: plaintext again). REQUIRES: `tls` is established
  // and outlives this Outbox's use of it.
  void set_tls(TlsChannel* tls) { tls_ = tls; }
  bool Send(std::string_view data) {
    return Send(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
  }

  // Send of one message's pieces, in order: written together (corked, or one TLS record), copied
  // once into the cork rather than first into a buffer of the caller's.
  bool SendPieces(std::span<const std::span<const uint8_t>> pieces);

  // Like Send, for bytes that stay where they are until Uncork (the read buffer being handled):
  // while corked they are remembered, not copied, so a read forwarded whole leaves in one write
  // straight from the buffer it came in.
  bool Forward(std::span<const uint8_t> data);

  // Corking: between Cork and Uncork, Send collects instead of writing, so what one event handler
  // sends goes out in one write (a rewritten Bind and the Execute and Sync after it: one write, not
  // two). The cork is this outbox's own (a session's client and server outboxes may both be corked,
  // and nothing of it stays with a thread when the session moves to another loop). Cork on a corked
  // outbox is a no-op. Uncork writes what was collected and returns false if the socket is broken;
  // it is idempotent, and whoever closes the stream calls it first. HasBacklog does not count
  // collected bytes.
  void Cork();
  bool Uncork();
  // Gives back the cork's copy buffer (an idle connection holds none).
  void ReleaseMemory();

  bool HasBacklog() const { return writing_; }
  size_t backlog_bytes() const { return pending_ ? pending_->in_flight.size() + pending_->queued.size() : 0; }
  bool broken() const { return broken_; }

 private:
  bool SendEncrypted(std::span<const uint8_t> data);
  static void OnWrite(uv_write_t* req, int status) noexcept;
  void StartWrite();

  uv_stream_t* stream_ = nullptr;
  EventFn on_event_ = nullptr;
  TlsChannel* tls_ = nullptr;
  // What the kernel could not take yet: made when a write must wait, freed once all is written, so
  // idle sockets hold no buffer.
  struct Pending {
    uv_write_t req;
    std::string in_flight;  // owned by the pending uv_write until its callback
    std::string queued;     // appended while a write is in flight
  };
  std::unique_ptr<Pending> pending_;
  // The cork: bytes collected by Forward and not copied yet (in the caller's buffer, before those in
  // `cork_`, which is empty while this is not), and the copies of what Send collected (made on first
  // use, kept between reads, given back by ReleaseMemory: every idle client has an outbox).
  // The view is a pointer and a 32-bit length (a view is part of one read buffer): every idle client has an
  // outbox, and this keeps it at 56 bytes.
  std::span<const uint8_t> cork_view() const { return {cork_view_data_, cork_view_size_}; }
  void set_cork_view(std::span<const uint8_t> view) {
    cork_view_data_ = view.data();
    cork_view_size_ = static_cast<uint32_t>(view.size());
  }
  const uint8_t* cork_view_data_ = nullptr;
  std::unique_ptr<std::string> cork_;
  uint32_t cork_view_size_ = 0;
  bool corked_ = false;
  bool cork_copied_ = false;  // `cork_` holds bytes (read without touching it: a client's is cold)
  bool writing_ = false;
  bool broken_ = false;
};

}  // namespace pgtenant::proxy
