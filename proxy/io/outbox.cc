// Outbox: try the kernel first, copy only the remainder.
#include "proxy/io/outbox.h"

#include "proxy/io/tls_channel.h"

namespace pgtenant::proxy {

namespace {
thread_local Outbox* corked = nullptr;  // the one corked outbox of this thread, if any
thread_local std::string cork;          // what it collected; the capacity stays with the thread
// What it collected by Forward, not copied yet: bytes in the caller's buffer, before those in `cork`
// (which is empty while this is not).
thread_local std::span<const uint8_t> cork_view;
// A cork holding this much writes it out and goes on collecting: bulk data is copied once, not held.
constexpr size_t kMaxCork = 64 * 1024;
}  // namespace

void Outbox::Cork() {
  if (corked != nullptr) return;
  corked = this;
  cork.clear();
  cork_view = {};
}

bool Outbox::Uncork() {
  if (corked != this) return !broken_;
  corked = nullptr;
  if (!cork_view.empty()) {
    const std::span<const uint8_t> view = cork_view;
    cork_view = {};
    return SendRaw(view);
  }
  if (cork.empty()) return !broken_;
  const bool ok = SendRaw(cork);  // not corked now: writes, copying only what the kernel does not take
  cork.clear();
  return ok;
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

bool Outbox::Forward(std::span<const uint8_t> data) {
  if (corked != this || tls_ != nullptr || broken_ || data.empty() || !cork.empty()) return Send(data);
  if (cork_view.empty()) {
    cork_view = data;
    return true;
  }
  if (cork_view.data() + cork_view.size() == data.data() && cork_view.size() + data.size() < kMaxCork) {
    cork_view = std::span<const uint8_t>(cork_view.data(), cork_view.size() + data.size());
    return true;
  }
  return SendRaw(data);
}

bool Outbox::SendRaw(std::span<const uint8_t> data) {
  if (broken_) return false;
  if (data.empty()) return true;
  if (corked == this) {
    if (!cork_view.empty()) {  // collected before these bytes: copied now, kept in order
      cork.append(reinterpret_cast<const char*>(cork_view.data()), cork_view.size());
      cork_view = {};
    }
    cork.append(reinterpret_cast<const char*>(data.data()), data.size());
    if (cork.size() < kMaxCork) return true;
    const bool ok = Uncork();
    Cork();
    return ok;
  }
  if (writing_) {
    pending_->queued.append(reinterpret_cast<const char*>(data.data()), data.size());
    return true;
  }
  uv_buf_t buf = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(data.data())),
                             static_cast<unsigned>(data.size()));
  int n = uv_try_write(stream_, &buf, 1);
  if (n == UV_EAGAIN) n = 0;
  if (n < 0) {
    broken_ = true;
    return false;
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
