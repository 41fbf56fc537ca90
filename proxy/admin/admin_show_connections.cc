// SHOW POOLS, CLIENTS, SERVERS and LISTS for the admin console: what one worker's sessions and
// pools are doing now, in PgBouncer's columns (admin_show.h says how its "database" maps).
#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/admin/admin_show.h"
#include "proxy/server/server_pool.h"
#include "proxy/session/client_session.h"
#include "proxy/worker/proxy_server.h"

namespace pgtenant::proxy {

namespace {

using admin_text::Micros;
using admin_text::Num;
using admin_text::WallTime;

std::vector<ClientView> Clients(ProxyServer& proxy) {
  std::vector<ClientView> views;
  for (ClientSession* s : proxy.sessions()) views.push_back(s->Describe());
  std::sort(views.begin(), views.end(),
            [](const ClientView& a, const ClientView& b) { return a.connected_at < b.connected_at; });
  return views;
}

// PgBouncer's ptr and link columns: an opaque, process-unique name of a connection.
std::optional<std::string> Pointer(const void* p) {
  if (p == nullptr) return std::nullopt;
  char text[32];
  std::snprintf(text, sizeof(text), "%p", p);
  return std::string(text);
}

// "ip:port" -> ("ip", "port"); an address without a port stays whole.
std::pair<std::string, std::optional<std::string>> SplitAddress(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return {address, std::nullopt};
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return {host, address.substr(colon + 1)};
}

std::optional<std::string> LocalHost(const std::optional<std::pair<std::string, int>>& local) {
  return local ? std::optional<std::string>(local->first) : std::nullopt;
}
std::optional<std::string> LocalPort(const std::optional<std::pair<std::string, int>>& local) {
  return local ? std::optional<std::string>(Num(local->second)) : std::nullopt;
}

// PgBouncer's columns of SHOW CLIENTS and SHOW SERVERS, which both start with these; each adds its own.
constexpr Table::Column kConnectionColumns[] = {
    {"type"},          {"user"},         {"database"},         {"state"},
    {"addr"},          {"port", true},   {"local_addr"},       {"local_port", true},
    {"connect_time"},  {"request_time"}, {"wait", true},       {"wait_us", true},
    {"close_needed", true}, {"ptr"},     {"link"},             {"remote_pid", true},
    {"tls"},           {"application_name"}, {"prepared_statements", true}};

// Pools by name, so that every SHOW lists them in the same order.
std::map<std::string, const ServerPool*> PoolsByName(ProxyServer& proxy) {
  std::map<std::string, const ServerPool*> pools;
  for (const auto& [identity, pool] : proxy.pools()) pools.emplace(pool->name(), pool.get());
  return pools;
}

}  // namespace

void ShowPools(ProxyServer& proxy, Table& rows) {
  struct ClientCounts {
    int64_t active = 0, waiting = 0;
    Clock::duration maxwait{};
  };
  std::map<std::string, ClientCounts> by_pool;
  const Clock::time_point now = Clock::now();
  for (const ClientView& c : Clients(proxy)) {
    if (c.pool.empty() || c.state == "closing") continue;
    ClientCounts& counts = by_pool[c.pool];
    if (c.waiting) {
      ++counts.waiting;
      counts.maxwait = std::max(counts.maxwait, now - c.waiting_since);
    } else {
      ++counts.active;
    }
  }
  // The console merges rows of one (database, user) (AdminConsole): a tenant's read-write and
  // read-only pools, and its pools on other workers, are one row.
  rows.SetColumns({{"database"},
                    {"user"},
                    {"cl_active", true},
                    {"cl_waiting", true},
                    {"cl_active_cancel_req", true},
                    {"cl_waiting_cancel_req", true},
                    {"sv_active", true},
                    {"sv_active_cancel", true},
                    {"sv_being_canceled", true},
                    {"sv_idle", true},
                    {"sv_used", true},
                    {"sv_tested", true},
                    {"sv_login", true},
                    {"maxwait", true},
                    {"maxwait_us", true},
                    {"pool_mode"},
                    {"pool_size", true},
                    {"paused", true},
                    {"backend"},
                    {"backend_database"},
                    {"pools", true}});
  for (const auto& [name, pool] : PoolsByName(proxy)) {
    const ClientCounts& counts = by_pool[name];
    // A pool that moved to another worker shows there, once nothing of it is left here.
    if (pool->moved_to() >= 0 && pool->empty() && counts.active == 0 && counts.waiting == 0) continue;
    int64_t login = 0, used = 0;
    for (const ServerConnection* server : pool->connections()) {
      if (server->state() == ServerConnection::State::kConnecting ||
          server->state() == ServerConnection::State::kLoggingIn)
        ++login;
      if (server->state() == ServerConnection::State::kInternalQuery) ++used;
    }
    const int64_t idle = static_cast<int64_t>(pool->idle_count());
    const int64_t active = static_cast<int64_t>(pool->total()) - idle - login - used;
    const int64_t wait_us = Micros(counts.maxwait);
    const bool paused = pool->identity().shared() ? proxy.admin().paused_all()
                                                  : proxy.admin().IsPaused(pool->identity().tenant);
    rows.Add({std::string(pool->tenant_label()), pool->backend().user, Num(counts.active), Num(counts.waiting), Num(0),
              Num(0), Num(active), Num(0), Num(0), Num(idle), Num(used), Num(0), Num(login), Num(wait_us / 1000000),
              Num(wait_us % 1000000), std::string(config::ToString(pool->settings().mode)),
              Num(pool->settings().size), Num(paused), pool->backend().name, pool->backend().database, Num(1)});
  }
}

void ShowClients(ProxyServer& proxy, Table& rows) {
  const Clock::time_point now = Clock::now();
  rows.SetColumns(kConnectionColumns, {{"id", true},
                                       {"client_database"},
                                       {"in_transaction", true},
                                       {"pool"},
                                       {"session_id"},
                                       {"worker", true}});
  for (const ClientView& c : Clients(proxy)) {
    const auto [host, port] = SplitAddress(c.address);
    const int64_t wait_us = c.waiting ? Micros(now - c.waiting_since) : 0;
    // The tenant, as PgBouncer's database; the console itself for admins; what was asked before routing.
    const std::string database = c.admin ? c.database : !c.tenant.empty() ? c.tenant : c.database;
    rows.Add({c.admin ? "A" : "C", c.user, database, c.state, host, port, LocalHost(c.local_address),
              LocalPort(c.local_address), WallTime(c.connected_at), WallTime(c.last_request), Num(wait_us / 1000000),
              Num(wait_us % 1000000), Num(c.state == "closing"), Pointer(c.ptr), Pointer(c.server_ptr), Num(0),
              std::string(c.tls ? "TLS" : ""), c.application_name, Num(static_cast<int64_t>(c.prepared_statements)),
              Num(static_cast<int64_t>(c.id)), c.database, Num(c.in_transaction), c.pool, c.session_id,
              Num(proxy.index())});
  }
}

void ShowServers(ProxyServer& proxy, Table& rows) {
  rows.SetColumns(kConnectionColumns, {{"backend"}, {"backend_database"}, {"idle_since"}, {"pool"}});
  std::map<const void*, const ClientView*> holders;  // server connection -> the client holding it
  const std::vector<ClientView> clients = Clients(proxy);
  for (const ClientView& c : clients)
    if (c.server_ptr != nullptr) holders[c.server_ptr] = &c;
  for (const auto& [name, pool] : PoolsByName(proxy)) {
    std::vector<ServerConnection*> servers(pool->connections().begin(), pool->connections().end());
    std::sort(servers.begin(), servers.end(),
              [](const ServerConnection* a, const ServerConnection* b) { return a->id() < b->id(); });
    for (ServerConnection* server : servers) {
      const char* state = "closing";
      switch (server->state()) {
        case ServerConnection::State::kConnecting:
        case ServerConnection::State::kLoggingIn:
          state = "login";
          break;
        case ServerConnection::State::kIdle:
          state = "idle";
          break;
        case ServerConnection::State::kLinked:
          state = "active";
          break;
        case ServerConnection::State::kInternalQuery:
          state = "used";  // PgBouncer's word for a connection being reset or prepared
          break;
        case ServerConnection::State::kClosing:
          break;
      }
      const bool idle = server->state() == ServerConnection::State::kIdle;
      auto held = holders.find(server);
      const ClientView* holder = held == holders.end() ? nullptr : held->second;
      const config::BackendConfig& backend = server->backend();
      const auto local = server->local_address();
      rows.Add({"S", backend.user, std::string(pool->tenant_label()), std::string(state), backend.host,
                Num(backend.port), LocalHost(local), LocalPort(local), WallTime(server->created_at()),
                idle ? WallTime(server->idle_since()) : std::nullopt, Num(0), Num(0),
                Num(pool->Expired(server, Clock::now())), Pointer(server),
                Pointer(holder != nullptr ? holder->ptr : nullptr), Num(server->backend_pid()),
                std::string(server->tls() ? "TLS" : ""),
                holder != nullptr ? std::optional<std::string>(holder->application_name) : std::nullopt,
                Num(static_cast<int64_t>(server->statements().size())), backend.name, backend.database,
                idle ? WallTime(server->idle_since()) : std::nullopt, name});
    }
  }
}

void ShowLists(ProxyServer& proxy, Table& rows) {
  // Worker 0 adds what the configuration holds; every worker adds its own sessions and pools
  // (the console sums the rows by name).
  const config::Config& config = *proxy.config();
  const bool first = proxy.index() == 0;
  int64_t used_clients = 0, login_clients = 0, used_servers = 0;
  for (ClientSession* s : proxy.sessions()) {
    if (s->state() == ClientSession::State::kClosing) continue;
    if (s->state() == ClientSession::State::kStartup || s->state() == ClientSession::State::kAuthenticating)
      ++login_clients;
    else
      ++used_clients;
  }
  for (const auto& [identity, pool] : proxy.pools()) used_servers += static_cast<int64_t>(pool->total());
  rows.SetColumns({{"list"}, {"items", true}});
  const std::pair<const char*, int64_t> items[] = {
      {"databases", first ? static_cast<int64_t>(config.tenants.size()) : 0},
      {"users", first ? static_cast<int64_t>(config.users.size()) : 0},
      {"pools", static_cast<int64_t>(proxy.pools().size())},
      {"free_clients", 0},
      {"used_clients", used_clients},
      {"login_clients", login_clients},
      {"free_servers", 0},
      {"used_servers", used_servers},
      {"dns_names", 0},
      {"dns_zones", 0},
      {"dns_queries", 0},
      {"dns_pending", 0},
  };
  for (const auto& [list, count] : items) rows.Add({std::string(list), Num(count)});
}

}  // namespace pgtenant::proxy
