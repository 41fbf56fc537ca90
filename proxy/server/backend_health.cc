// BackendHealth: host states, the choice of host, logs and series of state changes.
#include "proxy/server/backend_health.h"

#include "protocol/sqlstate.h"
#include "proxy/telemetry/log.h"

namespace pgtenant::proxy {

namespace {

// BackendConfigs built by hand (tests, tools) may leave `hosts` empty: then host/port is the one.
config::BackendConfig Normalized(config::BackendConfig backend) {
  if (backend.hosts.empty()) backend.hosts.push_back({backend.host, backend.port});
  return backend;
}

}  // namespace

std::string BackendHealth::Address(const config::BackendHost& host) {
  return config::DescribeAddress(host.host, host.port);
}

BackendHealth::BackendHealth(const config::BackendConfig& backend, const config::HealthCheckConfig& checks,
                             Metrics* metrics)
    : metrics_(metrics) {
  if (metrics_ != nullptr) backend_series_ = metrics_->ForBackend(backend.name);
  Reconfigure(backend, checks);
}

BackendHealth::~BackendHealth() { Retire(); }

void BackendHealth::Reconfigure(const config::BackendConfig& backend, const config::HealthCheckConfig& checks) {
  config::BackendConfig next = Normalized(backend);
  checks_ = checks;
  if (!hosts_.empty() && next.hosts == backend_.hosts) {
    backend_ = std::move(next);  // credentials, TLS or timeouts may have changed; states stay
    return;
  }
  std::vector<Host> hosts(next.hosts.size());
  for (size_t i = 0; i < next.hosts.size(); ++i) {
    if (std::optional<size_t> old = hosts_.empty() ? std::nullopt : IndexOf(next.hosts[i])) {
      hosts[i] = hosts_[*old];
      hosts_[*old].series = nullptr;  // moved over
    } else if (metrics_ != nullptr) {
      hosts[i].series = metrics_->ForBackendHost(next.name, Address(next.hosts[i]));
      hosts[i].series->Set(0);
    }
  }
  for (Host& gone : hosts_) {
    if (gone.series != nullptr && metrics_ != nullptr) metrics_->RemoveBackendHost(gone.series);
  }
  hosts_ = std::move(hosts);
  backend_ = std::move(next);
  ++generation_;
  last_picked_.reset();
  UpdateBackendSeries();
}

void BackendHealth::Retire() {
  if (retired_) return;
  retired_ = true;
  for (Host& host : hosts_) {
    if (host.series != nullptr && metrics_ != nullptr) metrics_->RemoveBackendHost(host.series);
    host.series = nullptr;
  }
}

std::optional<size_t> BackendHealth::IndexOf(const config::BackendHost& host) const {
  for (size_t i = 0; i < backend_.hosts.size(); ++i) {
    if (backend_.hosts[i] == host) return i;
  }
  return std::nullopt;
}

bool BackendHealth::Candidate(const Host& host, Clock::time_point now) const {
  if (host.state != HostState::kDown) return true;
  return !checks_.enabled && now - host.down_since >= kPassiveRetry;
}

std::optional<config::BackendHost> BackendHealth::PickHost(Clock::time_point now) {
  std::optional<size_t> pick;
  for (size_t i = 0; i < hosts_.size() && !pick; ++i) {
    if (Candidate(hosts_[i], now)) pick = i;
  }
  if (!pick) {
    if (checks_.enabled) return std::nullopt;
    pick = 0;  // nothing else to try: the primary, as a backend with one host always does
  }
  if (hosts_.size() > 1 && last_picked_ != pick) {
    LogInfo("health", "backend \"" + backend_.name + "\": new server connections go to " +
                          Address(backend_.hosts[*pick]) + " (host " + std::to_string(*pick + 1) + " of " +
                          std::to_string(hosts_.size()) + ")");
  }
  last_picked_ = pick;
  return backend_.hosts[*pick];
}

Status BackendHealth::Unavailable() const {
  std::string detail;
  for (size_t i = 0; i < hosts_.size(); ++i) {
    if (!detail.empty()) detail += "; ";
    detail += Address(backend_.hosts[i]) + ": " + (hosts_[i].reason.empty() ? "down" : hosts_[i].reason);
  }
  return Status::Error(sqlstate::kConnectionFailure,
                       "pgtenant: backend \"" + backend_.name + "\" is unavailable: no host is up (" + detail + ")",
                       "pgtenant checks every host each " + std::to_string(checks_.interval.count()) +
                           " ms and serves new connections again as soon as one answers.");
}

void BackendHealth::ReportConnected(const config::BackendHost& host) {
  if (std::optional<size_t> i = IndexOf(host)) MarkUp(*i);
}

bool BackendHealth::ReportConnectFailed(const config::BackendHost& host, const Status& why) {
  std::optional<size_t> i = IndexOf(host);
  if (!i || retired_) return false;
  // Full is not down: the host answers, and its alternates would not take writes anyway.
  if (why.sqlstate() == sqlstate::kTooManyConnections) return false;
  MarkDown(*i, why.message());
  const Clock::time_point now = Clock::now();
  for (const Host& other : hosts_) {
    if (Candidate(other, now)) return true;
  }
  return false;
}

void BackendHealth::ReportCheck(size_t index, uint64_t generation, const Status& result) {
  if (retired_ || generation != generation_ || index >= hosts_.size()) return;
  if (result.ok()) {
    MarkUp(index);
  } else if (result.sqlstate() != sqlstate::kTooManyConnections) {
    MarkDown(index, result.message());
  }
}

void BackendHealth::MarkUp(size_t index) {
  Host& host = hosts_[index];
  if (retired_ || host.state == HostState::kUp) return;
  if (host.state == HostState::kDown) {
    LogInfo("health", "backend \"" + backend_.name + "\": host " + Address(backend_.hosts[index]) + " is up again");
  } else if (checks_.enabled) {
    LogInfo("health", "backend \"" + backend_.name + "\": host " + Address(backend_.hosts[index]) + " is up");
  }
  host.state = HostState::kUp;
  host.reason.clear();
  none_up_logged_ = false;
  if (host.series != nullptr) host.series->Set(1);
  UpdateBackendSeries();
}

void BackendHealth::MarkDown(size_t index, const std::string& reason) {
  Host& host = hosts_[index];
  if (retired_) return;
  const bool was_down = host.state == HostState::kDown;
  host.reason = reason;
  host.down_since = Clock::now();  // the passive retry counts from the latest failure
  if (was_down) return;
  host.state = HostState::kDown;
  LogWarning("health", "backend \"" + backend_.name + "\": host " + Address(backend_.hosts[index]) +
                           " is down: " + reason);
  if (host.series != nullptr) host.series->Set(0);
  UpdateBackendSeries();
  bool all_down = true;
  for (const Host& h : hosts_) all_down &= h.state == HostState::kDown;
  if (all_down && !none_up_logged_) {
    none_up_logged_ = true;
    LogError("health", "backend \"" + backend_.name + "\": no host is up" +
                           (checks_.enabled ? "; clients get 08006 until a health check succeeds" : ""));
  }
}

void BackendHealth::UpdateBackendSeries() {
  if (backend_series_ == nullptr || retired_) return;
  bool any_up = false;
  for (const Host& h : hosts_) any_up |= h.state == HostState::kUp;
  backend_series_->up->Set(any_up ? 1 : 0);
}

}  // namespace pgtenant::proxy
