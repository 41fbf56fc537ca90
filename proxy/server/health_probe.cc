// HealthProbe: connect + login (ServerConnection), SELECT 1, close; bounded by a timer.
#include "proxy/server/health_probe.h"

#include <algorithm>

#include "protocol/sqlstate.h"

namespace pgtenant::proxy {

namespace {
// How the check shows in pg_stat_activity.
const ServerParams kProbeParams = {{"application_name", "pgtenant-health-check"}};
}  // namespace

HealthProbe* HealthProbe::Start(uv_loop_t* loop, config::BackendConfig target, config::Duration timeout, Done done) {
  auto* probe = new HealthProbe(loop, std::move(done));
  probe->timeout_ = timeout;
  target.connect_timeout = std::min(target.connect_timeout, timeout);
  uv_timer_start(&probe->timer_, &HealthProbe::OnTimeout, static_cast<uint64_t>(timeout.count()), 0);
  probe->server_ = new ServerConnection(loop, probe, std::move(target), kProbeParams, 0);
  probe->server_->Connect();
  return probe;
}

HealthProbe::HealthProbe(uv_loop_t* loop, Done done) : done_(std::move(done)) {
  uv_timer_init(loop, &timer_);
  timer_.data = this;
}

void HealthProbe::OnServerReady(ServerConnection* server) {
  server->RunInternalQuery("SELECT 1", [this](ServerConnection*, const Status& result) { Finish(result); });
}

void HealthProbe::OnServerFailed(ServerConnection*, const Status& why) { Finish(why); }

void HealthProbe::OnServerClosed(ServerConnection*) {
  server_ = nullptr;
  MaybeFree();
}

void HealthProbe::OnTimeout(uv_timer_t* timer) noexcept {
  auto* self = static_cast<HealthProbe*>(timer->data);
  self->Finish(Status::Error(sqlstate::kConnectionFailure, "health check got no answer within " +
                                                               std::to_string(self->timeout_.count()) + " ms"));
}

void HealthProbe::Abort() {
  done_ = nullptr;
  Finish(Status::Ok());
}

void HealthProbe::Finish(const Status& result) {
  if (finished_) return;
  finished_ = true;
  Done done = std::move(done_);
  done_ = nullptr;
  if (server_ != nullptr) server_->Close();  // after SELECT 1 this sends Terminate: a clean logout
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), [](uv_handle_t* handle) {
    auto* self = static_cast<HealthProbe*>(handle->data);
    self->timer_closed_ = true;
    self->MaybeFree();
  });
  if (done) done(result);
}

void HealthProbe::MaybeFree() {
  if (finished_ && timer_closed_ && server_ == nullptr) delete this;
}

}  // namespace pgtenant::proxy
