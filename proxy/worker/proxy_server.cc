// ProxyServer: start, accept, tick, reload, cancel keys (signals and shutdown: proxy_server_shutdown.cc).
#include "proxy/worker/proxy_server.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <optional>
#include <utility>

#include "config/config_change.h"
#include "protocol/random.h"
#include "protocol/sqlstate.h"
#include "proxy/worker/cancel_forwarder.h"
#include "proxy/session/client_session.h"
#include "proxy/telemetry/log.h"
#include "proxy/telemetry/service_notify.h"
#include "proxy/io/loop_clock.h"
#include "proxy/io/tls_context.h"

namespace pgtenant::proxy {

namespace {
// An idle worker's loop wakes only for its tick, and on a VM each wake-up costs about 0.4 ms of CPU
// however little the tick does: 10 a second were 0.5-1% of a core per idle worker.
constexpr uint64_t kBusyTickMs = 100;  // wait timeouts, throttling and PAUSE are this precise
constexpr uint64_t kIdleTickMs = 500;
constexpr std::chrono::milliseconds kTimeoutsEvery{500};  // client timeouts (CheckTimeouts)
constexpr std::chrono::seconds kLoadReportEvery{1};       // gauges and the load report to the group
constexpr std::chrono::seconds kTallyFlushEvery{1};       // the traffic counters' and histograms' flush (metrics.h)
constexpr std::chrono::seconds kStatsLogEvery{60};        // one verdict cache line a minute at most
}  // namespace

ProxyServer::ProxyServer(WorkerGroup* group, int index, std::shared_ptr<const config::Config> config)
    : group_(group),
      index_(index),
      config_(std::move(config)),
      config_generation_(group->shared().generation.load()),
      next_session_id_(static_cast<uint64_t>(index) + 1),
      health_(&loop_, index == 0 ? &group->shared().metrics : nullptr) {  // worker 0's checks feed the metrics
  uv_loop_init(&loop_);
  uv_async_init(&loop_, &wake_, [](uv_async_t* handle) { static_cast<ProxyServer*>(handle->data)->DrainMail(); });
  wake_.data = this;
  uv_prepare_init(&loop_, &clock_turn_);
  uv_prepare_start(&clock_turn_, [](uv_prepare_t*) { NewLoopTurn(); });
  uv_unref(reinterpret_cast<uv_handle_t*>(&clock_turn_));  // it does not keep the loop alive
}

void ProxyServer::Serve() {
  NewLoopTurn();
  uv_run(&loop_, UV_RUN_DEFAULT);
}

ProxyServer::~ProxyServer() { uv_loop_close(&loop_); }

bool ProxyServer::Post(std::function<void(ProxyServer&)> task) {
  std::lock_guard<std::mutex> lock(mail_mu_);
  if (mail_closed_) return false;
  mail_.push_back(std::move(task));
  uv_async_send(&wake_);  // under the lock: the handle is not closed before this returns
  return true;
}

void ProxyServer::DrainMail() {
  for (;;) {
    std::vector<std::function<void(ProxyServer&)>> tasks;
    {
      std::lock_guard<std::mutex> lock(mail_mu_);
      tasks.swap(mail_);
    }
    if (tasks.empty()) return;
    for (auto& task : tasks) task(*this);
  }
}

void ProxyServer::AdoptSession(ClientSession* session) {
  group_->SetIdle(index_, false);  // before the move is counted done: shutdown must not miss it
  AddSession(session);
  group_->SessionArrived();
}

void ProxyServer::ReleaseSession(ClientSession* session) {
  group_->SessionLeaving();
  RemoveSession(session);
}

bool ProxyServer::HandOver(ClientSession* session, int to, int fd) {
  if (group_->Post(to, [session, fd](ProxyServer& home) {
        home.AdoptSession(session);
        session->Arrive(home, fd);
      })) {
    return true;
  }
  // The worker has stopped, which shutdown allows only once no session is moving: not reached.
  LogError("session", "worker " + std::to_string(to) + " has stopped: connection closed");
  group_->SessionArrived();
  --group_->shared().clients;
  return false;
}

void ProxyServer::AddSession(ClientSession* session) {
  session->set_worker_slot(static_cast<uint32_t>(sessions_.size()));
  sessions_.push_back(session);
}

void ProxyServer::RemoveSession(ClientSession* session) {
  const uint32_t slot = session->worker_slot();
  if (slot >= sessions_.size() || sessions_[slot] != session) return;
  sessions_[slot] = sessions_.back();
  sessions_[slot]->set_worker_slot(slot);
  sessions_.pop_back();
}

int ProxyServer::listen_fd() const {
  uv_os_fd_t fd = -1;
  if (!listening_ || uv_fileno(reinterpret_cast<const uv_handle_t*>(&listener_), &fd) != 0) return -1;
  return fd;
}

// Binds `handle` to host:port and listens; with `reuse_port`, other processes may bind the port too.
// On failure the handle is closed and the error names the address.
Status ProxyServer::Listen(uv_tcp_t* handle, const std::string& host, int port, bool reuse_port) {
  struct sockaddr_storage addr{};
  int rc = uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr));
  if (rc != 0) rc = uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr));
  if (rc != 0) return Status::Error("listen.address \"" + host + "\" is not an IP address");
  uv_tcp_init(&loop_, handle);
  handle->data = this;
  if (reuse_port) {
    // Several pgtenant processes on one port (rolling restarts): the kernel spreads connections.
    int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
      if (fd >= 0) ::close(fd);
      uv_close(reinterpret_cast<uv_handle_t*>(handle), nullptr);
      return Status::Error("cannot create a SO_REUSEPORT listener: " + std::string(std::strerror(errno)));
    }
    uv_tcp_open(handle, fd);
  }
  rc = uv_tcp_bind(handle, reinterpret_cast<const sockaddr*>(&addr), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(handle), kListenBacklog, &ProxyServer::OnConnection);
  if (rc != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(handle), nullptr);
    return Status::Error("cannot listen on " + host + ":" + std::to_string(port) + ": " + uv_strerror(rc));
  }
  return Status::Ok();
}

// The port under `peers` of this instance, when it is not the shared listen port: processes sharing
// one port (listen.reuse_port) are told apart by it, so a cancel the kernel hands to a sibling is
// forwarded there. 0 when no extra port is needed.
int ProxyServer::OwnPeerPort() const {
  if (config_->peers.empty()) return 0;
  for (const config::PeerConfig& peer : config_->peers) {
    if (peer.id == group_->shared().peer_cancel.instance_id() && peer.port != config_->listen.port) return peer.port;
  }
  return 0;
}

Status ProxyServer::ServeMetrics() {
  const config::MetricsConfig& wanted = config_->metrics;
  if (!wanted.enabled) return Status::Ok();
  int port = wanted.port;
  if (wanted.port_per_instance) {
    const std::optional<int> id = group_->instance_id();
    if (!id) {
      return Status::Error("metrics.port_per_instance needs this instance's id: start pgtenant with --instance-id N "
                           "(or PGTENANT_INSTANCE_ID)");
    }
    port += *id;
    if (port > 65535) {
      return Status::Error("metrics.port_per_instance: metrics.port " + std::to_string(wanted.port) + " + instance id " +
                           std::to_string(*id) + " is above 65535");
    }
  }
  probes_ = std::make_unique<ProcessProbes>(group_, this);
  if (Status serving = metrics().Serve(&loop_, wanted, port, probes_.get()); !serving.ok()) return serving;
  const std::string base = "http://" + config::DescribeAddress(wanted.address, port);
  LogInfo("metrics", "serving Prometheus metrics on " + base + "/metrics, probes on " + base + "/healthz and " + base +
                         "/readyz" + (wanted.reuse_port ? " (port shared with SO_REUSEPORT)" : ""));
  return Status::Ok();
}

Status ProxyServer::Start(int listen_fd) {
  const std::string& host = config_->listen.address;
  if (index_ == 0) {  // one list for all workers
    if (Status peers = peer_cancel().Configure(config_->peers); !peers.ok()) return peers;
  }
  if (index_ == 0) {
    if (Status serving = ServeMetrics(); !serving.ok()) return serving;
    Status listening = Listen(&listener_, host, config_->listen.port, config_->listen.reuse_port);
    if (listening.ok()) {
      listening_ = true;
      if (const int peer_port = OwnPeerPort(); peer_port != 0) {
        listening = Listen(&peer_listener_, host, peer_port, false);
        if (listening.ok()) {
          peer_listening_ = true;
          LogInfo("proxy", "also listening on " + host + ":" + std::to_string(peer_port) +
                               ", this instance's address under peers");
        }
      }
    }
    if (!listening.ok()) {
      StopLoop();
      return listening;
    }
    StartSignals();
  } else {
    // The same listening socket: the kernel wakes whichever loop is free to accept.
    uv_tcp_init(&loop_, &listener_);
    listener_.data = this;
    int rc = uv_tcp_open(&listener_, listen_fd);
    if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), kListenBacklog, &ProxyServer::OnConnection);
    if (rc != 0) {
      uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
      StopLoop();
      return Status::Error("worker " + std::to_string(index_) + " cannot accept on the listen socket: " +
                           uv_strerror(rc));
    }
    listening_ = true;
  }

  last_tick_ = std::chrono::steady_clock::now().time_since_epoch().count();
  uv_timer_init(&loop_, &tick_);
  tick_.data = this;
  next_stats_log_ = Clock::now() + kStatsLogEvery;
  admin_.set_on_waiter([this] { TickOften(); });
  uv_timer_start(&tick_, &ProxyServer::OnTick, kBusyTickMs, kBusyTickMs);
  health_.Apply(*config_);
  if (index_ == 0) {
    LogInfo("proxy", "listening on " + host + ":" + std::to_string(config_->listen.port) + " with " +
                         std::to_string(group_->size()) + (group_->size() == 1 ? " worker" : " workers") +
                         (config_->peers.empty() ? "" : " as instance " + std::to_string(peer_cancel().instance_id())));
  }
  return Status::Ok();
}

void ProxyServer::StartSignals() {
  signals_ = true;
  for (auto [handle, signum] : {std::pair{&sigint_, SIGINT}, std::pair{&sigterm_, SIGTERM}}) {
    uv_signal_init(&loop_, handle);
    handle->data = this;
    uv_signal_start(handle, &ProxyServer::OnSignal, signum);
  }
  // SIGHUP: reload, and reopen audit files (logrotate).
  uv_signal_init(&loop_, &sighup_);
  sighup_.data = this;
  uv_signal_start(&sighup_, [](uv_signal_t* handle, int) {
    auto* self = static_cast<ProxyServer*>(handle->data);
    LogInfo("proxy", "received SIGHUP: reloading " + self->group_->shared().config_path +
                         " and reopening audit files");
    NotifyServiceManagerOrLog(ReloadingState());
    if (self->auditing()) self->group_->shared().audit->Reopen();
    self->BeginReload();  // READY=1 once it is applied (or refused)
  }, SIGHUP);
  // A peer that vanishes mid-write must not kill the process.
  uv_signal_init(&loop_, &sigpipe_);
  uv_signal_start(&sigpipe_, [](uv_signal_t*, int) {}, SIGPIPE);
  uv_unref(reinterpret_cast<uv_handle_t*>(&sigpipe_));
}

// A worker that could not start: close what is open and let the loop end.
void ProxyServer::StopLoop() {
  if (index_ == 0) metrics().StopServing();
  if (listening_) uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
  if (peer_listening_) uv_close(reinterpret_cast<uv_handle_t*>(&peer_listener_), nullptr);
  listening_ = peer_listening_ = false;
  CloseMail();
  uv_run(&loop_, UV_RUN_DEFAULT);
}

void ProxyServer::CloseMail() {
  {
    std::lock_guard<std::mutex> lock(mail_mu_);
    mail_closed_ = true;
  }
  DrainMail();
  if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&wake_))) uv_close(reinterpret_cast<uv_handle_t*>(&wake_), nullptr);
  if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&clock_turn_)))
    uv_close(reinterpret_cast<uv_handle_t*>(&clock_turn_), nullptr);
}

void ProxyServer::OnConnection(uv_stream_t* server, int status) noexcept {
  auto* self = static_cast<ProxyServer*>(server->data);
  if (status < 0) {
    LogWarning("proxy", std::string("accept failed: ") + uv_strerror(status));
    return;
  }
  self->StartSession([server](uv_stream_t* client) { return uv_accept(server, client); });
}

void ProxyServer::StartSession(const std::function<int(uv_stream_t*)>& open) {
  SharedState& shared = group_->shared();
  bool over = shared.clients.load() >= static_cast<size_t>(config_->max_client_connections);
  auto* session = new ClientSession(this, config_, next_session_id_, over);
  next_session_id_ += static_cast<uint64_t>(group_->size());  // ids stay unique across workers
  ++shared.clients;
  if (open(session->stream()) != 0) {
    session->Terminate(Status::Error(sqlstate::kConnectionFailure, "accept failed"));
    AddSession(session);
    return;
  }
  AddSession(session);
  session->Start();
}

void ProxyServer::AcceptQueued() {
  // Connects the kernel completed on the listening socket since libuv last accepted would be reset
  // when it closes (a restart's old instance: README, "Scale-out").
  // Taken here, they are sessions like any other, and the drain serves them (DrainWaitsForTransaction).
  uv_os_fd_t listen_fd = -1;
  if (uv_fileno(reinterpret_cast<const uv_handle_t*>(&listener_), &listen_fd) != 0) return;
  for (;;) {
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // EAGAIN: none left
    }
    StartSession([fd](uv_stream_t* client) {
      const int rc = uv_tcp_open(reinterpret_cast<uv_tcp_t*>(client), fd);
      if (rc != 0) ::close(fd);
      return rc;
    });
  }
}

ServerPool* ProxyServer::PoolFor(const routing::Route& route) {
  auto it = pools_.find(route.pool_identity);
  if (it != pools_.end()) return it->second.get();
  std::unique_ptr<BackendBudget>& budget = budgets_[route.backend->name];
  if (!budget) budget = std::make_unique<BackendBudget>(route.backend->name, route.backend->max_connections);
  auto pool = std::make_unique<ServerPool>(&loop_, route.pool_identity, route.pool, budget.get());
  pool->set_backend_series(metrics().ForBackend(route.backend->name));
  pool->set_health(health_.For(route.backend->name));
  pool->set_on_wait([this] { TickOften(); });
  ServerPool* raw = pool.get();
  pools_.emplace(route.pool_identity, std::move(pool));
  return raw;
}

int32_t ProxyServer::RegisterCancelTarget(ClientSession* session, int32_t* key) {
  for (;;) {
    const int32_t pid = peer_cancel().NewPid(index_);  // names this instance and worker, for cancels that reach another
    *key = protocol::RandomInt32();
    auto [first, last] = cancel_targets_.equal_range(pid);
    if (std::any_of(first, last, [key](const auto& entry) { return entry.second->cancel_key() == *key; })) continue;
    cancel_targets_.emplace(pid, session);
    return pid;
  }
}

void ProxyServer::UnregisterCancelTarget(ClientSession* session, int32_t pid) {
  auto [first, last] = cancel_targets_.equal_range(pid);
  for (auto it = first; it != last; ++it) {
    if (it->second == session) {
      cancel_targets_.erase(it);
      return;
    }
  }
}

void ProxyServer::HandleCancelRequest(int32_t pid, int32_t key, bool asked_all) {
  const int worker = PeerCancel::WorkerOf(pid);
  const bool ours = PeerCancel::InstanceOf(pid) == peer_cancel().instance_id();
  if (ours && !asked_all && worker != index_ && worker < group_->size()) {
    group_->Post(worker, [pid, key](ProxyServer& owner) { owner.HandleCancelRequest(pid, key); });
    return;
  }
  auto [first, last] = cancel_targets_.equal_range(pid);
  for (auto it = first; it != last; ++it) {
    const int32_t expected = it->second->cancel_key();
    if (CRYPTO_memcmp(&expected, &key, sizeof(key)) == 0) {
      metrics().CountCancel("matched");
      it->second->CancelRunningQuery();
      return;
    }
  }
  if (asked_all) return;
  if (ours && group_->size() > 1) {  // the session may have moved with its pool
    for (int i = 0; i < group_->size(); ++i) {
      if (i != index_) group_->Post(i, [pid, key](ProxyServer& other) { other.HandleCancelRequest(pid, key, true); });
    }
    return;
  }
  if (first == last && peer_cancel().Forward(&loop_, pid, key)) {  // another instance's
    metrics().CountCancel("forwarded");
    return;
  }
  metrics().CountCancel("unmatched");
  LogInfo("cancel", "cancel request with an unknown key ignored");
}

void ProxyServer::ForwardCancel(const config::BackendConfig& backend, int32_t pid, int32_t key) {
  CancelForwarder::Send(&loop_, backend, pid, key);
}

void ProxyServer::OnSessionClosed(ClientSession* session) {
  RemoveSession(session);
  --group_->shared().clients;
  if (shutting_down_) MaybeFinishShutdown();
}

bool ProxyServer::AdmitTenantClient(const config::TenantConfig& tenant) { return group_->shared().limits.Admit(tenant); }

void ProxyServer::LeaveTenant(const std::string& tenant) { group_->shared().limits.Leave(tenant); }

bool ProxyServer::TakeTransactionToken(const config::TenantConfig& tenant, ClientSession* session) {
  std::deque<ClientSession*>& queue = throttled_[tenant.name];
  if (queue.empty() && group_->shared().limits.TakeTokens(tenant, 1, Clock::now()) == 1) return true;
  queue.push_back(session);
  throttled_since_[session] = LoopNow();
  TickOften();
  return false;
}

void ProxyServer::WakeThrottled(Clock::time_point now) {
  for (auto& [name, queue] : throttled_) {
    if (queue.empty()) continue;
    const config::TenantConfig* tenant = config_->FindTenant(name);
    if (tenant == nullptr) continue;
    int granted = group_->shared().limits.TakeTokens(*tenant, static_cast<int>(queue.size()), now);
    while (granted-- > 0 && !queue.empty()) {
      ClientSession* session = queue.front();
      queue.pop_front();
      NoteThrottleLifted(session, now);
      session->OnThrottleLifted();
    }
  }
}

void ProxyServer::CancelThrottleWait(const std::string& tenant, ClientSession* session) {
  auto it = throttled_.find(tenant);
  if (it == throttled_.end()) return;
  auto& queue = it->second;
  queue.erase(std::remove(queue.begin(), queue.end(), session), queue.end());
  throttled_since_.erase(session);
}

config::ConfigChange ProxyServer::ApplyNewConfig(std::shared_ptr<const config::Config> next,
                                                 const config::ConfigChange* compared) {
  SharedState& shared = group_->shared();
  if (next->workers != config_->workers) {
    LogWarning("config", "workers changed from " + std::to_string(config_->workers) + " to " +
                             std::to_string(next->workers) + ": that takes a restart; " +
                             std::to_string(group_->size()) + " workers keep running");
  }
  // Compared once here (or beside the read), not on every worker.
  config::ConfigChange change = compared != nullptr ? *compared : config::CompareConfigs(*config_, *next);
  const uint64_t generation = ++shared.generation;
  group_->RunOnAll(*this, [&next, generation, &change](ProxyServer& worker) {
    worker.ApplyConfig(next, generation, change);
  });
  group_->ConfigurePlacement(*next);
  shared.policy.ClearCache();  // cached verdicts are keyed by the old snapshot
  return change;
}

namespace {

// Whether `change` can give the pool `identity` another identity or other settings: its identity and
// settings are read from its backend, tenant and settings user, the tenant setting and the top pool.
bool Touches(const config::ConfigChange& change, const routing::PoolIdentity& identity) {
  return change.all_pools || change.backends.count(identity.backend.backend) != 0 ||
         (!identity.shared() && change.tenants.count(identity.tenant) != 0) ||
         (!identity.settings_user.empty() && change.users.count(identity.settings_user) != 0);
}

}  // namespace

void ProxyServer::ApplyConfig(std::shared_ptr<const config::Config> next, uint64_t generation,
                              const config::ConfigChange& change) {
  // A pool keeps its server connections when the new config gives it the same identity (the
  // backend's connection settings, the tenant context, ...); otherwise it closes, and sessions find
  // the pool of their new route at their next transaction. Pool settings apply to live pools. Pools
  // of entries the change does not name are left as they are, without a look.
  for (auto it = pools_.begin(); it != pools_.end();) {
    ServerPool& pool = *it->second;
    const routing::PoolIdentity& identity = pool.identity();
    if (!Touches(change, identity)) {
      ++it;
      continue;
    }
    if (routing::PoolIdentityUnder(*next, identity) == identity) {
      const config::TenantConfig* tenant = identity.shared() ? nullptr : next->FindTenant(identity.tenant);
      const config::UserConfig* user = identity.settings_user.empty() ? nullptr : next->FindUser(identity.settings_user);
      pool.UpdateSettings(next->ResolvePool(tenant, user));
      ++it;
      continue;
    }
    LogInfo("config", "pool " + pool.name() + " closes: the reload changed what its server connections are");
    pool.CloseAll();
    retired_pools_.push_back(std::move(it->second));
    it = pools_.erase(it);
  }
  for (auto& [name, budget] : budgets_) {
    const config::BackendConfig* backend = next->FindBackend(name);
    if (backend != nullptr) budget->set_cap(backend->max_connections);
  }
  config_ = std::move(next);
  config_generation_ = generation;
  routes_.clear();  // they point into the old snapshot
  known_routes_.clear();
  health_.Apply(*config_);
  if (index_ == 0) {
    if (Status peers = peer_cancel().Configure(config_->peers); !peers.ok()) LogWarning("cancel", peers.message());
  }
}

void ProxyServer::OnTick(uv_timer_t* timer) noexcept {
  auto* self = static_cast<ProxyServer*>(timer->data);
  Clock::time_point now = Clock::now();
  self->last_tick_ = std::chrono::steady_clock::now().time_since_epoch().count();
  bool clients_waiting = false;
  for (auto& [key, pool] : self->pools_) {
    pool->Tick(now);
    clients_waiting = clients_waiting || pool->waiting_count() > 0;
  }
  for (auto it = self->retired_pools_.begin(); it != self->retired_pools_.end();) {
    if ((*it)->empty()) {
      it = self->retired_pools_.erase(it);
    } else {
      (*it)->Tick(now);
      ++it;
    }
  }
  self->WakeThrottled(now);
  for (const auto& [tenant, queue] : self->throttled_) clients_waiting = clients_waiting || !queue.empty();
  self->admin_.Tick();  // a console's PAUSE waiting for transactions in flight
  // Due within half a busy tick counts as due: a timer that fires a little early is not a turn late.
  const Clock::time_point due = now + std::chrono::milliseconds(kBusyTickMs / 2);
  const bool flush = due >= self->next_tally_flush_ || self->shutting_down_;
  if (flush) self->next_tally_flush_ = now + kTallyFlushEvery;
  bool transactions_ran = Metrics::TakeThreadActivity();
  if (flush) transactions_ran = Metrics::FlushThreadTally() || transactions_ran;
  if (due >= self->next_load_report_) {
    self->next_load_report_ = now + kLoadReportEvery;
    self->UpdateMetrics();
    if (self->group_->size() > 1) self->ReportLoad();
  }
  if (due >= self->next_timeouts_ || self->shutting_down_) {
    self->next_timeouts_ = now + kTimeoutsEvery;
    std::vector<ClientSession*> sessions(self->sessions_.begin(), self->sessions_.end());
    for (ClientSession* s : sessions) s->CheckTimeouts(now);
  }
  if (due >= self->next_stats_log_) {
    self->next_stats_log_ = now + kStatsLogEvery;
    self->LogPolicyCacheStats();
  }
  if (self->shutting_down_) self->MaybeFinishShutdown();
  self->PickTickRate(transactions_ran, clients_waiting);
}

void ProxyServer::PickTickRate(bool transactions_ran, bool clients_waiting) {
  const bool busy = transactions_ran || clients_waiting || admin_.has_waiters() || shutting_down_;
  if (busy == !idle_ticks_ || uv_is_closing(reinterpret_cast<uv_handle_t*>(&tick_))) return;
  idle_ticks_ = !busy;
  const uint64_t every = busy ? kBusyTickMs : kIdleTickMs;
  uv_timer_start(&tick_, &ProxyServer::OnTick, every, every);
}

void ProxyServer::TickOften() {
  if (!idle_ticks_ || uv_is_closing(reinterpret_cast<uv_handle_t*>(&tick_))) return;
  idle_ticks_ = false;
  uv_timer_start(&tick_, &ProxyServer::OnTick, kBusyTickMs, kBusyTickMs);
}

void ProxyServer::LogPolicyCacheStats() {
  policy::PolicyEngine::CacheStats stats = policy().cache_stats();
  uint64_t lookups = stats.hits + stats.misses;
  if (lookups == last_policy_lookups_) return;  // nothing new to say
  last_policy_lookups_ = lookups;
  char ratio[16];
  std::snprintf(ratio, sizeof(ratio), "%.3f", lookups ? static_cast<double>(stats.hits) / lookups : 0.0);
  LogInfo("policy", "verdict cache: hits " + std::to_string(stats.hits) + ", misses " + std::to_string(stats.misses) +
                        ", hit ratio " + ratio + ", entries " + std::to_string(stats.entries) + ", bytes " +
                        std::to_string(stats.bytes));
}

}  // namespace pgtenant::proxy
