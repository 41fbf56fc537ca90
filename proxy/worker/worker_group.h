// WorkerGroup: pgtenant's event-loop threads (`workers: N`) and what they share.
//
// Each worker is a ProxyServer with a loop, a thread, client sessions and server pools of its own.
// All of them accept on the listen socket (one socket, one descriptor per worker), so TLS
// handshakes, authentication and startup run wherever the kernel hands a connection. Once a
// client is authenticated and routed, its session moves to the worker that owns the route's pool
// (ClientSession::MoveTo): every pool lives on one worker at a time, so pool sizes, waits and
// backend caps (max_connections) keep their meaning, and no lock is taken on the forwarding path.
// The pools of a backend with max_connections stay together, since the cap is counted per worker.
// Placement (`worker_placement`): `spread` puts a new pool on the worker with the fewest pools, for
// good. `adaptive` (proxy/server/pool_placement.h) fills the lowest worker until its thread is busy and
// moves pools as load changes: every second each worker reports its thread's CPU and its pools'
// transactions, and worker 0 moves at most one pool. A moved pool's sessions follow it at their
// next transaction (ClientSession::Migrate); its old connections close as they come back. Only
// transaction-pooling pools of backends without max_connections move. Workers other than 0 that
// hold no pool stop accepting while worker 0 is not busy: they would only hand each connection on.
// A single busy pool is served by one thread; many tenants spread over all of them.
//
// What crosses workers:
//   - Post(): a task for another worker's loop (a cancel request, a moving session, a moved pool);
//   - RunOnAll(): a task on every worker, waited for (admin console commands, reload);
//   - Shared(): process-wide state: metrics, audit, verdict cache, per-tenant limits, and the
//     total number of client connections.
//
// Worker 0 runs on the thread that calls Run() and owns the signals, the metrics endpoint and the
// health-check metrics. Shutdown: every worker stops accepting and ends its sessions; the loops
// end together once none has a session left and no session is moving.
//
// Thread-safety: Post, RunOnAll (from a worker's loop thread), HomeOf and Shared() may be called
// from any worker's thread.
#pragma once

#include <uv.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config/config.h"
#include "policy/policy_engine.h"
#include "protocol/status.h"
#include "proxy/telemetry/audit_log.h"
#include "proxy/telemetry/metrics.h"
#include "proxy/worker/peer_cancel.h"
#include "proxy/worker/tenant_catalog_state.h"
#include "routing/route.h"

namespace pgtenant::proxy {

class ClientSession;
class ProxyServer;

// Per-tenant limits shared by all workers: clients against max_clients, and the token bucket of
// max_transactions_per_second. Thread-safe (one mutex).
class TenantLimits {
 public:
  using Clock = std::chrono::steady_clock;
  bool Admit(const config::TenantConfig& tenant);
  void Leave(const std::string& tenant);
  // Takes up to `wanted` tokens of the tenant's bucket (refilled first); returns how many.
  int TakeTokens(const config::TenantConfig& tenant, int wanted, Clock::time_point now);

 private:
  struct State {
    int clients = 0;
    double tokens = 0;
    Clock::time_point refilled{};
  };
  std::mutex mu_;
  std::unordered_map<std::string, State> tenants_;  // GUARDED_BY(mu_)
};

// What every worker shares. Members are thread-safe themselves.
struct SharedState {
  std::string config_path;
  std::string mock_secret;  // SCRAM exchanges for unknown users look like real ones
  Metrics metrics;
  policy::PolicyEngine policy;
  std::unique_ptr<AuditLog> audit;  // null without audit sinks
  TenantLimits limits;
  PeerCancel peer_cancel;  // the instance id, the peers, and the forwards of every worker
  std::atomic<size_t> clients{0};   // client connections of all workers, against max_client_connections
  std::atomic<uint64_t> generation{0};  // of the newest config snapshot
  std::atomic<uint64_t> yaml_reloads{0};  // reloads of the config file applied so far
  TenantCatalogState catalog;  // the last YAML and tenant catalog rows (tenant_catalog:)
};

class WorkerGroup {
 public:
  // `workers` >= 1.
  WorkerGroup(std::shared_ptr<const config::Config> config, std::string config_path, int workers);
  ~WorkerGroup();
  WorkerGroup(const WorkerGroup&) = delete;
  WorkerGroup& operator=(const WorkerGroup&) = delete;

  // Starts every worker and serves until shutdown; returns an error if the listener cannot be bound.
  Status Run();

  int size() const { return static_cast<int>(workers_.size()); }
  SharedState& shared() { return shared_; }
  // The instance id in cancel keys (set before Run).
  void set_instance_id(std::optional<int> id) { instance_id_ = id; }
  // --instance-id / PGTENANT_INSTANCE_ID, if given.
  std::optional<int> instance_id() const { return instance_id_; }
  // Each running worker's last tick, by index (liveness: process_probes.h). Any thread.
  std::vector<std::chrono::steady_clock::time_point> LastTicks() const;
  // Shutdown has been asked for (SIGTERM, SIGINT, SHUTDOWN): the process is draining. Any thread.
  bool draining() const { return draining_.load(); }

  // Queues `task` for worker `index`'s loop thread. False once that worker has stopped.
  bool Post(int index, std::function<void(ProxyServer&)> task);
  // Runs `task` on every worker, `self` inline, the others on their threads, and returns when all
  // have run it. REQUIRES: called on `self`'s loop thread.
  void RunOnAll(ProxyServer& self, const std::function<void(ProxyServer&)>& task);
  // The worker that owns the pool of `route` (placing it on first use).
  int HomeOf(const routing::Route& route);
  // worker_placement and worker_busy_percent of the running configuration (Run, reload).
  void ConfigurePlacement(const config::Config& config);
  // Adaptive placement: worker `index` used `cpu` of a core over the last second, and its pools
  // (by pool name, routing::PoolName) had these transactions. Worker 0's report also rebalances (pool_placement.h).
  void ReportLoad(int index, double cpu, std::vector<std::pair<std::string, double>> pool_transactions);

  // Sessions moving between workers, counted so shutdown waits for them.
  void SessionLeaving() { ++moving_; }
  void SessionArrived() { --moving_; }
  // A worker says whether it has nothing left (shutting down, no session, no server connection);
  // true once every worker has nothing left and no session is moving: the loops may end.
  bool SetIdle(int index, bool idle);

  // Asks every worker to shut down (SIGTERM, SHUTDOWN); `why` goes to the log.
  void RequestShutdown(const std::string& why);

 private:
  SharedState shared_;
  std::optional<int> instance_id_;
  std::vector<std::unique_ptr<ProxyServer>> workers_;
  std::atomic<int> moving_{0};
  std::mutex idle_mu_;
  std::vector<bool> idle_;  // GUARDED_BY(idle_mu_)

  struct Home {
    int worker = 0;
    bool movable = false;  // transaction pooling, no max_connections on the backend
    double transactions = 0;  // in the last report of its worker
    std::string pool_name;    // routing::PoolName of the pool; empty for a backend's home
  };
  std::mutex placement_mu_;
  std::map<std::string, Home> homes_;  // "pool KEY" or "backend NAME" -> where; GUARDED_BY(placement_mu_)
  std::vector<int> pools_per_worker_;  // GUARDED_BY(placement_mu_)
  std::vector<double> cpu_;            // per worker, share of a core; GUARDED_BY(placement_mu_)
  bool adaptive_ = true;               // GUARDED_BY(placement_mu_)
  double busy_ = 0.7;                  // GUARDED_BY(placement_mu_)
  int reports_since_move_ = 0;         // worker 0's reports; GUARDED_BY(placement_mu_)
  std::vector<bool> accepting_;        // per worker, as last asked; GUARDED_BY(placement_mu_)

  std::mutex run_on_all_mu_;  // one RunOnAll at a time
  bool shutdown_requested_ = false;  // GUARDED_BY(idle_mu_)
  std::chrono::steady_clock::time_point shutdown_requested_at_{};  // GUARDED_BY(idle_mu_)
  // How long Run waits for the audit log at exit: the rest of shutdown_timeout + 1 s after SIGTERM.
  std::chrono::milliseconds AuditFlushBudget();
  std::atomic<bool> draining_{false};
  size_t running_workers_ = 0;  // started by Run, before any loop runs
};

// The default of `workers`: one per CPU core.
int DefaultWorkers();

// Every file `config` names, loaded into its cache: TLS certificates, keys and CAs
// (PreloadTlsFiles) and the JWT keys (JwtVerifierFor). A bad file fails at start, at reload and in
// --check-config instead of at a client's first handshake. REQUIRES: loop thread.
Status PreloadConfigFiles(const std::shared_ptr<const config::Config>& config);

}  // namespace pgtenant::proxy
