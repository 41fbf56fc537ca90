// CancelForwarder: resolve, connect, write, close.
#include "proxy/worker/cancel_forwarder.h"

#include "protocol/message_builder.h"
#include "proxy/telemetry/log.h"

namespace pgtenant::proxy {

void CancelForwarder::Send(uv_loop_t* loop, const config::BackendConfig& backend, int32_t pid, int32_t key) {
  Send(loop, backend.host, backend.port, pid, key);
}

void CancelForwarder::Send(uv_loop_t* loop, const std::string& host, int port, int32_t pid, int32_t key) {
  auto* self = new CancelForwarder(loop, host, port, pid, key);
  self->Start();
}

CancelForwarder::CancelForwarder(uv_loop_t* loop, std::string host, int port, int32_t pid, int32_t key)
    : loop_(loop), host_(std::move(host)), port_(port) {
  protocol::AppendCancelRequest(packet_, pid, key);
  InitBackendSocket(loop_, socket_, host_);
  socket_.handle.data = this;
}

void CancelForwarder::Start() {
  connect_.data = this;
  if (ConnectToSocketDirectory(&connect_, socket_, host_, port_, &CancelForwarder::OnConnected)) return;
  struct addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  resolve_.data = this;
  std::string port = std::to_string(port_);
  if (uv_getaddrinfo(loop_, &resolve_, &CancelForwarder::OnResolved, host_.c_str(), port.c_str(), &hints) != 0)
    Finish();
}

void CancelForwarder::OnResolved(uv_getaddrinfo_t* req, int status, struct addrinfo* res) noexcept {
  auto* self = static_cast<CancelForwarder*>(req->data);
  if (status < 0 || res == nullptr) {
    if (res) uv_freeaddrinfo(res);
    LogWarning("cancel", "cannot resolve " + self->host_ + " to forward a cancel request");
    self->Finish();
    return;
  }
  int rc = uv_tcp_connect(&self->connect_, &self->socket_.tcp, res->ai_addr, &CancelForwarder::OnConnected);
  uv_freeaddrinfo(res);
  if (rc != 0) self->Finish();
}

void CancelForwarder::OnConnected(uv_connect_t* req, int status) noexcept {
  auto* self = static_cast<CancelForwarder*>(req->data);
  if (status < 0) {
    LogWarning("cancel", std::string("cannot connect to forward a cancel request: ") + uv_strerror(status));
    self->Finish();
    return;
  }
  uv_buf_t buf = uv_buf_init(self->packet_.data(), static_cast<unsigned>(self->packet_.size()));
  self->write_.data = self;
  if (uv_write(&self->write_, &self->socket_.stream, &buf, 1, &CancelForwarder::OnWritten) != 0)
    self->Finish();
}

void CancelForwarder::OnWritten(uv_write_t* req, int) noexcept { static_cast<CancelForwarder*>(req->data)->Finish(); }

void CancelForwarder::Finish() {
  if (!uv_is_closing(&socket_.handle)) uv_close(&socket_.handle, &CancelForwarder::OnClosed);
}

void CancelForwarder::OnClosed(uv_handle_t* handle) noexcept { delete static_cast<CancelForwarder*>(handle->data); }

}  // namespace pgtenant::proxy
