// HealthProbe: one health check of one host: log in as the backend's user (the same code path,
// TLS and authentication as real server connections), run SELECT 1, log out.
//
// Never blocks the loop: the login is ServerConnection's, and a timer bounds the whole check. The
// probe owns itself: `done` runs exactly once (ok = healthy, else why not) unless Abort() comes
// first, and the object frees itself once its handles have closed.
// Thread-safety: loop thread only.
#pragma once

#include <uv.h>

#include <functional>

#include "config/config.h"
#include "protocol/status.h"
#include "proxy/server/server_connection.h"

namespace pgtenant::proxy {

class HealthProbe final : public ServerConnectionOwner {
 public:
  using Done = std::function<void(const Status& result)>;

  // Checks `target` (a backend whose host/port is the one to check) within `timeout`.
  static HealthProbe* Start(uv_loop_t* loop, config::BackendConfig target, config::Duration timeout, Done done);
  // Stops now without calling `done` (shutdown). The probe frees itself later.
  void Abort();

  void OnServerReady(ServerConnection* server) override;
  void OnServerFailed(ServerConnection* server, const Status& why) override;
  void OnServerClosed(ServerConnection* server) override;

 private:
  HealthProbe(uv_loop_t* loop, Done done);
  ~HealthProbe() = default;
  void Finish(const Status& result);
  void MaybeFree();
  static void OnTimeout(uv_timer_t* timer) noexcept;

  Done done_;
  config::Duration timeout_{0};
  uv_timer_t timer_{};
  ServerConnection* server_ = nullptr;  // null once it has told us it is closed
  bool finished_ = false;
  bool timer_closed_ = false;
};

}  // namespace pgtenant::proxy
