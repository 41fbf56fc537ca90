// CancelForwarder: delivers one CancelRequest to a PostgreSQL backend (or a peer pgtenant) on a
// fresh connection (TCP, or the backend's Unix-domain socket).
//
// Fire and forget (protocol section 55.2.8): connect, send the 16-byte request, close. Frees
// itself when done; failures are logged, never reported to anyone (the protocol has no reply).
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>

#include "config/config.h"
#include "proxy/io/backend_socket.h"

namespace pgtenant::proxy {

class CancelForwarder {
 public:
  // Starts the delivery; the object owns itself from here on.
  static void Send(uv_loop_t* loop, const config::BackendConfig& backend, int32_t pid, int32_t key);
  // To any address that takes CancelRequests (a peer pgtenant instance).
  static void Send(uv_loop_t* loop, const std::string& host, int port, int32_t pid, int32_t key);

 private:
  CancelForwarder(uv_loop_t* loop, std::string host, int port, int32_t pid, int32_t key);
  ~CancelForwarder() = default;
  void Start();
  void Finish();

  static void OnResolved(uv_getaddrinfo_t* req, int status, struct addrinfo* res) noexcept;
  static void OnConnected(uv_connect_t* req, int status) noexcept;
  static void OnWritten(uv_write_t* req, int status) noexcept;
  static void OnClosed(uv_handle_t* handle) noexcept;

  uv_loop_t* loop_;
  std::string host_;
  int port_;
  std::string packet_;
  uv_getaddrinfo_t resolve_{};
  BackendSocket socket_{};
  uv_connect_t connect_{};
  uv_write_t write_{};
};

}  // namespace pgtenant::proxy
