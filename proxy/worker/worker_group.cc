// WorkerGroup: the workers' threads, the mail between them, pool placement and shared limits.
#include "proxy/worker/worker_group.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "protocol/random.h"
#include "proxy/telemetry/log.h"
#include "proxy/telemetry/service_notify.h"
#include "proxy/server/pool_placement.h"
#include "proxy/worker/config_thread.h"
#include "proxy/worker/proxy_server.h"
#include "proxy/io/tls_context.h"
#include "proxy/session/jwt_verifier.h"

namespace pgtenant::proxy {

namespace {

// Worker threads inspect SQL with libpg_query, whose output functions recurse once per level of a
// parse tree (policy/sql_parser.h bounds the depth for 8 MB): new threads get at least 8 MB of stack
// (glibc's default follows ulimit -s, and is 2 MB when that is unlimited; a thread's stack is mapped
// at its start, whatever the limit).
void EnsureThreadStack() {
  constexpr size_t kStack = size_t{8} << 20;
  pthread_attr_t attr;
  if (pthread_getattr_default_np(&attr) != 0) return;
  size_t size = 0;
  if (pthread_attr_getstacksize(&attr, &size) == 0 && size < kStack && pthread_attr_setstacksize(&attr, kStack) == 0)
    (void)pthread_setattr_default_np(&attr);
  pthread_attr_destroy(&attr);
}

}  // namespace

bool TenantLimits::Admit(const config::TenantConfig& tenant) {
  std::lock_guard<std::mutex> lock(mu_);
  State& state = tenants_[tenant.name];
  if (tenant.max_clients > 0 && state.clients >= tenant.max_clients) return false;
  ++state.clients;
  return true;
}

void TenantLimits::Leave(const std::string& tenant) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tenants_.find(tenant);
  if (it != tenants_.end() && it->second.clients > 0) --it->second.clients;
}

int TenantLimits::TakeTokens(const config::TenantConfig& tenant, int wanted, Clock::time_point now) {
  const double rate = tenant.max_transactions_per_second;
  // A tenth of a second's worth may start at once; the rest are spread evenly.
  const double burst = std::max(1.0, rate / 10.0);
  std::lock_guard<std::mutex> lock(mu_);
  State& state = tenants_[tenant.name];
  if (state.refilled == Clock::time_point{}) {
    state.tokens = burst;
  } else {
    state.tokens = std::min(burst, state.tokens + rate * std::chrono::duration<double>(now - state.refilled).count());
  }
  state.refilled = now;
  const int granted = std::min(wanted, static_cast<int>(std::floor(state.tokens)));
  state.tokens -= granted;
  return std::max(granted, 0);
}

WorkerGroup::WorkerGroup(std::shared_ptr<const config::Config> config, std::string config_path, int workers) {
  shared_.config_path = std::move(config_path);
  std::array<uint8_t, 32> secret{};
  protocol::FillRandom(secret);
  shared_.mock_secret.assign(reinterpret_cast<const char*>(secret.data()), secret.size());
  const int count = std::clamp(workers, 1, config::kMaxWorkers);
  idle_.assign(static_cast<size_t>(count), false);
  pools_per_worker_.assign(static_cast<size_t>(count), 0);
  cpu_.assign(static_cast<size_t>(count), 0.0);
  accepting_.assign(static_cast<size_t>(count), true);
  config = RetireOffLoop(std::move(config));  // freed off the loops once a reload replaces it
  for (int i = 0; i < count; ++i) workers_.push_back(std::make_unique<ProxyServer>(this, i, config));
}

WorkerGroup::~WorkerGroup() = default;

Status WorkerGroup::Run() {
  const config::Config& config = *workers_[0]->config();  // before any reload
  ConfigurePlacement(config);
  if (Status tls = PreloadConfigFiles(workers_[0]->config()); !tls.ok()) return tls;  // certificates, keys, JWT keys
  if (config.audit.enabled()) {
    auto audit = AuditLog::Open(config.audit);
    if (!audit.ok()) return audit.status();
    shared_.audit = std::move(audit.value());
  }
  shared_.peer_cancel.set_instance_id(instance_id_);
  shared_.metrics.SetInstanceId(instance_id_);  // build_info carries it
  Status started = workers_[0]->Start(-1);
  if (!started.ok()) {
    for (size_t i = 1; i < workers_.size(); ++i) workers_[i]->StopLoop();
    return started;
  }
  // Every worker listens before any loop runs.
  size_t started_workers = 1;
  for (size_t i = 1; i < workers_.size(); ++i) {
    const int fd = ::fcntl(workers_[0]->listen_fd(), F_DUPFD_CLOEXEC, 0);
    Status s = fd < 0 ? Status::Error("cannot duplicate the listen socket for worker " + std::to_string(i))
                      : workers_[i]->Start(fd);
    if (!s.ok()) {
      LogError("proxy", s.message() + "; shutting down");
      if (fd >= 0) ::close(fd);
      for (size_t j = i + 1; j < workers_.size(); ++j) workers_[j]->StopLoop();
      RequestShutdown("a worker could not start");
      break;
    }
    ++started_workers;
  }
  running_workers_ = started_workers;
  // Workers that never started count as done.
  for (size_t i = started_workers; i < workers_.size(); ++i) SetIdle(static_cast<int>(i), true);
  // Listening and configured: systemd (Type=notify) may start what comes after pgtenant.service.
  if (started_workers == workers_.size()) NotifyServiceManagerOrLog("READY=1");
  // Every worker runs on a thread of its own, worker 0 included: the main thread's stack follows
  // ulimit -s, which may be too small for libpg_query, and a thread's does not.
  EnsureThreadStack();
  std::vector<std::thread> threads;
  for (size_t i = 0; i < started_workers; ++i) threads.emplace_back([worker = workers_[i].get()] { worker->Serve(); });
  for (std::thread& t : threads) t.join();
  if (shared_.audit && !shared_.audit->FlushFor(AuditFlushBudget()))
    LogWarning("audit", "audit events still queued at shutdown were not all written");
  workers_[0]->LogPolicyCacheStats();
  LogInfo("proxy", "stopped");
  return Status::Ok();
}

std::chrono::milliseconds WorkerGroup::AuditFlushBudget() {
  using std::chrono::milliseconds;
  const milliseconds timeout = workers_[0]->config()->shutdown_timeout;
  std::lock_guard<std::mutex> lock(idle_mu_);
  if (!shutdown_requested_) return timeout;
  // The process exits within shutdown_timeout + 1 s of SIGTERM: the audit log gets what is left of
  // that, less a margin for the rest of the exit, and at least kMinAuditFlush.
  constexpr milliseconds kExitMargin{500};
  constexpr milliseconds kMinAuditFlush{100};
  const auto left = std::chrono::duration_cast<milliseconds>(shutdown_requested_at_ + timeout + kExitMargin -
                                                             std::chrono::steady_clock::now());
  return std::max(left, kMinAuditFlush);
}

std::vector<std::chrono::steady_clock::time_point> WorkerGroup::LastTicks() const {
  std::vector<std::chrono::steady_clock::time_point> ticks;
  for (size_t i = 0; i < running_workers_; ++i) ticks.push_back(workers_[i]->last_tick());
  return ticks;
}

bool WorkerGroup::Post(int index, std::function<void(ProxyServer&)> task) {
  if (index < 0 || index >= size()) return false;
  return workers_[static_cast<size_t>(index)]->Post(std::move(task));
}

void WorkerGroup::RunOnAll(ProxyServer& self, const std::function<void(ProxyServer&)>& task) {
  if (size() == 1) {
    task(self);
    return;
  }
  // One at a time. While waiting for its turn a worker keeps running what others ask of it, so
  // two admin consoles on two workers cannot wait for each other.
  std::unique_lock<std::mutex> turn(run_on_all_mu_, std::defer_lock);
  while (!turn.try_lock()) {
    self.DrainMail();
    std::this_thread::yield();
  }
  struct Countdown {
    std::mutex mu;
    std::condition_variable done;
    int left = 0;
  };
  auto countdown = std::make_shared<Countdown>();
  countdown->left = size() - 1;
  for (int i = 0; i < size(); ++i) {
    if (i == self.index()) continue;
    bool posted = Post(i, [countdown, &task](ProxyServer& worker) {
      task(worker);
      std::lock_guard<std::mutex> lock(countdown->mu);
      if (--countdown->left == 0) countdown->done.notify_one();
    });
    if (!posted) {  // that worker has stopped: nothing of it is left to ask
      std::lock_guard<std::mutex> lock(countdown->mu);
      --countdown->left;
    }
  }
  task(self);
  std::unique_lock<std::mutex> lock(countdown->mu);
  countdown->done.wait(lock, [&] { return countdown->left == 0; });
}

int WorkerGroup::HomeOf(const routing::Route& route) {
  if (size() == 1) return 0;
  // A backend's cap is counted by one worker, so its pools stay together.
  const bool capped = route.backend->max_connections > 0;
  const std::string pool_name = capped ? std::string() : routing::PoolName(route.pool_identity);
  const std::string key = capped ? "backend " + route.backend->name : "pool " + pool_name;
  std::lock_guard<std::mutex> lock(placement_mu_);
  auto it = homes_.find(key);
  if (it != homes_.end()) return it->second.worker;
  int home = 0;
  if (adaptive_) {
    home = PickHomeForNewPool(cpu_, busy_);
  } else {
    home = static_cast<int>(std::min_element(pools_per_worker_.begin(), pools_per_worker_.end()) -
                            pools_per_worker_.begin());
  }
  ++pools_per_worker_[static_cast<size_t>(home)];
  homes_.emplace(key, Home{home, !capped && route.pool.mode == config::PoolMode::kTransaction, 0, pool_name});
  return home;
}

void WorkerGroup::ConfigurePlacement(const config::Config& config) {
  std::lock_guard<std::mutex> lock(placement_mu_);
  adaptive_ = config.worker_placement == config::WorkerPlacement::kAdaptive;
  busy_ = config.worker_busy_percent / 100.0;
}

void WorkerGroup::ReportLoad(int index, double cpu, std::vector<std::pair<std::string, double>> pool_transactions) {
  std::optional<PoolMove> move;
  std::string moved_pool;  // the name of the pool that moves
  std::vector<std::pair<int, bool>> accept_changes;
  {
    std::lock_guard<std::mutex> lock(placement_mu_);
    if (index < 0 || index >= size()) return;
    cpu_[static_cast<size_t>(index)] = cpu;
    for (auto& [pool_name, transactions] : pool_transactions) {
      auto it = homes_.find("pool " + pool_name);
      if (it != homes_.end() && it->second.worker == index) it->second.transactions = transactions;
    }
    if (index != 0) return;
    // After a move the loads need a report from both sides before the next one is judged.
    if (adaptive_ && ++reports_since_move_ >= 2) {
      std::vector<PoolLoad> pools;
      for (const auto& [key, home] : homes_) pools.push_back({key, home.worker, home.transactions, home.movable});
      move = PlanPoolMove(cpu_, pools, busy_);
    }
    if (move) {
      Home& home = homes_.at(move->key);
      moved_pool = home.pool_name;
      home.worker = move->to;
      home.transactions = 0;
      --pools_per_worker_[static_cast<size_t>(move->from)];
      ++pools_per_worker_[static_cast<size_t>(move->to)];
      reports_since_move_ = 0;
      LogInfo("workers", move->key + " moves from worker " + std::to_string(move->from) + " (" +
                             std::to_string(static_cast<int>(cpu_[static_cast<size_t>(move->from)] * 100)) +
                             "% of a core) to worker " + std::to_string(move->to) + " (" +
                             std::to_string(static_cast<int>(cpu_[static_cast<size_t>(move->to)] * 100)) + "%)");
    }
    for (int w = 1; w < size(); ++w) {
      const size_t i = static_cast<size_t>(w);
      const bool wanted = !adaptive_ || pools_per_worker_[i] > 0 || cpu_[0] > busy_;
      if (wanted == accepting_[i]) continue;
      accepting_[i] = wanted;
      accept_changes.emplace_back(w, wanted);
    }
  }
  if (move) {
    const int to = move->to;
    Post(move->from, [moved_pool, to](ProxyServer& worker) { worker.PoolMovedAway(moved_pool, to); });
    Post(to, [moved_pool](ProxyServer& worker) { worker.PoolMovedHere(moved_pool); });
  }
  for (const auto& [w, on] : accept_changes) {
    if (!on) {
      Post(w, [](ProxyServer& worker) { worker.StopAccepting(); });
      continue;
    }
    // On worker 0's thread (its report): a new duplicate of its listen socket for worker w.
    const int listen_fd = workers_[0]->listen_fd();
    const int fd = listen_fd < 0 ? -1 : ::fcntl(listen_fd, F_DUPFD_CLOEXEC, 0);
    if (fd >= 0 && !Post(w, [fd](ProxyServer& worker) { worker.StartAccepting(fd); })) ::close(fd);
  }
}

bool WorkerGroup::SetIdle(int index, bool idle) {
  std::lock_guard<std::mutex> lock(idle_mu_);
  idle_[static_cast<size_t>(index)] = idle;
  return idle && moving_.load() == 0 && std::all_of(idle_.begin(), idle_.end(), [](bool b) { return b; });
}

void WorkerGroup::RequestShutdown(const std::string& why) {
  {
    std::lock_guard<std::mutex> lock(idle_mu_);
    if (shutdown_requested_) return;
    shutdown_requested_ = true;
    shutdown_requested_at_ = std::chrono::steady_clock::now();
  }
  draining_ = true;  // /readyz says so from now on
  NotifyServiceManagerOrLog("STOPPING=1");
  LogInfo("proxy", why + ": no new connections; open transactions may finish within " +
                       std::to_string(workers_[0]->config()->shutdown_timeout.count()) + " ms");
  for (int i = 0; i < size(); ++i) Post(i, [](ProxyServer& worker) { worker.BeginShutdown(); });
}

int DefaultWorkers() {
  const unsigned cores = std::thread::hardware_concurrency();
  return std::clamp(static_cast<int>(cores == 0 ? 1 : cores), 1, config::kMaxWorkers);
}

Status PreloadConfigFiles(const std::shared_ptr<const config::Config>& config) {
  if (Status tls = PreloadTlsFiles(config); !tls.ok()) return tls;
  if (config->auth_method == config::AuthMethod::kJwt) {
    auto jwt = JwtVerifierFor(config);
    if (!jwt.ok()) return jwt.status();
  }
  return Status::Ok();
}

}  // namespace pgtenant::proxy
