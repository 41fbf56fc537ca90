// ProxyServer's gauges (proxy/telemetry/metrics.h): what this worker holds now, added to series every
// worker shares as the difference from what it reported last, once a second; and on worker 0 the
// process-wide figures (process collector, audit queue, verdict cache).
#include <time.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <tuple>

#include "config/config.h"
#include "proxy/session/client_session.h"
#include "proxy/worker/proxy_server.h"

namespace pgtenant::proxy {

namespace {

std::string_view ServerState(ServerConnection::State state) {
  switch (state) {
    case ServerConnection::State::kConnecting:
    case ServerConnection::State::kLoggingIn:
      return "connecting";
    case ServerConnection::State::kIdle:
      return "idle";
    case ServerConnection::State::kLinked:
    case ServerConnection::State::kInternalQuery:
      return "active";
    case ServerConnection::State::kClosing:
      break;
  }
  return {};
}

}  // namespace

void ProxyServer::UpdateMetrics() {
  // The gauges are shared by the workers: each adds what changed in its own counts. Only tenants
  // with sessions or pools here, and those it last reported non-zero (to bring them back to zero),
  // are visited: once a second, the cost follows the work, not the number of configured tenants.
  const Clock::time_point now = LoopNow();
  std::map<std::string, GaugeCounts> counts;
  std::map<std::string, double> longest_wait;
  for (const auto& [name, c] : reported_) counts[name];
  for (ClientSession* s : sessions_) {
    if (s->tenant_name().empty()) continue;  // logging in, or the admin console
    GaugeCounts& c = counts[s->tenant_name()];
    if (s->state() == ClientSession::State::kWaitingForServer) {
      ++c.clients_waiting;
      double& longest = longest_wait[s->tenant_name()];
      longest = std::max(longest, std::chrono::duration<double>(now - s->waiting_since()).count());
    } else if (s->busy()) {
      ++c.clients_active;
    } else if (s->state() == ClientSession::State::kActive) {
      ++c.clients_idle;
    }
  }
  std::map<std::tuple<std::string, std::string, std::string_view>, int> servers;
  for (const auto& [key, r] : reported_servers_) servers[key];
  auto count_servers = [&](const ServerPool& pool) {
    for (const ServerConnection* server : pool.connections()) {
      const std::string_view state = ServerState(server->state());
      if (state.empty()) continue;
      ++servers[{pool.backend().name, config::DescribeAddress(server->backend().host, server->backend().port), state}];
    }
  };
  for (const auto& [key, pool] : pools_) {
    GaugeCounts& c = counts[std::string(pool->tenant_label())];
    c.servers_idle += static_cast<int>(pool->idle_count());
    c.servers_active += static_cast<int>(pool->total() - pool->idle_count());
    c.pool_size += pool->settings().size;
    count_servers(*pool);
  }
  for (const auto& pool : retired_pools_) count_servers(*pool);

  for (const auto& [name, c] : counts) {
    GaugeCounts& before = reported_[name];
    Metrics::TenantSeries* series = metrics().ForTenant(name);
    series->clients_active->Increment(c.clients_active - before.clients_active);
    series->clients_idle->Increment(c.clients_idle - before.clients_idle);
    series->clients_waiting->Increment(c.clients_waiting - before.clients_waiting);
    series->servers_active->Increment(c.servers_active - before.servers_active);
    series->servers_idle->Increment(c.servers_idle - before.servers_idle);
    series->pool_size->Increment(c.pool_size - before.pool_size);
    auto wait = longest_wait.find(name);
    metrics().SetPoolMaxWait(index_, series, wait == longest_wait.end() ? 0.0 : wait->second);
    if (c.clients_active == 0 && c.clients_idle == 0 && c.clients_waiting == 0 && c.servers_active == 0 &&
        c.servers_idle == 0 && c.pool_size == 0) {
      reported_.erase(name);  // this worker's share is back to zero: nothing to undo next time
    } else {
      before = c;
    }
  }
  for (const auto& [key, n] : servers) {
    int& before = reported_servers_[key];
    if (n != before)
      metrics().ForServerConnections(std::get<0>(key), std::get<1>(key), std::get<2>(key))->Increment(n - before);
    before = n;
  }

  timespec cpu{};
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0)
    metrics().SetWorkerCpuSeconds(index_, static_cast<double>(cpu.tv_sec) + static_cast<double>(cpu.tv_nsec) / 1e9);

  if (index_ != 0) return;
  policy::PolicyEngine::CacheStats cache = policy().cache_stats();
  metrics().SetPolicyCacheTotals(cache.hits, cache.misses);
  if (auditing()) {
    AuditLog& audit = *group_->shared().audit;
    metrics().SetAuditTotals(audit.written(), audit.dropped());
    metrics().SetAuditQueue(audit.pending(), audit.capacity(), audit.failed());
  }
}

void ProxyServer::NoteThrottleLifted(const ClientSession* session, Clock::time_point now) {
  auto it = throttled_since_.find(session);
  if (it == throttled_since_.end()) return;
  const std::string& tenant = session->tenant_name();
  if (!tenant.empty())
    Metrics::CountThrottled(metrics().ForTenant(tenant), std::chrono::duration<double>(now - it->second).count());
  throttled_since_.erase(it);
}

}  // namespace pgtenant::proxy
