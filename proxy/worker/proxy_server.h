// ProxyServer: one worker of pgtenant (proxy/worker/worker_group.h): an event loop on a thread of its own,
// the listener it accepts on, the client sessions and server pools it owns, and the tick.
//
// Worker 0 also owns the signals and the metrics endpoint. Shutdown (SIGINT/SIGTERM, SHUTDOWN)
// tells every client (FATAL 57P01), closes every server connection and lets the loop end once
// every worker is done.
//
// Thread-safety: everything runs on the worker's loop thread, except Post (any thread).
#pragma once

#include <uv.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "config/config_change.h"
#include "config/tenant_catalog.h"
#include "protocol/status.h"
#include "policy/audit_event.h"
#include "policy/policy_engine.h"
#include "proxy/session/admin_state.h"
#include "proxy/telemetry/audit_log.h"
#include "proxy/server/backend_budget.h"
#include "proxy/session/client_login.h"
#include "proxy/session/session_host.h"
#include "proxy/server/health_checker.h"
#include "proxy/telemetry/metrics.h"
#include "proxy/worker/config_thread.h"
#include "proxy/worker/peer_cancel.h"
#include "proxy/worker/process_probes.h"
#include "proxy/server/server_pool.h"
#include "proxy/worker/worker_group.h"
#include "routing/route.h"

namespace pgtenant::proxy {

class ClientSession;

class ProxyServer final : public SessionHost {
 public:
  ProxyServer(WorkerGroup* group, int index, std::shared_ptr<const config::Config> config);
  ~ProxyServer();
  ProxyServer(const ProxyServer&) = delete;
  ProxyServer& operator=(const ProxyServer&) = delete;

  // Worker 0 (`listen_fd` -1): binds the listen address (and this instance's port under peers),
  // starts the metrics endpoint and the signal handlers. Other workers accept on a duplicate of
  // worker 0's listen socket, `listen_fd`, which they own. Then the tick and health checks start.
  Status Start(int listen_fd);
  // A worker that could not start (or whose group could not): closes its handles; the loop ends.
  void StopLoop();
  // Runs the loop until shutdown has finished everywhere (on the thread that serves it).
  void Serve();
  // The listening socket's descriptor (worker 0, after Start).
  int listen_fd() const;
  // Whether this worker accepts on listen.port (loop thread).
  bool listening() const { return listening_; }
  // When this worker's loop last ran its tick (every 100 ms): liveness, for /healthz. Any thread.
  std::chrono::steady_clock::time_point last_tick() const {
    return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(last_tick_.load()));
  }

  uv_loop_t* loop() override { return &loop_; }
  int index() const override { return index_; }
  WorkerGroup& group() { return *group_; }
  std::string_view mock_secret() const override { return group_->shared().mock_secret; }

  // Queues `task` for this worker's loop thread; false once the worker has stopped. Any thread.
  bool Post(std::function<void(ProxyServer&)> task);
  // Runs the queued tasks now (this worker's thread).
  void DrainMail();
  // A session moving here from another worker (ClientSession::MoveTo) joins this worker's sessions.
  void AdoptSession(ClientSession* session);
  // A session leaving for another worker: no longer this worker's (its socket is closing).
  void ReleaseSession(ClientSession* session) override;
  bool HandOver(ClientSession* session, int to, int fd) override;
  int HomeOf(const routing::Route& route) override { return group_->HomeOf(route); }

  // The pool for a route, created on first use.
  ServerPool* PoolFor(const routing::Route& route) override;
  // Adaptive placement (worker_group.h): the pool named `pool_name` now lives on worker `to` (its
  // sessions follow at their next transaction, its connections close as they come back); or it
  // lives here again. Placement follows a pool's name (routing::PoolName), which a reload that
  // retires the pool for a new identity keeps.
  void PoolMovedAway(const std::string& pool_name, int to);
  void PoolMovedHere(const std::string& pool_name);
  // Adaptive placement, workers other than 0: stop taking new connections (a worker without pools
  // would only hand them on, and every loop listening wakes for every connection), or take them
  // again on `fd`, a new duplicate of worker 0's listen socket (owned from here on).
  void StopAccepting();
  void StartAccepting(int fd);
  // One shared copy of each distinct route of the running config, so sessions hold a pointer
  // rather than a route of their own (a route's strings are most of an idle session's memory).
  std::shared_ptr<const routing::Route> InternRoute(routing::Route route);
  // The same for logins (client_login.h): an equal login already held by a session of this worker,
  // else `login` itself, remembered for the next (weakly: it goes when its last session does).
  std::shared_ptr<const ClientLogin> InternLogin(std::shared_ptr<const ClientLogin> login) override;
  // routing::ResolveRoute, interned, and remembered by (client identity, user) while `config` is the
  // running config: a client that connects again skips resolution (a route is a pure function of
  // config, user and identity; a reload forgets them all). Refusals are not remembered.
  Result<std::shared_ptr<const routing::Route>> RouteFor(const routing::ClientIdentity& identity,
                                                         const config::Config& config,
                                                         const config::UserConfig& user) override;

  // Cancel keys: clients get pgtenant's own (pid, key); a CancelRequest is matched here and
  // forwarded to the server backend the session is linked to.
  // Pids repeat once a worker has more sessions than its random pid bits can tell apart: the
  // (pid, key) pair is what is unique.
  int32_t RegisterCancelTarget(ClientSession* session, int32_t* key) override;
  // A session that moved here from another worker keeps the pid its client knows.
  void AdoptCancelTarget(ClientSession* session, int32_t pid) override { cancel_targets_.emplace(pid, session); }
  void UnregisterCancelTarget(ClientSession* session, int32_t pid) override;
  // A pid names the worker that issued it; a session that has moved since is looked for on the
  // others (`asked_all`: this is that search, not to be passed on again).
  void HandleCancelRequest(int32_t pid, int32_t key) override { HandleCancelRequest(pid, key, false); }
  void HandleCancelRequest(int32_t pid, int32_t key, bool asked_all);
  void ForwardCancel(const config::BackendConfig& backend, int32_t pid, int32_t key) override;
  // The instance id in cancel keys and the peers unknown cancels go to (set the id before Run).
  PeerCancel& peer_cancel() { return group_->shared().peer_cancel; }

  void OnSessionClosed(ClientSession* session) override;
  // The verdict cache's hit ratio, in the log.
  void LogPolicyCacheStats();

  // The newest config snapshot and its generation; sessions adopt it at transaction boundaries.
  const std::shared_ptr<const config::Config>& config() const override { return config_; }
  uint32_t config_generation() const override { return static_cast<uint32_t>(config_generation_); }
  // Reads the config file again and applies it on every worker (ApplyNewConfig). A bad file leaves
  // the running config untouched (and says why). `admin_user`: the admin who asked (console RELOAD),
  // recorded in the config_reloaded event.
  Status Reload(std::string_view admin_user = {});
  // SIGHUP's reload: the file is read off the loop (proxy_server_reload.cc), then applied as Reload
  // applies it. A SIGHUP while one is read reads the file again after it.
  void BeginReload();
  // The one way a new, validated config takes effect, whatever built it (a reload, a merge with the
  // tenant catalog): compares it with the running one (config_change.h), gives it a new generation,
  // applies it on every worker (ApplyConfig) and process-wide (placement, the policy's cache), and
  // returns what changed. Costs what changed, plus one comparison of the two configs' entries: pools
  // of unchanged tenants, users and backends are not looked at, and their sessions keep their server
  // connections. Call on this worker's loop thread. REQUIRES: certificate and key files were checked
  // (PreloadConfigFiles).
  // `compared`: CompareConfigs(*config(), *next) when the caller has it already.
  config::ConfigChange ApplyNewConfig(std::shared_ptr<const config::Config> next,
                                      const config::ConfigChange* compared = nullptr);
  // This worker's part of it: pools, budgets, health checks and peers under `next`. `change`: what
  // differs from this worker's running config (compared once, for all workers).
  void ApplyConfig(std::shared_ptr<const config::Config> next, uint64_t generation, const config::ConfigChange& change);
  // tenant_catalog: the catalog's rows as last read (catalog/catalog_reader.h), merged with the YAML
  // off the loop (TenantCatalogState::Prepare) and applied on every worker through ApplyNewConfig, as
  // a reload is (proxy_server_catalog.cc). Worker 0's loop thread.
  void ApplyCatalog(TenantCatalogState::Prepared prepared);
  bool shutting_down() const override { return shutting_down_; }

  // Admin console (proxy/admin/admin_console.h): what it switches, what it shows, and SHUTDOWN (like
  // SIGTERM; `why` goes to the log).
  AdminState& admin() override { return admin_; }
  // A console for an admin's session; defined in proxy/admin/admin_console.cc (the worker does not
  // include the console, the console includes the worker).
  std::unique_ptr<SessionConsole> OpenConsole(ClientSession* session, std::string user, std::string client_address,
                                              std::string session_id) override;
  const std::vector<ClientSession*>& sessions() const { return sessions_; }
  using PoolMap = std::unordered_map<routing::PoolIdentity, std::unique_ptr<ServerPool>, routing::PoolIdentityHash>;
  const PoolMap& pools() const { return pools_; }
  const HealthChecker& health() const { return health_; }
  // Server connections open to a backend, against its max_connections (0 before its first pool).
  int ServerConnectionsOpen(const std::string& backend) const {
    auto it = budgets_.find(backend);
    return it == budgets_.end() ? 0 : it->second->open();
  }
  void RequestShutdown(const std::string& why) { group_->RequestShutdown(why); }
  // This worker's part of a shutdown: stop accepting, end sessions between transactions.
  void BeginShutdown();
  // A second SIGTERM: every session ends now.
  void ShutdownNow();

  policy::PolicyEngine& policy() override { return group_->shared().policy; }
  // This loop's memo of verdicts, passed to every policy().Inspect made on this loop: a session asks
  // the memo of the worker it runs on, so nothing it uses stays behind on a thread it left.
  policy::VerdictMemo& verdict_memo() override { return verdict_memo_; }
  Metrics& metrics() override { return group_->shared().metrics; }
  // Audit events go to the sinks of `audit:`; a no-op without sinks.
  bool auditing() const override { return group_->shared().audit != nullptr; }
  void Audit(policy::AuditEvent event) override {
    if (auditing()) group_->shared().audit->Emit(std::move(event));
  }

  // Per-tenant client count against tenants.NAME.max_clients. Admit returns false when full;
  // every admitted session calls Leave once.
  bool AdmitTenantClient(const config::TenantConfig& tenant) override;
  void LeaveTenant(const std::string& tenant) override;

  // tenants.NAME.max_transactions_per_second: true if a transaction may start now; otherwise
  // `session` is resumed (ClientSession::OnThrottleLifted) when a token is free.
  bool TakeTransactionToken(const config::TenantConfig& tenant, ClientSession* session) override;
  void CancelThrottleWait(const std::string& tenant, ClientSession* session) override;

 private:

  static constexpr int kListenBacklog = 1024;
  // Worker 0: the metrics endpoint (metrics.port, or this instance's under port_per_instance).
  Status ServeMetrics();
  Status Listen(uv_tcp_t* handle, const std::string& host, int port, bool reuse_port);
  int OwnPeerPort() const;

  // proxy_server_metrics.cc: sets the gauges that describe the present (connections by state, pools,
  // this worker's CPU time) and, on worker 0, mirrors process-wide totals.
  void UpdateMetrics();
  void MaybeFinishShutdown();

  void StartSignals();
  // No more Post; what is queued runs now; the async handle closes.
  void CloseMail();
  static void OnConnection(uv_stream_t* server, int status) noexcept;
  // A new client session on a stream `open` connects (uv_accept, or uv_tcp_open of a descriptor).
  void StartSession(const std::function<int(uv_stream_t*)>& open);
  // Every connection queued on the listening socket, as sessions (BeginShutdown, before closing it).
  void AcceptQueued();
  static void OnSignal(uv_signal_t* handle, int signum) noexcept;
  static void OnTick(uv_timer_t* timer) noexcept;
  void OnReloadLoaded(int status);
  // What a reload read: the file's config; with a tenant catalog, the catalog's last rows merged into it
  // (PrepareYaml); and, if compared beside the read, how what applies (`compared_to`: the merge, or the
  // file's config) differs from `compared_with` (the config running when the read began).
  struct LoadedConfig {
    Result<std::shared_ptr<const config::Config>> config;
    TenantCatalogState::PreparedYaml catalog;
    std::shared_ptr<const config::Config> compared_with;
    const config::Config* compared_to = nullptr;
    config::ConfigChange change;
  };
  // `read`: what was read, merged and compared beside the read if it was (SIGHUP, off the loop; the
  // console's RELOAD reads on the loop and merges and compares there).
  Status FinishReload(LoadedConfig read, std::string_view admin_user = {});
  // The tick's rate after a tick: busy while transactions ran since the last one, a client waits (for a
  // server connection or its tenant's transaction rate), an admin command waits, or the worker shuts
  // down; idle otherwise. TickOften: something starts to need the busy rate now.
  void PickTickRate(bool transactions_ran, bool clients_waiting);
  void TickOften();
  // Adaptive placement: this thread's CPU and the pools' transactions since the last report.
  void ReportLoad();

  WorkerGroup* group_;
  int index_;
  std::shared_ptr<const config::Config> config_;
  uint64_t config_generation_ = 0;
  Clock::time_point shutdown_deadline_{};
  AdminState admin_;
  uv_signal_t sighup_{};
  uv_loop_t loop_{};
  uv_tcp_t listener_{};
  bool listening_ = false;
  bool listener_closing_ = false;  // StopAccepting's close has not completed yet
  int pending_listen_fd_ = -1;     // StartAccepting while it had not: opened once it has
  uv_tcp_t peer_listener_{};  // this instance's own port under peers (OwnPeerPort), if any
  bool peer_listening_ = false;
  bool signals_ = false;      // worker 0: the signal handlers are ours
  uv_signal_t sigint_{};
  uv_signal_t sigterm_{};
  uv_signal_t sigpipe_{};
  uv_timer_t tick_{};
  struct PendingReload {
    uv_work_t work{};
    bool running = false;
    bool again = false;           // another SIGHUP came while the file was read
    uint64_t applied_before = 0;  // SharedState::yaml_reloads when it began
    std::shared_ptr<const config::Config> base;  // what ran when it began: compared with the new one
    std::optional<LoadedConfig> loaded;          // written by the pool thread
  };
  PendingReload reload_;
  std::atomic<std::chrono::steady_clock::rep> last_tick_{0};  // steady_clock ticks; see last_tick()
  std::unique_ptr<ProcessProbes> probes_;  // worker 0: /healthz and /readyz
  bool shutting_down_ = false;
  bool stopped_ = false;
  uint64_t next_session_id_ = 1;
  // The tick runs every kBusyTickMs while something needs it that often (PickTickRate), every
  // kIdleTickMs otherwise; what it does less often is due at these times.
  bool idle_ticks_ = false;
  Clock::time_point next_timeouts_{};
  Clock::time_point next_load_report_{};
  Clock::time_point next_tally_flush_{};
  Clock::time_point next_stats_log_{};
  uint64_t last_policy_lookups_ = 0;
  policy::VerdictMemo verdict_memo_;
  // ReportLoad's previous readings.
  double reported_cpu_seconds_ = 0;
  Clock::time_point reported_at_{};
  std::unordered_map<const ServerPool*, uint64_t> reported_acquisitions_;

  // Drops the loop's reading of the clock before each wait (proxy/io/loop_clock.h).
  uv_prepare_t clock_turn_{};

  // Tasks from other threads (Post), run on this loop.
  uv_async_t wake_{};
  std::mutex mail_mu_;
  std::vector<std::function<void(ProxyServer&)>> mail_;  // GUARDED_BY(mail_mu_)
  bool mail_closed_ = false;                             // GUARDED_BY(mail_mu_)

  // Sessions waiting for a transaction token of their tenant (the bucket is shared: TenantLimits).
  std::unordered_map<std::string, std::deque<ClientSession*>> throttled_;
  void WakeThrottled(Clock::time_point now);
  // What UpdateMetrics added to the shared per-tenant gauges, so it adds only the difference.
  struct GaugeCounts {
    int clients_active = 0, clients_idle = 0, clients_waiting = 0, servers_active = 0, servers_idle = 0, pool_size = 0;
  };
  std::map<std::string, GaugeCounts> reported_;
  // The same for pgtenant_backend_server_connections, by (backend, host, state).
  std::map<std::tuple<std::string, std::string, std::string_view>, int> reported_servers_;
  // When each throttled session queued (proxy_server_metrics.cc: the throttle delay).
  std::unordered_map<const ClientSession*, Clock::time_point> throttled_since_;
  void NoteThrottleLifted(const ClientSession* session, Clock::time_point now);

  // Every session of this worker (ClientSession::worker_slot is its index).
  std::vector<ClientSession*> sessions_;
  void AddSession(ClientSession* session);
  void RemoveSession(ClientSession* session);
  std::unordered_map<std::string, std::unique_ptr<BackendBudget>> budgets_;
  PoolMap pools_;
  // Pools a reload made obsolete (their identity changed or is gone): closing, kept until their
  // last connection has closed.
  std::vector<std::unique_ptr<ServerPool>> retired_pools_;
  std::unordered_multimap<int32_t, ClientSession*> cancel_targets_;  // by pid
  // InternRoute's routes, by pool identity; emptied when a reload applies (sessions keep theirs).
  std::unordered_map<routing::PoolIdentity, std::vector<std::shared_ptr<const routing::Route>>,
                     routing::PoolIdentityHash>
      routes_;
  // InternLogin's logins, by ClientLogin::Hash; expired entries are swept when the table has doubled.
  std::unordered_multimap<size_t, std::weak_ptr<const ClientLogin>> logins_;
  size_t logins_sweep_at_ = 64;
  // RouteFor's routes, by routing::Hash of the identity; emptied when a reload applies, and when it
  // holds kMaxKnownRoutes (identities a client makes up cost resolutions, not memory). Identities of
  // more than kMaxKnownIdentityBytes are not kept.
  struct KnownRoute {
    routing::ClientIdentity identity;
    const config::UserConfig* user = nullptr;
    std::shared_ptr<const routing::Route> route;
  };
  static constexpr size_t kMaxKnownRoutes = 4096;
  static constexpr size_t kMaxKnownIdentityBytes = 512;
  std::unordered_multimap<size_t, KnownRoute> known_routes_;
  HealthChecker health_;  // last: destroyed first
};

}  // namespace pgtenant::proxy
