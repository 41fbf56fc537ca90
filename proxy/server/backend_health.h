// BackendHealth: which hosts of one backend (primary, alternates) are up, and where new server
// connections go.
//
// Two sources feed it: health checks (HealthChecker, when `health_check:` is configured) and the
// pools' own connection attempts. A host is kUnknown until one of them says otherwise. New server
// connections go to the first host, in configured order, that is not down. While every host is down:
//   - with health checks, PickHost returns nullopt and pools answer 08006 naming the backend at once;
//     the next successful check brings the host back;
//   - without, a host marked down by a failed connection is skipped for kPassiveRetry, then tried
//     again, and when all are down the first host is tried (as a single-host backend always does).
// A login refused with 53300 (too many connections) does not mark a host down: it is up, just full.
//
// Every change of state is logged (component "health") and mirrored in pgtenant_backend_up{backend}
// (1 if some host is up) and pgtenant_backend_host_up{backend, host}.
//
// Thread-safety: loop thread only. Shared (shared_ptr) by the pools of the backend and the checker.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "protocol/status.h"
#include "proxy/telemetry/metrics.h"

namespace pgtenant::proxy {

class BackendHealth {
 public:
  using Clock = std::chrono::steady_clock;
  enum class HostState { kUnknown, kUp, kDown };
  // Without health checks, a host a connection failed on is skipped this long.
  static constexpr std::chrono::seconds kPassiveRetry{5};

  // `metrics` may be null (no series); it outlives this object.
  BackendHealth(const config::BackendConfig& backend, const config::HealthCheckConfig& checks, Metrics* metrics);
  ~BackendHealth();
  BackendHealth(const BackendHealth&) = delete;
  BackendHealth& operator=(const BackendHealth&) = delete;

  // A reload: hosts still listed keep their state, new ones start kUnknown, gone ones lose their series.
  void Reconfigure(const config::BackendConfig& backend, const config::HealthCheckConfig& checks);
  // The backend left the config: drop the series; later reports are ignored.
  void Retire();

  // The address for a new server connection; nullopt only when checks are on and no host is up.
  std::optional<config::BackendHost> PickHost(Clock::time_point now = Clock::now());
  // The 08006 a client gets while no host is up: names the backend and why each host is down.
  Status Unavailable() const;

  // From pools: a server connection to `host` logged in, or could not.
  void ReportConnected(const config::BackendHost& host);
  // Returns true when another host may be tried right away (failover), false when none is left.
  bool ReportConnectFailed(const config::BackendHost& host, const Status& why);
  // From the checker: the result of checking hosts()[index] at `generation` (ignored if stale).
  void ReportCheck(size_t index, uint64_t generation, const Status& result);

  const config::BackendConfig& backend() const { return backend_; }
  const std::vector<config::BackendHost>& hosts() const { return backend_.hosts; }
  HostState state(size_t index) const { return hosts_[index].state; }
  // Why hosts()[index] is down, and since when; "" and the epoch while it is not.
  const std::string& down_reason(size_t index) const { return hosts_[index].reason; }
  Clock::time_point down_since(size_t index) const { return hosts_[index].down_since; }
  // The host the last new server connection went to, if any did.
  std::optional<size_t> last_picked() const { return last_picked_; }
  // Changes when the list of hosts changes (checks in flight for the old list are dropped).
  uint64_t generation() const { return generation_; }
  bool checks_enabled() const { return checks_.enabled; }

  // "host:port", "[v6]:port" for IPv6 addresses.
  static std::string Address(const config::BackendHost& host);

 private:
  struct Host {
    HostState state = HostState::kUnknown;
    Clock::time_point down_since{};
    std::string reason;  // why it is down
    prometheus::Gauge* series = nullptr;
  };

  void MarkUp(size_t index);
  void MarkDown(size_t index, const std::string& reason);
  std::optional<size_t> IndexOf(const config::BackendHost& host) const;
  bool Candidate(const Host& host, Clock::time_point now) const;
  void UpdateBackendSeries();

  config::BackendConfig backend_;
  config::HealthCheckConfig checks_;
  Metrics* metrics_;
  Metrics::BackendSeries* backend_series_ = nullptr;
  std::vector<Host> hosts_;  // parallel to backend_.hosts
  uint64_t generation_ = 1;
  std::optional<size_t> last_picked_;
  bool none_up_logged_ = false;
  bool retired_ = false;
};

}  // namespace pgtenant::proxy
