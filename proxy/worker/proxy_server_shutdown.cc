// ProxyServer: signals and shutdown (SIGTERM, SIGINT, the console's SHUTDOWN): the drain and its deadline.
#include "proxy/worker/proxy_server.h"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <utility>

#include "protocol/sqlstate.h"
#include "proxy/session/client_session.h"
#include "proxy/telemetry/log.h"

namespace pgtenant::proxy {

namespace {
// Past the shutdown deadline, a client has this long to take its FATAL 57P01; one that does not read
// (its last error still queued) is then closed without it, instead of after ClientSession's own 5 s
// close-flush timeout: that timeout was what kept the process up until shutdown_timeout + 5 s.
constexpr auto kLastErrorFlush = std::chrono::milliseconds(300);
}  // namespace

void ProxyServer::OnSignal(uv_signal_t* handle, int signum) noexcept {
  auto* self = static_cast<ProxyServer*>(handle->data);
  const char* name = signum == SIGINT ? "SIGINT" : "SIGTERM";
  if (self->shutting_down_) {
    LogInfo("proxy", std::string("received ") + name + " again: closing every session now");
    for (int i = 0; i < self->group_->size(); ++i) self->group_->Post(i, [](ProxyServer& w) { w.ShutdownNow(); });
    return;
  }
  self->group_->RequestShutdown(std::string("received ") + name);
}

void ProxyServer::BeginShutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  TickOften();  // the deadline and the drain are watched by the tick
  shutdown_deadline_ = Clock::now() + config_->shutdown_timeout;
  if (pending_listen_fd_ >= 0) ::close(std::exchange(pending_listen_fd_, -1));
  if (listening_) {
    AcceptQueued();
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
  }
  if (peer_listening_) uv_close(reinterpret_cast<uv_handle_t*>(&peer_listener_), nullptr);
  listening_ = peer_listening_ = false;
  if (signals_) uv_close(reinterpret_cast<uv_handle_t*>(&sighup_), nullptr);
  // Sessions between transactions end now; those inside one end at its ReadyForQuery, or at
  // the deadline (the tick enforces it).
  std::vector<ClientSession*> sessions(sessions_.begin(), sessions_.end());
  for (ClientSession* s : sessions) s->BeginShutdown();
  MaybeFinishShutdown();
}

void ProxyServer::ShutdownNow() {
  shutdown_deadline_ = Clock::now();
  MaybeFinishShutdown();
}

void ProxyServer::MaybeFinishShutdown() {
  if (stopped_) return;
  const Clock::time_point now = Clock::now();
  if (!sessions_.empty() && now >= shutdown_deadline_) {
    const bool flush_over = now >= shutdown_deadline_ + kLastErrorFlush;
    std::vector<ClientSession*> sessions(sessions_.begin(), sessions_.end());
    for (ClientSession* s : sessions) {
      s->Terminate(Status::Error(sqlstate::kAdminShutdown, "terminating connection due to administrator command"));
      if (flush_over) s->CloseNow();
    }
  }
  bool idle = sessions_.empty();
  for (auto& [key, pool] : pools_) {
    if (!idle) break;
    pool->Drain();
    idle = pool->empty();
  }
  // The loops end together: a session may still be on its way here from another worker.
  if (!group_->SetIdle(index_, idle)) return;
  stopped_ = true;
  Metrics::FlushThreadTally();
  if (signals_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&sigint_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&sigterm_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&sigpipe_), nullptr);
  }
  health_.Stop();
  if (index_ == 0) metrics().StopServing();
  uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
  CloseMail();
}

}  // namespace pgtenant::proxy
