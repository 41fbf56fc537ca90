// ServerPool: acquire, release with reset, waiters, timeouts.
#include "proxy/server/server_pool.h"

#include <algorithm>

#include "protocol/sqlstate.h"
#include "proxy/telemetry/log.h"
#include "proxy/io/loop_clock.h"

namespace pgtenant::proxy {

ServerPool::ServerPool(uv_loop_t* loop, routing::PoolIdentity identity, config::PoolSettings settings,
                       BackendBudget* budget)
    : loop_(loop),
      identity_(std::move(identity)),
      name_(routing::PoolName(identity_)),
      backend_(routing::BackendConfigOf(identity_.backend)),
      settings_(settings),
      budget_(budget) {
  if (budget_ != nullptr) budget_->Register(this);
}

ServerConnection* ServerPool::Acquire(PoolClient* client, std::string_view preferred_tag) {
  ++acquisitions_;
  if (drained_) closing_ = drained_ = false;
  if (!preferred_tag.empty()) {
    for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) {
      if ((*it)->context_tag() == preferred_tag) {
        std::swap(*it, idle_.back());
        break;
      }
    }
  }
  while (!idle_.empty()) {
    ServerConnection* server = idle_.back();
    idle_.pop_back();
    // A connection the server closed while it sat idle, whose EOF the loop has not read yet, would end
    // the client's session at its first write. Looked at only after kIdleCheckAfter: a busy pool's
    // connections come back within microseconds and cost no system call.
    const bool check = LoopNow() - server->idle_since() >= kIdleCheckAfter;
    if (Expired(server, LoopNow()) || !OnPreferredHost(server) || (check && server->SpokeWhileIdle())) {
      Retire(server);
      continue;
    }
    return server;
  }
  waiters_.Push(client, preferred_tag, LoopNow() + settings_.wait_timeout);
  if (on_wait_) on_wait_();
  Dispatch();
  return nullptr;
}

bool ServerPool::OnPreferredHost(ServerConnection* server) {
  if (health_ == nullptr || health_->hosts().size() < 2) return true;
  std::optional<config::BackendHost> preferred = health_->PickHost();
  return !preferred || (preferred->host == server->backend().host && preferred->port == server->backend().port);
}

void ServerPool::CancelWait(PoolClient* client) {
  waiters_.Remove(client);
}

void ServerPool::Release(ServerConnection* server, bool reset) {
  if (closing_ || !server->IsClean() || server->cancel_forwarded() ||
      server->state() != ServerConnection::State::kIdle || Expired(server, LoopNow())) {
    Retire(server);
    Dispatch();
    return;
  }
  if (!reset) {
    OnServerReady(server);
    return;
  }
  server->statements().Clear();  // DISCARD ALL deallocates them
  server->wire().settings().Clear();  // and resets every parameter to the server's defaults
  server->RunInternalQuery("DISCARD ALL", [this](ServerConnection* s, const Status& result) {
    if (!result.ok()) {
      LogWarning("pool", "reset of server connection failed in pool " + name_ + ": " + result.message());
      Retire(s);
      Dispatch();
      return;
    }
    OnServerReady(s);
  });
}

void ServerPool::OnServerReady(ServerConnection* server) {
  const bool fresh = connecting_.erase(server) > 0;
  if (fresh && health_ != nullptr) health_->ReportConnected({server->backend().host, server->backend().port});
  if (fresh && identity_.shared() && !closing_) {
    // Whether this pool's clients can read the sequence state another tenant leaves (see the query).
    server->RunInternalQuery(std::string(kSequencesReadableQuery), [this](ServerConnection* s, const Status& result) {
      if (s->state() != ServerConnection::State::kIdle) {  // lost or timed out: already closing
        Retire(s);
        Dispatch();
        return;
      }
      s->set_sequences_readable(!result.ok() || s->internal_result() != "f");
      Offer(s, /*fresh=*/true);
    });
    return;
  }
  Offer(server, fresh);
}

void ServerPool::Offer(ServerConnection* server, bool fresh) {
  if (closing_ || (moved_to_ >= 0 && waiters_.empty()) || (!fresh && budget_ != nullptr && budget_->ShouldYield(this)) ||
      (!fresh && Expired(server, LoopNow()))) {  // e.g. a RECONNECT while it was being reset; a new
                                                  // connection serves once even with lifetime 0
    Retire(server);  // its slot goes to a pool of another tenant that is waiting, or to the pool's new worker
    return;
  }
  if (std::optional<WaiterQueue::Waiter> next = waiters_.PopNext()) {
    next->client->OnServerAssigned(server);
    return;
  }
  idle_.push_back(server);
}

void ServerPool::OnServerFailed(ServerConnection* server, const Status& why) {
  connecting_.erase(server);
  all_.erase(server);
  if (backend_series_ != nullptr) backend_series_->connect_errors->Increment();
  if (backend_series_ != nullptr && server->tls_handshake_failed()) backend_series_->tls_handshake_failures->Increment();
  LogWarning("pool", "cannot connect to backend \"" + backend_.name + "\": " + why.message());
  if (health_ != nullptr && health_->ReportConnectFailed({server->backend().host, server->backend().port}, why)) {
    Dispatch();  // failover: another host is not down, try it now
    return;
  }
  retry_after_ = LoopNow() + kRetryDelay;
  bool none_live = all_.size() == connecting_.size();
  if (!none_live) return;  // others will serve the waiters, or they time out
  std::string code = why.sqlstate() == sqlstate::kTooManyConnections || why.sqlstate() == sqlstate::kCannotConnectNow
                         ? why.sqlstate()
                         : std::string(sqlstate::kConnectionFailure);
  Status error = Status::Error(code, "pgtenant: could not connect to backend \"" + backend_.name + "\": " + why.message(),
                               "Check that the backend is running and reachable; pgtenant retries on the next connection.");
  if (health_ != nullptr && health_->hosts().size() > 1 && code == sqlstate::kConnectionFailure) error = health_->Unavailable();
  FailWaiters(error);
}

void ServerPool::FailWaiters(const Status& why) {
  for (const WaiterQueue::Waiter& w : waiters_.TakeAll()) w.client->OnServerUnavailable(why);
}

void ServerPool::OnServerClosed(ServerConnection* server) {
  closed_totals_.requests += server->wire().requests_answered();
  closed_totals_.busy += server->wire().busy_time();
  connecting_.erase(server);
  all_.erase(server);
  auto it = std::find(idle_.begin(), idle_.end(), server);
  if (it != idle_.end()) idle_.erase(it);
  Dispatch();
  if (budget_ != nullptr) budget_->Return();
}

ServerPool::QueryTotals ServerPool::query_totals() const {
  QueryTotals totals = closed_totals_;
  for (ServerConnection* server : all_) {
    totals.requests += server->wire().requests_answered();
    totals.busy += server->wire().busy_time();
  }
  return totals;
}

void ServerPool::RetireIdle() {
  if (!idle_.empty()) Retire(idle_.front());
}

void ServerPool::MoveAway(int to) {
  moved_to_ = to;
  std::vector<ServerConnection*> idle;
  idle.swap(idle_);
  for (ServerConnection* s : idle) Retire(s);
}

void ServerPool::Dispatch() {
  if (closing_) return;
  while (!waiters_.empty() && !idle_.empty()) {
    ServerConnection* server = idle_.back();
    idle_.pop_back();
    waiters_.PopNext()->client->OnServerAssigned(server);
  }
  if (LoopNow() < retry_after_) return;  // the backend just failed: Tick retries later
  if (!waiters_.empty() && connecting_.empty() && health_ != nullptr && !health_->PickHost()) {
    FailWaiters(health_->Unavailable());  // health checks say no host is up: answer now, not after a timeout
    return;
  }
  size_t wanted = waiters_.size();
  while (wanted > connecting_.size() && all_.size() < static_cast<size_t>(settings_.size)) {
    if (!Open()) break;
  }
}

bool ServerPool::Open() {
  config::BackendConfig target = backend_;
  if (health_ != nullptr) {
    std::optional<config::BackendHost> host = health_->PickHost();
    if (!host) return false;  // no host is up; Dispatch answers the waiters
    target.host = host->host;
    target.port = host->port;
  }
  if (budget_ != nullptr && !budget_->TryReserve(this)) return false;
  auto* server = new ServerConnection(loop_, this, std::move(target), identity_.server_startup, next_id_++);
  all_.insert(server);
  connecting_.insert(server);
  server->Connect();
  return true;
}

void ServerPool::Retire(ServerConnection* server) {
  all_.erase(server);
  connecting_.erase(server);
  auto it = std::find(idle_.begin(), idle_.end(), server);
  if (it != idle_.end()) idle_.erase(it);
  server->Close();
}

void ServerPool::Tick(Clock::time_point now) {
  for (const WaiterQueue::Waiter& expired : waiters_.PopExpired(now)) {
    expired.client->OnServerUnavailable(Status::Error(
        sqlstate::kTooManyConnections,
        "pgtenant: no server connection available for \"" + name_ + "\" within " +
            std::to_string(settings_.wait_timeout.count()) + " ms (pool size " + std::to_string(settings_.size) + ")",
        "Raise pool.size or pool.wait_timeout, or shorten transactions."));
  }
  Dispatch();
  // idle_ is LIFO: the longest idle sit at the front.
  for (size_t i = 0; i < idle_.size();) {
    ServerConnection* server = idle_[i];
    bool too_old = Expired(server, now);
    bool idle_too_long = settings_.idle_timeout.count() > 0 && now - server->idle_since() >= settings_.idle_timeout &&
                         all_.size() > static_cast<size_t>(settings_.min_idle);
    if (too_old || idle_too_long) {
      Retire(server);  // erases idle_[i]
      continue;
    }
    ++i;
  }
  if (!closing_ && moved_to_ < 0 && now >= retry_after_) {
    while (idle_.size() + connecting_.size() < static_cast<size_t>(settings_.min_idle) &&
           all_.size() < static_cast<size_t>(settings_.size)) {
      if (!Open()) break;
    }
  }
}

void ServerPool::CloseAll() {
  closing_ = true;
  std::vector<ServerConnection*> idle;
  idle.swap(idle_);
  for (ServerConnection* s : idle) Retire(s);
  std::vector<ServerConnection*> connecting(connecting_.begin(), connecting_.end());
  for (ServerConnection* s : connecting) Retire(s);
  for (const WaiterQueue::Waiter& w : waiters_.TakeAll())
    w.client->OnServerUnavailable(Status::Error(sqlstate::kAdminShutdown, "pgtenant is shutting down"));
}

void ServerPool::Drain() {
  CloseAll();
  drained_ = true;
}

}  // namespace pgtenant::proxy
