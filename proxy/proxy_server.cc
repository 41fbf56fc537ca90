// ProxyServer: accept, tick, signals, shutdown.
#include "proxy/proxy_server.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>

#include "protocol/random.h"
#include "protocol/sqlstate.h"
#include "proxy/cancel_forwarder.h"
#include "proxy/client_session.h"
#include "proxy/log.h"
#include "proxy/tls_context.h"

namespace pgtenant::proxy {

namespace {
constexpr uint64_t kTickMs = 100;
constexpr int kListenBacklog = 1024;
constexpr unsigned kStatsLogTicks = 600;  // one line a minute at most
}  // namespace

ProxyServer::ProxyServer(std::shared_ptr<const config::Config> config, std::string config_path)
    : config_(std::move(config)), config_path_(std::move(config_path)) {
  std::array<uint8_t, 32> secret{};
  protocol::FillRandom(secret);
  mock_secret_.assign(reinterpret_cast<const char*>(secret.data()), secret.size());
  uv_loop_init(&loop_);
}

ProxyServer::~ProxyServer() { uv_loop_close(&loop_); }

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
    if (peer.id == peer_cancel_.instance_id() && peer.port != config_->listen.port) return peer.port;
  }
  return 0;
}

Status ProxyServer::Run() {
  const std::string& host = config_->listen.address;
  if (config_->metrics.enabled) {
    Status serving = metrics_.Serve(&loop_, config_->metrics);
    if (!serving.ok()) return serving;
    LogInfo("metrics", "serving Prometheus metrics on http://" + config_->metrics.address + ":" +
                           std::to_string(config_->metrics.port) + "/metrics");
  }
  if (Status tls = PreloadTlsFiles(config_); !tls.ok()) return tls;  // certificates, keys, JWT keys
  if (Status peers = peer_cancel_.Configure(config_->peers); !peers.ok()) return peers;
  if (config_->audit.enabled()) {
    auto audit = AuditLog::Open(config_->audit);
    if (!audit.ok()) return audit.status();
    audit_ = std::move(audit.value());
  }

  Status listening = Listen(&listener_, host, config_->listen.port, config_->listen.reuse_port);
  if (listening.ok()) {
    if (const int peer_port = OwnPeerPort(); peer_port != 0) {
      listening = Listen(&peer_listener_, host, peer_port, false);
      if (listening.ok()) {
        peer_listening_ = true;
        LogInfo("proxy", "also listening on " + host + ":" + std::to_string(peer_port) +
                             ", this instance's address under peers");
      } else {
        uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
      }
    }
  }
  if (!listening.ok()) {
    metrics_.StopServing();
    uv_run(&loop_, UV_RUN_DEFAULT);
    return listening;
  }

  for (auto [handle, signum] : {std::pair{&sigint_, SIGINT}, std::pair{&sigterm_, SIGTERM}}) {
    uv_signal_init(&loop_, handle);
    handle->data = this;
    uv_signal_start(handle, &ProxyServer::OnSignal, signum);
  }
  // SIGHUP: reopen audit files (logrotate).
  uv_signal_init(&loop_, &sighup_);
  sighup_.data = this;
  uv_signal_start(&sighup_, [](uv_signal_t* handle, int) {
    auto* self = static_cast<ProxyServer*>(handle->data);
    LogInfo("proxy", "received SIGHUP: reloading " + self->config_path_ + " and reopening audit files");
    if (self->audit_) self->audit_->Reopen();
    (void)self->Reload();  // a bad file is logged, audited and counted; the running config stays
  }, SIGHUP);
  // A peer that vanishes mid-write must not kill the process.
  uv_signal_init(&loop_, &sigpipe_);
  uv_signal_start(&sigpipe_, [](uv_signal_t*, int) {}, SIGPIPE);
  uv_unref(reinterpret_cast<uv_handle_t*>(&sigpipe_));

  uv_timer_init(&loop_, &tick_);
  tick_.data = this;
  uv_timer_start(&tick_, &ProxyServer::OnTick, kTickMs, kTickMs);

  health_.Apply(*config_);
  LogInfo("proxy", "listening on " + host + ":" + std::to_string(config_->listen.port) +
                       (config_->peers.empty() ? "" : " as instance " + std::to_string(peer_cancel_.instance_id())));
  uv_run(&loop_, UV_RUN_DEFAULT);
  if (audit_ && !audit_->FlushFor(config_->shutdown_timeout))
    LogWarning("audit", "audit events still queued at shutdown were not all written");
  LogPolicyCacheStats();
  LogInfo("proxy", "stopped");
  return Status::Ok();
}

void ProxyServer::OnConnection(uv_stream_t* server, int status) noexcept {
  auto* self = static_cast<ProxyServer*>(server->data);
  if (status < 0) {
    LogWarning("proxy", std::string("accept failed: ") + uv_strerror(status));
    return;
  }
  bool over = self->sessions_.size() >= static_cast<size_t>(self->config_->max_client_connections);
  auto* session = new ClientSession(self, self->config_, self->next_session_id_++, over);
  if (uv_accept(server, session->stream()) != 0) {
    session->Terminate(Status::Error(sqlstate::kConnectionFailure, "accept failed"));
    self->sessions_.insert(session);
    return;
  }
  self->sessions_.insert(session);
  session->Start();
}

ServerPool* ProxyServer::PoolFor(const routing::Route& route) {
  auto it = pools_.find(route.pool_key);
  if (it != pools_.end()) return it->second.get();
  std::unique_ptr<BackendBudget>& budget = budgets_[route.backend->name];
  if (!budget) budget = std::make_unique<BackendBudget>(route.backend->name, route.backend->max_connections);
  auto pool = std::make_unique<ServerPool>(&loop_, route.pool_key, *route.backend, route.pool, route.server_startup,
                                           budget.get());
  pool->set_tenant_label(route.shared_pool ? "(shared)" : route.tenant->name);
  pool->set_backend_series(metrics_.ForBackend(route.backend->name));
  pool->set_health(health_.For(route.backend->name));
  ServerPool* raw = pool.get();
  pools_.emplace(route.pool_key, std::move(pool));
  return raw;
}

int32_t ProxyServer::RegisterCancelTarget(ClientSession* session, int32_t* key) {
  int32_t pid = 0;
  do {
    pid = peer_cancel_.NewPid();  // names this instance, for cancels that reach a peer
  } while (pid == 0 || cancel_targets_.count(pid) != 0);
  *key = protocol::RandomInt32();
  cancel_targets_[pid] = {session, *key};
  return pid;
}

void ProxyServer::UnregisterCancelTarget(int32_t pid) { cancel_targets_.erase(pid); }

void ProxyServer::HandleCancelRequest(int32_t pid, int32_t key) {
  auto it = cancel_targets_.find(pid);
  if (it == cancel_targets_.end() || CRYPTO_memcmp(&it->second.key, &key, sizeof(key)) != 0) {
    if (it == cancel_targets_.end() && peer_cancel_.Forward(&loop_, pid, key)) return;  // another instance's
    LogInfo("cancel", "cancel request with an unknown key ignored");
    return;
  }
  it->second.session->CancelRunningQuery();
}

void ProxyServer::ForwardCancel(const config::BackendConfig& backend, int32_t pid, int32_t key) {
  CancelForwarder::Send(&loop_, backend, pid, key);
}

void ProxyServer::OnSessionClosed(ClientSession* session) {
  sessions_.erase(session);
  if (shutting_down_) MaybeFinishShutdown();
}

bool ProxyServer::AdmitTenantClient(const config::TenantConfig& tenant) {
  TenantState& state = tenants_[tenant.name];
  if (tenant.max_clients > 0 && state.clients >= tenant.max_clients) return false;
  ++state.clients;
  return true;
}

void ProxyServer::LeaveTenant(const std::string& tenant) {
  auto it = tenants_.find(tenant);
  if (it != tenants_.end() && it->second.clients > 0) --it->second.clients;
}

void ProxyServer::RefillAndWake(const config::TenantConfig& tenant, TenantState& state, Clock::time_point now) {
  const double rate = tenant.max_transactions_per_second;
  // A tenth of a second's worth may start at once; the rest are spread evenly.
  const double burst = std::max(1.0, rate / 10.0);
  if (state.refilled == Clock::time_point{}) {
    state.tokens = burst;
  } else {
    state.tokens = std::min(burst, state.tokens + rate * std::chrono::duration<double>(now - state.refilled).count());
  }
  state.refilled = now;
  while (state.tokens >= 1.0 && !state.throttled.empty()) {
    ClientSession* session = state.throttled.front();
    state.throttled.pop_front();
    state.tokens -= 1.0;
    session->OnThrottleLifted();
  }
}

bool ProxyServer::TakeTransactionToken(const config::TenantConfig& tenant, ClientSession* session) {
  TenantState& state = tenants_[tenant.name];
  RefillAndWake(tenant, state, Clock::now());
  if (state.throttled.empty() && state.tokens >= 1.0) {
    state.tokens -= 1.0;
    return true;
  }
  state.throttled.push_back(session);
  return false;
}

void ProxyServer::CancelThrottleWait(const std::string& tenant, ClientSession* session) {
  auto it = tenants_.find(tenant);
  if (it == tenants_.end()) return;
  auto& queue = it->second.throttled;
  queue.erase(std::remove(queue.begin(), queue.end(), session), queue.end());
}

void ProxyServer::OnSignal(uv_signal_t* handle, int signum) noexcept {
  auto* self = static_cast<ProxyServer*>(handle->data);
  const char* name = signum == SIGINT ? "SIGINT" : "SIGTERM";
  if (self->shutting_down_) {
    LogInfo("proxy", std::string("received ") + name + " again: closing every session now");
    self->shutdown_deadline_ = Clock::now();
    return;
  }
  LogInfo("proxy", std::string("received ") + name + ": no new connections; open transactions may finish within " +
                       std::to_string(self->config_->shutdown_timeout.count()) + " ms");
  self->BeginShutdown();
}

Status ProxyServer::Reload(std::string_view admin_user) {
  auto loaded = config::LoadConfigFile(config_path_);
  // Certificates, keys and JWT keys are part of the config: a file that does not load refuses the
  // reload like a YAML error would, before anything changes.
  if (loaded.ok()) {
    if (Status files = PreloadTlsFiles(*loaded); !files.ok()) loaded = files;
  }
  policy::AuditEvent event;
  event.type = policy::AuditEventType::kConfigReloaded;
  event.user = std::string(admin_user);
  event.fields = {{"source", config_path_}};
  if (!loaded.ok()) {
    LogError("config", "reload refused, the running configuration stays: " + loaded.status().message());
    metrics_.CountReload(false);
    event.fields.emplace_back("result", "error");
    event.fields.emplace_back("message", loaded.status().message());
    Audit(std::move(event));
    return loaded.status();
  }
  std::shared_ptr<const config::Config> next = *loaded;
  // Pools keep their server connections when what defines them did not change; others close.
  for (auto it = pools_.begin(); it != pools_.end();) {
    ServerPool& pool = *it->second;
    const config::BackendConfig* backend = next->FindBackend(pool.backend().name);
    const config::TenantConfig* tenant = next->FindTenant(pool.tenant_label());
    const config::BackendConfig& old = pool.backend();
    bool same_backend = backend != nullptr && backend->host == old.host && backend->port == old.port &&
                        backend->database == old.database && backend->user == old.user &&
                        backend->password == old.password && backend->sslmode == old.sslmode &&
                        backend->shared_pool == old.shared_pool && backend->hosts == old.hosts;
    bool tenant_ok = pool.tenant_label() == "(shared)" || (tenant != nullptr && tenant->backend == old.name);
    const config::TenantConfig* old_tenant = config_->FindTenant(pool.tenant_label());
    bool same_context = old_tenant == nullptr || tenant == nullptr ||
                        (tenant->id == old_tenant->id && tenant->isolation == old_tenant->isolation &&
                         tenant->schema == old_tenant->schema);
    if (same_backend && tenant_ok && same_context && next->tenant_setting == config_->tenant_setting) {
      const config::UserConfig* user = pool.user_override().empty() ? nullptr : next->FindUser(pool.user_override());
      pool.UpdateSettings(next->ResolvePool(tenant, user));
      ++it;
      continue;
    }
    pool.CloseAll();
    retired_pools_.push_back(std::move(it->second));
    it = pools_.erase(it);
  }
  for (auto& [name, budget] : budgets_) {
    const config::BackendConfig* backend = next->FindBackend(name);
    if (backend != nullptr) budget->set_cap(backend->max_connections);
  }
  config_ = std::move(next);
  ++config_generation_;
  health_.Apply(*config_);
  if (Status peers = peer_cancel_.Configure(config_->peers); !peers.ok()) LogWarning("cancel", peers.message());
  policy_.ClearCache();  // cached verdicts are keyed by the old snapshot
  metrics_.CountReload(true);
  LogInfo("config", "reloaded " + config_path_ + ": " + std::to_string(config_->tenants.size()) + " tenants, " +
                        std::to_string(config_->backends.size()) + " backends, " +
                        std::to_string(config_->users.size()) + " users");
  event.fields.emplace_back("result", "ok");
  event.numbers = {{"tenants", static_cast<int64_t>(config_->tenants.size())},
                   {"backends", static_cast<int64_t>(config_->backends.size())},
                   {"users", static_cast<int64_t>(config_->users.size())}};
  Audit(std::move(event));
  return Status::Ok();
}

void ProxyServer::OnTick(uv_timer_t* timer) noexcept {
  auto* self = static_cast<ProxyServer*>(timer->data);
  Clock::time_point now = Clock::now();
  for (auto& [key, pool] : self->pools_) pool->Tick(now);
  for (auto it = self->retired_pools_.begin(); it != self->retired_pools_.end();) {
    if ((*it)->empty()) {
      it = self->retired_pools_.erase(it);
    } else {
      (*it)->Tick(now);
      ++it;
    }
  }
  for (auto& [name, state] : self->tenants_) {
    if (state.throttled.empty()) continue;
    if (const config::TenantConfig* tenant = self->config_->FindTenant(name)) self->RefillAndWake(*tenant, state, now);
  }
  self->admin_.Tick();  // a console's PAUSE waiting for transactions in flight
  if (self->tick_count_ % 10 == 0) self->UpdateMetrics();
  if (++self->tick_count_ % 5 == 0 || self->shutting_down_) {
    std::vector<ClientSession*> sessions(self->sessions_.begin(), self->sessions_.end());
    for (ClientSession* s : sessions) s->CheckTimeouts(now);
  }
  if (++self->ticks_since_stats_ >= kStatsLogTicks) {
    self->ticks_since_stats_ = 0;
    self->LogPolicyCacheStats();
  }
  if (self->shutting_down_) self->MaybeFinishShutdown();
}

void ProxyServer::UpdateMetrics() {
  struct Counts {
    int clients_active = 0, clients_waiting = 0, servers_active = 0, servers_idle = 0;
  };
  std::map<std::string, Counts> counts;
  for (const auto& [name, tenant] : config_->tenants) counts[name];
  for (ClientSession* s : sessions_) {
    if (s->tenant_name().empty()) continue;
    Counts& c = counts[s->tenant_name()];
    if (s->state() == ClientSession::State::kWaitingForServer) {
      ++c.clients_waiting;
    } else if (s->state() == ClientSession::State::kActive || s->state() == ClientSession::State::kPreparingServer) {
      ++c.clients_active;
    }
  }
  for (const auto& [key, pool] : pools_) {
    Counts& c = counts[pool->tenant_label()];
    c.servers_idle += static_cast<int>(pool->idle_count());
    c.servers_active += static_cast<int>(pool->total() - pool->idle_count());
  }
  for (const auto& [name, c] : counts) {
    Metrics::TenantSeries* series = metrics_.ForTenant(name);
    series->clients_active->Set(c.clients_active);
    series->clients_waiting->Set(c.clients_waiting);
    series->servers_active->Set(c.servers_active);
    series->servers_idle->Set(c.servers_idle);
  }
  policy::PolicyEngine::CacheStats cache = policy_.cache_stats();
  metrics_.SetPolicyCacheTotals(cache.hits, cache.misses);
  if (audit_) metrics_.SetAuditTotals(audit_->written(), audit_->dropped());
}

void ProxyServer::LogPolicyCacheStats() {
  policy::PolicyEngine::CacheStats stats = policy_.cache_stats();
  uint64_t lookups = stats.hits + stats.misses;
  if (lookups == last_policy_lookups_) return;  // nothing new to say
  last_policy_lookups_ = lookups;
  char ratio[16];
  std::snprintf(ratio, sizeof(ratio), "%.3f", lookups ? static_cast<double>(stats.hits) / lookups : 0.0);
  LogInfo("policy", "verdict cache: hits " + std::to_string(stats.hits) + ", misses " + std::to_string(stats.misses) +
                        ", hit ratio " + ratio + ", entries " + std::to_string(stats.entries) + ", bytes " +
                        std::to_string(stats.bytes));
}

void ProxyServer::RequestShutdown(const std::string& why) {
  if (shutting_down_) return;
  LogInfo("proxy", why + ": no new connections; open transactions may finish within " +
                       std::to_string(config_->shutdown_timeout.count()) + " ms");
  BeginShutdown();
}

void ProxyServer::BeginShutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  shutdown_deadline_ = Clock::now() + config_->shutdown_timeout;
  uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
  if (peer_listening_) uv_close(reinterpret_cast<uv_handle_t*>(&peer_listener_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sighup_), nullptr);
  // Sessions between transactions end now; those inside one end at its ReadyForQuery, or at
  // the deadline (the tick enforces it).
  std::vector<ClientSession*> sessions(sessions_.begin(), sessions_.end());
  for (ClientSession* s : sessions) s->BeginShutdown();
  MaybeFinishShutdown();
}

void ProxyServer::MaybeFinishShutdown() {
  if (!sessions_.empty() && Clock::now() >= shutdown_deadline_) {
    std::vector<ClientSession*> sessions(sessions_.begin(), sessions_.end());
    for (ClientSession* s : sessions)
      s->Terminate(Status::Error(sqlstate::kAdminShutdown, "terminating connection due to administrator command"));
  }
  if (!sessions_.empty()) return;
  if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&sigint_))) {
    uv_close(reinterpret_cast<uv_handle_t*>(&sigint_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&sigterm_), nullptr);
  }
  for (auto& [key, pool] : pools_) {
    pool->CloseAll();
    if (!pool->empty()) return;
  }
  if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&tick_))) {
    health_.Stop();
    metrics_.StopServing();
    uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&sigpipe_), nullptr);
  }
}

}  // namespace pgtenant::proxy
