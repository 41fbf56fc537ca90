// HealthChecker: the BackendHealth of every configured backend, and the periodic checks that feed
// them when `health_check:` is configured.
//
// Every `interval` each host of each backend gets a HealthProbe (login + SELECT 1, at most one in
// flight per host), bounded by `timeout`; the first round starts with the proxy. Without
// `health_check:` no probe runs and BackendHealth learns only from the pools' connections.
//
// Thread-safety: loop thread only. Lifetime: Stop() before the loop ends; BackendHealth objects
// handed out may outlive the checker (pools of a retired config hold them).
#pragma once

#include <uv.h>

#include <map>
#include <memory>
#include <string>
#include <utility>

#include "config/config.h"
#include "proxy/server/backend_health.h"
#include "proxy/server/health_probe.h"
#include "proxy/telemetry/metrics.h"

namespace pgtenant::proxy {

class HealthChecker {
 public:
  // `metrics` outlives the checker.
  HealthChecker(uv_loop_t* loop, Metrics* metrics) : loop_(loop), metrics_(metrics) {}
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // At start and after each reload: a BackendHealth per backend of `config` (kept across reloads
  // by name), checks started, retimed or stopped per config.health_check.
  void Apply(const config::Config& config);
  // The backend's health, or null if `backend` is not configured.
  std::shared_ptr<BackendHealth> For(const std::string& backend) const;
  // Every configured backend's health, by name.
  const std::map<std::string, std::shared_ptr<BackendHealth>>& backends() const { return backends_; }
  // Shutdown: stops the timer and abandons checks in flight. Idempotent.
  void Stop();

 private:
  void CheckAll();
  static void OnTimer(uv_timer_t* timer) noexcept;

  uv_loop_t* loop_;
  Metrics* metrics_;
  config::HealthCheckConfig checks_;
  uv_timer_t timer_{};
  bool timer_initialized_ = false;
  bool stopped_ = false;
  std::map<std::string, std::shared_ptr<BackendHealth>> backends_;
  // (backend, host index) -> its check in flight.
  std::map<std::pair<std::string, size_t>, HealthProbe*> in_flight_;
};

}  // namespace pgtenant::proxy
