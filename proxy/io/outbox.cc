// Outbox: try the kernel first, copy only the remainder.
#include "proxy/io/outbox.h"

#include <sys/socket.h>

#include <cerrno>

#include "proxy/io/tls_channel.h"

namespace pgtenant::proxy {

namespace {
// A cork holding this much writes it out and goes on collecting: bulk data is copied once, not held.
constexpr size_t kMaxCork = 64 * 1024;
// What a cork's copy buffer keeps between reads: enough for renamed Binds and pgtenant's own answers
// (no allocation per message), not a bulk read's worth per idle client.
constexpr size_t kKeptCorkCapacity = 4 * 1024;
}  // namespace

void Outbox::Cork() {
  if (corked_) return;
  corked_ = true;  // the cork is empty: Uncork leaves it so
}

bool Outbox::Uncork() {
  if (!corked_) return !broken_;
  corked_ = false;
  if (cork_view_size_ != 0) {
    const std::span<const uint8_t> view = cork_view();
    set_cork_view({});
    return SendRaw(view);
  }
  if (!cork_copied_) return !broken_;
  cork_copied_ = false;
  const bool ok = SendRaw(*cork_);  // not corked now: writes, copying only what the kernel does not take
  if (cork_->capacity() > kKeptCorkCapacity) {
    cork_.reset();
  } else {
    cork_->clear();
  }
  return ok;
}

void Outbox::ReleaseMemory() {
  if (!corked_) cork_.reset();
}

void Outbox::Init(uv_stream_t* stream, EventFn on_event) {
  stream_ = stream;
  on_event_ = on_event;
}

bool Outbox::SendEncrypted(std::span<const uint8_t> data) {
  if (broken_) return false;
  thread_local std::string ciphertext;  // reused: SendRaw copies what the kernel does not take
  ciphertext.clear();
  if (!tls_->Encrypt(data, ciphertext).ok()) {
    broken_ = true;
    return false;
  }
  return SendRaw(ciphertext);
}

bool Outbox::SendPieces(std::span<const std::span<const uint8_t>> pieces) {
  if (tls_ != nullptr) {
    thread_local std::string plaintext;  // reused: encrypted at once, one record
    plaintext.clear();
    for (std::span<const uint8_t> piece : pieces)
      plaintext.append(reinterpret_cast<const char*>(piece.data()), piece.size());
    return SendEncrypted({reinterpret_cast<const uint8_t*>(plaintext.data()), plaintext.size()});
  }
  const bool was_corked = corked_;
  Cork();
  bool ok = true;
  for (std::span<const uint8_t> piece : pieces) ok = ok && SendRaw(piece);
  return (was_corked || Uncork()) && ok;
}

bool Outbox::Forward(std::span<const uint8_t> data) {
  if (!corked_ || tls_ != nullptr || broken_ || data.empty() || cork_copied_) return Send(data);
  if (cork_view_size_ == 0) {  // a read buffer's part: far below 4 GB
    set_cork_view(data);
    return true;
  }
  if (cork_view_data_ + cork_view_size_ == data.data() && cork_view_size_ + data.size() < kMaxCork) {
    cork_view_size_ += static_cast<uint32_t>(data.size());
    return true;
  }
  return SendRaw(data);
}

bool Outbox::SendRaw(std::span<const uint8_t> data) {
  if (broken_) return false;
  if (data.empty()) return true;
  if (corked_) {
    if (cork_ == nullptr) cork_ = std::make_unique<std::string>();
    if (cork_view_size_ != 0) {  // collected before these bytes: copied now, kept in order
      cork_->append(reinterpret_cast<const char*>(cork_view_data_), cork_view_size_);
      set_cork_view({});
    }
    cork_->append(reinterpret_cast<const char*>(data.data()), data.size());
    cork_copied_ = true;
    if (cork_->size() < kMaxCork) return true;
    const bool ok = Uncork();
    Cork();
    return ok;
  }
  if (writing_) {
    pending_->queued.append(reinterpret_cast<const char*>(data.data()), data.size());
    return true;
  }
  // The kernel first, with send(2) on the stream's descriptor: what uv_try_write does, without its reads
  // of three of the stream's cache lines (a client's are cold between its transactions; uv_fileno
  // reads as many) and write(2)'s file layer. Nothing of libuv's is bypassed: it writes only what
  // StartWrite hands it, and nothing is written here while that is in flight (writing_), or to a
  // stream not yet connected. The descriptor is read where libuv keeps it (uv/unix.h), at each write:
  // a session that moved to another loop has another, and a closed stream has -1 (uv_close).
  const int fd = stream_->io_watcher.fd;
  if (fd < 0) {
    broken_ = true;
    return false;
  }
  ssize_t n;
  do {
    n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      broken_ = true;
      return false;
    }
    n = 0;
  }
  if (static_cast<size_t>(n) == data.size()) return true;
  pending_ = std::make_unique<Pending>();
  pending_->req.data = this;
  pending_->in_flight.assign(reinterpret_cast<const char*>(data.data()) + n, data.size() - n);
  StartWrite();
  return !broken_;
}

void Outbox::StartWrite() {
  uv_buf_t buf = uv_buf_init(pending_->in_flight.data(), static_cast<unsigned>(pending_->in_flight.size()));
  int rc = uv_write(&pending_->req, stream_, &buf, 1, &Outbox::OnWrite);
  if (rc != 0) {
    broken_ = true;
    pending_.reset();
    return;
  }
  writing_ = true;
}

void Outbox::OnWrite(uv_write_t* req, int status) noexcept {
  auto* self = static_cast<Outbox*>(req->data);
  self->writing_ = false;
  if (status < 0) {
    self->broken_ = true;
    self->pending_.reset();
    if (status != UV_ECANCELED) self->on_event_(self->stream_->data, false);
    return;
  }
  Pending& pending = *self->pending_;
  if (!pending.queued.empty()) {
    pending.in_flight.swap(pending.queued);
    pending.queued.clear();
    self->StartWrite();
    if (self->broken_) {
      self->on_event_(self->stream_->data, false);
    }
    return;
  }
  self->pending_.reset();  // drained: an idle socket holds no buffer
  self->on_event_(self->stream_->data, true);
}

}  // namespace pgtenant::proxy
