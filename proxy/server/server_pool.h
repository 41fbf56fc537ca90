// ServerPool: the server connections of one pool identity (routing/pool_identity.h: the backend's
// connection settings, the tenant context, the access), shared by the client sessions whose routes
// name it.
//
// Clients Acquire a connection (now, or later through PoolClient) and Release it when done;
// the pool resets it (DISCARD ALL) before anyone else gets it, or closes it if it comes back
// dirty. Waiters are served round robin over their context tags (WaiterQueue: on a shared pool, one
// tenant's flood of waiters does not starve another tenant), first come, first served within one
// tag (and so on a pool of one tenant); a waiter past wait_timeout gets 53300.
// When the backend cannot be reached and the pool has no live connection, every waiter gets
// 08006 naming the backend instead of waiting. New connections go to the host BackendHealth
// picks (the first of the backend's hosts that is not down); a host failing to connect is
// reported there and the next one is tried at once; while health checks say no host is up,
// waiters get 08006 at once. An idle connection to a host other than the picked one is closed
// rather than handed out.
//
// Thread-safety: loop thread only. Lifetime: outlives its connections (CloseAll, then wait for
// OnServerClosed of each).
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "config/config.h"
#include "protocol/status.h"
#include "proxy/server/backend_budget.h"
#include "proxy/server/backend_health.h"
#include "proxy/server/pool_client.h"
#include "proxy/server/server_connection.h"
#include "proxy/server/waiter_queue.h"
#include "proxy/telemetry/metrics.h"
#include "routing/pool_identity.h"

namespace pgtenant::proxy {

class ServerPool final : public ServerConnectionOwner {
 public:
  // Connections are made as `identity` says (backend, startup parameters); its PoolName names the
  // pool in logs and errors. `budget` (may be null) caps connections to the backend across pools;
  // it outlives the pool.
  ServerPool(uv_loop_t* loop, routing::PoolIdentity identity, config::PoolSettings settings, BackendBudget* budget);
  ServerPool(const ServerPool&) = delete;
  ServerPool& operator=(const ServerPool&) = delete;

  // Returns an idle connection at once, or nullptr after queueing `client`, which then hears
  // exactly one of OnServerAssigned / OnServerUnavailable unless it calls CancelWait first.
  // An idle connection whose context_tag() equals `preferred_tag` is taken first (shared pools);
  // a client that has to wait waits in the queue of that tag.
  ServerConnection* Acquire(PoolClient* client, std::string_view preferred_tag = {});
  void CancelWait(PoolClient* client);
  // The client is done with `server` (unlinked). Clean connections are reused, after DISCARD ALL
  // when `reset` (session pooling); dirty ones (open transaction, anything in flight) are closed.
  void Release(ServerConnection* server, bool reset);

  // Wait timeouts, idle timeout, lifetime, min_idle. Called periodically by the loop.
  void Tick(Clock::time_point now);
  // Closes idle connections and stops opening new ones. Linked ones close on Release.
  void CloseAll();
  // CloseAll for a drain (shutdown, this worker has no session left). Unlike a retired pool, a drained
  // one opens again for a client that still comes (a login accepted before SIGTERM, moved here from a
  // worker that is still draining): it would otherwise wait out pool.wait_timeout for nothing.
  void Drain();

  // Serves waiters from idle connections and opens connections for the rest, budget allowing.
  void Dispatch();
  // Closes the longest-idle connection (the backend budget needs its slot).
  void RetireIdle();
  // Adaptive placement (worker_group.h): the pool now lives on worker `to`. Idle connections close
  // now, others as they come back unless a client is waiting; clients that cannot move yet are
  // still served. StayHere: it lives here (again).
  void MoveAway(int to);
  void StayHere() { moved_to_ = -1; }
  // The worker the pool has moved to, or -1.
  int moved_to() const { return moved_to_; }
  // Connections handed out so far (the pool's transactions, under transaction pooling).
  uint64_t acquisitions() const { return acquisitions_; }
  // Admin RECONNECT: every connection open now closes, idle ones at once and the others when they
  // come back, even before their lifetime is up; new ones are made as usual.
  void Reconnect() { reconnect_below_id_ = next_id_; Tick(LoopNow()); }
  // What the pool's connections, live and closed, answered (relay::ServerWire): SHOW STATS.
  struct QueryTotals {
    uint64_t requests = 0;
    Clock::duration busy{};
  };
  QueryTotals query_totals() const;
  // Past its lifetime, or open at the last RECONNECT: closes rather than serve again.
  bool Expired(const ServerConnection* server, Clock::time_point now) const {
    return now - server->created_at() >= settings_.lifetime || server->id() < reconnect_below_id_;
  }

  // From ServerConnection.
  void OnServerReady(ServerConnection* server) override;
  void OnServerFailed(ServerConnection* server, const Status& why) override;
  void OnServerClosed(ServerConnection* server) override;

  // Run on each new connection of a shared pool before its first client: 't' when the server role may
  // call currval() or lastval(), which read what another tenant's nextval() left in the session (the
  // pool then resets sequences at each tenant switch), 'f' when both are revoked from it.
  static constexpr std::string_view kSequencesReadableQuery =
      "SELECT pg_catalog.has_function_privilege('pg_catalog.lastval()', 'EXECUTE') OR "
      "pg_catalog.has_function_privilege('pg_catalog.currval(pg_catalog.regclass)', 'EXECUTE')";

  // The tenant of this pool in metrics and SHOW output: its tenant, or kSharedLabel for a shared pool.
  static constexpr std::string_view kSharedLabel = "(shared)";
  std::string_view tenant_label() const { return identity_.shared() ? kSharedLabel : identity_.tenant; }
  // A reload changed sizes, timeouts or the mode: they apply from now on.
  void UpdateSettings(const config::PoolSettings& settings) { settings_ = settings; }
  void set_backend_series(Metrics::BackendSeries* series) { backend_series_ = series; }
  // Which host new connections go to, and where connect results are reported. Null: the backend's host.
  void set_health(std::shared_ptr<BackendHealth> health) { health_ = std::move(health); }
  // Told when a client starts to wait (its wait_timeout needs the loop's frequent tick).
  void set_on_wait(std::function<void()> on_wait) { on_wait_ = std::move(on_wait); }

  const routing::PoolIdentity& identity() const { return identity_; }
  // For logs, errors and the admin console (routing::PoolName); never parsed.
  const std::string& name() const { return name_; }
  // What new connections are made with: the identity's backend settings.
  const config::BackendConfig& backend() const { return backend_; }
  const config::PoolSettings& settings() const { return settings_; }
  size_t total() const { return all_.size(); }
  size_t idle_count() const { return idle_.size(); }
  size_t waiting_count() const { return waiters_.size(); }
  bool empty() const { return all_.empty(); }
  // Every live connection (SHOW SERVERS).
  const std::unordered_set<ServerConnection*>& connections() const { return all_; }

 private:
  bool Open();
  void FailWaiters(const Status& why);  // every waiter hears `why`
  // False for an idle connection to a host other than the one new connections go to (after a
  // failover the recovered primary gets the traffic back as idle ones are checked out).
  bool OnPreferredHost(ServerConnection* server);
  void Retire(ServerConnection* server);  // close and forget
  // A logged-in connection (`fresh`: just now) goes to the next waiter, or idle.
  void Offer(ServerConnection* server, bool fresh);

  std::function<void()> on_wait_;
  uv_loop_t* loop_;
  const routing::PoolIdentity identity_;
  const std::string name_;              // PoolName(identity_)
  const config::BackendConfig backend_;  // BackendConfigOf(identity_.backend)
  config::PoolSettings settings_;
  BackendBudget* budget_;
  Metrics::BackendSeries* backend_series_ = nullptr;
  std::shared_ptr<BackendHealth> health_;
  // After a failed connect, new connects wait this long, so a refusing backend is not hammered.
  static constexpr std::chrono::milliseconds kRetryDelay{500};
  // An idle connection older than this is checked for a close the loop has not read yet (Acquire).
  static constexpr std::chrono::milliseconds kIdleCheckAfter{1};
  Clock::time_point retry_after_{};
  bool closing_ = false;
  bool drained_ = false;  // closing_ by Drain: Acquire reopens
  int moved_to_ = -1;
  uint64_t next_id_ = 1;
  uint64_t acquisitions_ = 0;
  uint64_t reconnect_below_id_ = 0;  // connections with a smaller id close (RECONNECT)
  QueryTotals closed_totals_;        // of connections already closed

  std::unordered_set<ServerConnection*> all_;         // live: connecting, idle, assigned, resetting
  std::unordered_set<ServerConnection*> connecting_;  // subset of all_: not logged in yet
  std::vector<ServerConnection*> idle_;               // LIFO: warmest at the back
  WaiterQueue waiters_;
};

}  // namespace pgtenant::proxy
