// ProxyServer: the event loop, the listener, signals, and what sessions share (pools, cancel keys).
//
// Run() binds the configured address and serves until SIGINT/SIGTERM, then tells every client
// (FATAL 57P01), closes every server connection and returns once all handles are closed.
//
// Thread-safety: everything runs on the loop thread.
#pragma once

#include <uv.h>

#include <array>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "config/config.h"
#include "protocol/status.h"
#include "policy/audit_event.h"
#include "policy/policy_engine.h"
#include "proxy/admin_state.h"
#include "proxy/audit_log.h"
#include "proxy/backend_budget.h"
#include "proxy/health_checker.h"
#include "proxy/metrics.h"
#include "proxy/peer_cancel.h"
#include "proxy/server_pool.h"
#include "routing/route.h"

namespace pgtenant::proxy {

class ClientSession;

class ProxyServer {
 public:
  // `config_path` is read again on reload (SIGHUP).
  ProxyServer(std::shared_ptr<const config::Config> config, std::string config_path);
  ~ProxyServer();
  ProxyServer(const ProxyServer&) = delete;
  ProxyServer& operator=(const ProxyServer&) = delete;

  // Serves until shut down. Returns an error if the listener cannot be bound.
  Status Run();

  uv_loop_t* loop() { return &loop_; }
  std::string_view mock_secret() const { return mock_secret_; }

  // The pool for a route, created on first use.
  ServerPool* PoolFor(const routing::Route& route);

  // Cancel keys: clients get pgtenant's own (pid, key); a CancelRequest is matched here and
  // forwarded to the server backend the session is linked to.
  int32_t RegisterCancelTarget(ClientSession* session, int32_t* key);
  void UnregisterCancelTarget(int32_t pid);
  void HandleCancelRequest(int32_t pid, int32_t key);
  void ForwardCancel(const config::BackendConfig& backend, int32_t pid, int32_t key);
  // The instance id in cancel keys and the peers unknown cancels go to (set the id before Run).
  PeerCancel& peer_cancel() { return peer_cancel_; }

  void OnSessionClosed(ClientSession* session);

  // The newest config snapshot and its generation; sessions adopt it at transaction boundaries.
  const std::shared_ptr<const config::Config>& config() const { return config_; }
  uint64_t config_generation() const { return config_generation_; }
  // Reads the config file again. A bad file leaves the running config untouched (and says why).
  // `admin_user`: the admin who asked (console RELOAD), recorded in the config_reloaded event.
  Status Reload(std::string_view admin_user = {});
  bool shutting_down() const { return shutting_down_; }

  // Admin console (proxy/admin_console.h): what it switches, what it shows, and SHUTDOWN (like
  // SIGTERM; `why` goes to the log).
  AdminState& admin() { return admin_; }
  const std::unordered_set<ClientSession*>& sessions() const { return sessions_; }
  const std::unordered_map<std::string, std::unique_ptr<ServerPool>>& pools() const { return pools_; }
  const HealthChecker& health() const { return health_; }
  // Server connections open to a backend, against its max_connections (0 before its first pool).
  int ServerConnectionsOpen(const std::string& backend) const {
    auto it = budgets_.find(backend);
    return it == budgets_.end() ? 0 : it->second->open();
  }
  void RequestShutdown(const std::string& why);

  policy::PolicyEngine& policy() { return policy_; }
  Metrics& metrics() { return metrics_; }
  // Audit events go to the sinks of `audit:`; a no-op without sinks.
  bool auditing() const { return audit_ != nullptr; }
  void Audit(policy::AuditEvent event) {
    if (audit_) audit_->Emit(std::move(event));
  }

  // Per-tenant client count against tenants.NAME.max_clients. Admit returns false when full;
  // every admitted session calls Leave once.
  bool AdmitTenantClient(const config::TenantConfig& tenant);
  void LeaveTenant(const std::string& tenant);

  // tenants.NAME.max_transactions_per_second: true if a transaction may start now; otherwise
  // `session` is resumed (ClientSession::OnThrottleLifted) when a token is free.
  bool TakeTransactionToken(const config::TenantConfig& tenant, ClientSession* session);
  void CancelThrottleWait(const std::string& tenant, ClientSession* session);

 private:
  struct CancelTarget {
    ClientSession* session;
    int32_t key;
  };

  Status Listen(uv_tcp_t* handle, const std::string& host, int port, bool reuse_port);
  int OwnPeerPort() const;
  void BeginShutdown();
  // The verdict cache's hit ratio, in the log (Prometheus and SHOW STATS come with the operations work).
  void LogPolicyCacheStats();
  // Sets the gauges that describe the present (connections by state) and mirrors other totals.
  void UpdateMetrics();
  void MaybeFinishShutdown();

  static void OnConnection(uv_stream_t* server, int status) noexcept;
  static void OnSignal(uv_signal_t* handle, int signum) noexcept;
  static void OnTick(uv_timer_t* timer) noexcept;

  std::shared_ptr<const config::Config> config_;
  std::string config_path_;
  uint64_t config_generation_ = 0;
  Clock::time_point shutdown_deadline_{};
  std::string mock_secret_;
  policy::PolicyEngine policy_;
  Metrics metrics_;
  std::unique_ptr<AuditLog> audit_;
  AdminState admin_;
  uv_signal_t sighup_{};
  uv_loop_t loop_{};
  uv_tcp_t listener_{};
  uv_tcp_t peer_listener_{};  // this instance's own port under peers (OwnPeerPort), if any
  bool peer_listening_ = false;
  uv_signal_t sigint_{};
  uv_signal_t sigterm_{};
  uv_signal_t sigpipe_{};
  uv_timer_t tick_{};
  bool shutting_down_ = false;
  uint64_t next_session_id_ = 1;
  unsigned tick_count_ = 0;
  unsigned ticks_since_stats_ = 0;
  uint64_t last_policy_lookups_ = 0;

  struct TenantState {
    int clients = 0;
    double tokens = 0;                 // token bucket for the transaction rate
    Clock::time_point refilled{};
    std::deque<ClientSession*> throttled;
  };
  void RefillAndWake(const config::TenantConfig& tenant, TenantState& state, Clock::time_point now);

  std::unordered_set<ClientSession*> sessions_;
  std::unordered_map<std::string, TenantState> tenants_;
  std::unordered_map<std::string, std::unique_ptr<BackendBudget>> budgets_;
  std::unordered_map<std::string, std::unique_ptr<ServerPool>> pools_;
  // Pools a reload made obsolete: closing, kept until their last connection has closed.
  std::vector<std::unique_ptr<ServerPool>> retired_pools_;
  std::unordered_map<int32_t, CancelTarget> cancel_targets_;
  PeerCancel peer_cancel_;
  HealthChecker health_{&loop_, &metrics_};  // last: destroyed first
};

}  // namespace pgtenant::proxy
