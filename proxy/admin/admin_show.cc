// SHOW TENANTS, POOLS, CLIENTS, SERVERS, STATS, CONFIG, VERSION and HELP for the admin console.
#include "proxy/admin/admin_show.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>

#include "config/config.h"
#include "protocol/message_builder.h"
#include "protocol/wire.h"
#include "proxy/admin/admin_console.h"
#include "proxy/server/backend_health.h"
#include "proxy/session/client_session.h"
#include "proxy/worker/proxy_server.h"
#include "proxy/server/server_pool.h"
#include "proxy/worker/worker_group.h"

#ifndef PGTENANT_VERSION
#define PGTENANT_VERSION "unknown"
#endif

namespace pgtenant::proxy {

namespace {

// Type OIDs of the columns (pg_type): text and int8, as PgBouncer's console uses them.
constexpr int32_t kTextOid = 25;
constexpr int32_t kInt8Oid = 20;
constexpr int16_t kInt8Size = 8;
constexpr int16_t kVariableSize = -1;

std::string Num(int64_t n) { return std::to_string(n); }

int64_t Number(const std::optional<std::string>& text) { return text ? std::stoll(*text) : 0; }

// A steady-clock instant as wall time, "2026-01-31 12:00:00" (UTC), as PgBouncer shows times.
std::optional<std::string> WallTime(Clock::time_point t) {
  if (t == Clock::time_point{}) return std::nullopt;
  auto wall = std::chrono::system_clock::now() -
              std::chrono::duration_cast<std::chrono::system_clock::duration>(Clock::now() - t);
  std::time_t seconds = std::chrono::system_clock::to_time_t(wall);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &tm);
  return std::string(text);
}

int64_t Micros(Clock::duration d) { return std::chrono::duration_cast<std::chrono::microseconds>(d).count(); }

std::string Millis(config::Duration d) { return std::to_string(d.count()) + "ms"; }

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::vector<ClientView> Clients(ProxyServer& proxy) {
  std::vector<ClientView> views;
  for (ClientSession* s : proxy.sessions()) views.push_back(s->Describe());
  std::sort(views.begin(), views.end(),
            [](const ClientView& a, const ClientView& b) { return a.connected_at < b.connected_at; });
  return views;
}

}  // namespace

void Table::Write(std::string& out) const {
  protocol::MessageBuilder b(out);
  b.Begin(protocol::BackendTag::kRowDescription).Int16(static_cast<int16_t>(columns_.size()));
  for (const Column& c : columns_) {
    b.CString(c.name).Int32(0).Int16(0).Int32(c.numeric ? kInt8Oid : kTextOid);
    b.Int16(c.numeric ? kInt8Size : kVariableSize).Int32(-1).Int16(0);  // typmod -1, text format
  }
  b.End();
  for (const Row& row : rows_) protocol::AppendDataRow(out, row);
  protocol::AppendCommandComplete(out, "SHOW");
}

Table Table::Merge(std::vector<Table> parts, size_t key_columns, std::vector<std::string> sum,
                   std::vector<std::string> max) {
  Table merged;
  if (parts.empty()) return merged;
  merged.columns_ = parts[0].columns_;
  auto indexes = [&](const std::vector<std::string>& names) {
    std::vector<size_t> found;
    for (size_t i = 0; i < merged.columns_.size(); ++i)
      for (const std::string& name : names)
        if (name == merged.columns_[i].name) found.push_back(i);
    return found;
  };
  const std::vector<size_t> sums = indexes(sum);
  const std::vector<size_t> maxes = indexes(max);
  std::map<Row, size_t> by_key;  // key columns -> row of `merged`
  for (Table& part : parts) {
    for (Row& row : part.rows_) {
      if (key_columns == 0) {
        merged.rows_.push_back(std::move(row));
        continue;
      }
      Row key(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(std::min(key_columns, row.size())));
      auto [it, fresh] = by_key.emplace(std::move(key), merged.rows_.size());
      if (fresh) {
        merged.rows_.push_back(std::move(row));
        continue;
      }
      Row& into = merged.rows_[it->second];
      for (size_t c : sums) into[c] = Num(Number(into[c]) + Number(row[c]));
      for (size_t c : maxes) into[c] = Num(std::max(Number(into[c]), Number(row[c])));
    }
  }
  return merged;
}

const std::vector<std::pair<std::string, std::string>>& AdminCommandHelp() {
  static const std::vector<std::pair<std::string, std::string>> kHelp = {
      {"SHOW HELP", "this list"},
      {"SHOW TENANTS", "tenants: isolation, backend, pool, clients, paused, disabled"},
      {"SHOW POOLS", "server pools: clients active and waiting, servers active, idle and logging in"},
      {"SHOW CLIENTS", "client connections"},
      {"SHOW SERVERS", "server connections"},
      {"SHOW BACKENDS", "backend hosts: up or down (why, since when), where new server connections go"},
      {"SHOW STATS", "totals per tenant since pgtenant started"},
      {"SHOW CONFIG", "the running settings (no secrets)"},
      {"SHOW VERSION", "pgtenant's version"},
      {"RELOAD", "read the configuration file again (a bad file changes nothing)"},
      {"PAUSE [tenant]", "let transactions in flight finish, hold new ones until RESUME"},
      {"RESUME [tenant]", "end a PAUSE"},
      {"DISABLE tenant", "refuse new connections of the tenant (open ones keep working)"},
      {"ENABLE tenant", "accept new connections of the tenant again"},
      {"KILL tenant", "close every client connection of the tenant now"},
      {"SHUTDOWN", "stop like SIGTERM: open transactions may finish, then pgtenant exits"},
  };
  return kHelp;
}

void ShowHelp(ProxyServer&, Table& rows) {
  rows.SetColumns({{"command"}, {"description"}});
  for (const auto& [command, description] : AdminCommandHelp()) rows.Add({command, description});
}

void ShowVersion(ProxyServer&, Table& rows) {
  rows.SetColumns({{"version"}});
  rows.Add({std::string("pgtenant ") + PGTENANT_VERSION});
}

void ShowTenants(ProxyServer& proxy, Table& rows) {
  const config::Config& config = *proxy.config();
  std::map<std::string, int64_t> clients;
  for (ClientSession* s : proxy.sessions())
    if (!s->tenant_name().empty() && s->state() != ClientSession::State::kClosing) ++clients[s->tenant_name()];
  rows.SetColumns({{"name"},
                    {"id"},
                    {"isolation"},
                    {"schema"},
                    {"backend"},
                    {"pool_mode"},
                    {"pool_size", true},
                    {"max_clients", true},
                    {"max_transactions_per_second", true},
                    {"current_clients", true},
                    {"paused", true},
                    {"disabled", true}});
  for (const auto& [name, tenant] : config.tenants) {
    config::PoolSettings pool = config.ResolvePool(&tenant, nullptr);
    rows.Add({name, tenant.id, std::string(config::ToString(tenant.isolation)),
              tenant.schema.empty() ? std::nullopt : std::optional<std::string>(tenant.schema), tenant.backend,
              std::string(config::ToString(pool.mode)), Num(pool.size), Num(tenant.max_clients),
              Num(tenant.max_transactions_per_second), Num(clients[name]), Num(proxy.admin().IsPaused(name)),
              Num(proxy.admin().IsDisabled(name))});
  }
}

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
  rows.SetColumns({{"tenant"},
                    {"backend"},
                    {"database"},
                    {"user"},
                    {"cl_active", true},
                    {"cl_waiting", true},
                    {"sv_active", true},
                    {"sv_idle", true},
                    {"sv_login", true},
                    {"maxwait", true},
                    {"maxwait_us", true},
                    {"pool_mode"},
                    {"pool_size", true},
                    {"paused", true}});
  std::map<std::string, const ServerPool*> pools;  // sorted by name
  for (const auto& [identity, pool] : proxy.pools()) pools.emplace(pool->name(), pool.get());
  for (const auto& [name, pool] : pools) {
    const ClientCounts& counts = by_pool[name];
    // A pool that moved to another worker shows there, once nothing of it is left here.
    if (pool->moved_to() >= 0 && pool->empty() && counts.active == 0 && counts.waiting == 0) continue;
    int64_t login = 0;
    for (const ServerConnection* server : pool->connections()) {
      if (server->state() == ServerConnection::State::kConnecting ||
          server->state() == ServerConnection::State::kLoggingIn)
        ++login;
    }
    const int64_t idle = static_cast<int64_t>(pool->idle_count());
    const int64_t active = static_cast<int64_t>(pool->total()) - idle - login;
    const int64_t wait_us = Micros(counts.maxwait);
    const bool paused = pool->identity().shared() ? proxy.admin().paused_all()
                                                  : proxy.admin().IsPaused(pool->identity().tenant);
    rows.Add({std::string(pool->tenant_label()), pool->backend().name, pool->backend().database, pool->backend().user,
              Num(counts.active), Num(counts.waiting), Num(active), Num(idle), Num(login), Num(wait_us / 1000000),
              Num(wait_us % 1000000), std::string(config::ToString(pool->settings().mode)),
              Num(pool->settings().size), Num(paused)});
  }
}

void ShowClients(ProxyServer& proxy, Table& rows) {
  const Clock::time_point now = Clock::now();
  rows.SetColumns({{"type"},
                    {"user"},
                    {"tenant"},
                    {"database"},
                    {"state"},
                    {"addr"},
                    {"port", true},
                    {"connect_time"},
                    {"request_time"},
                    {"wait", true},
                    {"wait_us", true},
                    {"in_transaction", true},
                    {"tls", true},
                    {"application_name"},
                    {"pool"},
                    {"session_id"},
                    {"worker", true}});
  for (const ClientView& c : Clients(proxy)) {
    std::string host = c.address;
    std::optional<std::string> port;
    if (size_t colon = c.address.rfind(':'); colon != std::string::npos) {
      host = c.address.substr(0, colon);
      port = c.address.substr(colon + 1);
    }
    const int64_t wait_us = c.waiting ? Micros(now - c.waiting_since) : 0;
    rows.Add({c.admin ? "A" : "C", c.user, c.tenant, c.database, c.state, host, port, WallTime(c.connected_at),
              WallTime(c.last_request), Num(wait_us / 1000000), Num(wait_us % 1000000), Num(c.in_transaction),
              Num(c.tls), c.application_name, c.pool, c.session_id, Num(proxy.index())});
  }
}

void ShowServers(ProxyServer& proxy, Table& rows) {
  rows.SetColumns({{"type"},
                    {"user"},
                    {"database"},
                    {"tenant"},
                    {"backend"},
                    {"state"},
                    {"addr"},
                    {"port", true},
                    {"connect_time"},
                    {"idle_since"},
                    {"remote_pid", true},
                    {"pool"}});
  std::map<std::string, const ServerPool*> pools;
  for (const auto& [identity, pool] : proxy.pools()) pools.emplace(pool->name(), pool.get());
  for (const auto& [name, pool] : pools) {
    std::vector<const ServerConnection*> servers(pool->connections().begin(), pool->connections().end());
    std::sort(servers.begin(), servers.end(),
              [](const ServerConnection* a, const ServerConnection* b) { return a->id() < b->id(); });
    for (const ServerConnection* server : servers) {
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
      const config::BackendConfig& backend = server->backend();
      rows.Add({"S", backend.user, backend.database, std::string(pool->tenant_label()), backend.name, std::string(state),
                backend.host, Num(backend.port), WallTime(server->created_at()),
                server->state() == ServerConnection::State::kIdle ? WallTime(server->idle_since()) : std::nullopt,
                Num(server->backend_pid()), name});
    }
  }
}

void ShowBackends(ProxyServer& proxy, Table& rows) {
  rows.SetColumns({{"backend"},
                    {"host"},
                    {"role"},
                    {"state"},
                    {"down_since"},
                    {"reason"},
                    {"current", true},
                    {"health_checks", true},
                    {"sv_open", true},
                    {"max_connections", true}});
  for (const auto& [name, health] : proxy.health().backends()) {
    const int64_t open = proxy.ServerConnectionsOpen(name);
    for (size_t i = 0; i < health->hosts().size(); ++i) {
      const BackendHealth::HostState state = health->state(i);
      const bool down = state == BackendHealth::HostState::kDown;
      rows.Add({name, BackendHealth::Address(health->hosts()[i]), std::string(i == 0 ? "primary" : "alternate"),
                std::string(down ? "down" : state == BackendHealth::HostState::kUp ? "up" : "unknown"),
                down ? WallTime(health->down_since(i)) : std::nullopt,
                down ? std::optional<std::string>(health->down_reason(i)) : std::nullopt,
                Num(health->last_picked() == i), Num(health->checks_enabled()), Num(open),
                Num(health->backend().max_connections)});
    }
  }
}

void ShowStats(ProxyServer& proxy, Table& rows) {
  // What the workers counted since their last tick is in the figures.
  proxy.group().RunOnAll(proxy, [](ProxyServer&) { Metrics::FlushThreadTally(); });
  const config::Config& config = *proxy.config();
  rows.SetColumns({{"tenant"},
                    {"total_xact_count", true},
                    {"total_query_count", true},
                    {"total_received", true},
                    {"total_sent", true},
                    {"total_xact_time", true},
                    {"total_wait_time", true},
                    {"avg_xact_time", true},
                    {"avg_wait_time", true},
                    {"auth_failures", true}});
  for (const auto& [name, tenant] : config.tenants) {
    Metrics::TenantSeries* series = proxy.metrics().ForTenant(name);
    auto count = [](const prometheus::Counter* c) { return static_cast<int64_t>(c->Value()); };
    const auto xact = series->transaction_seconds->Collect().histogram;
    const auto wait = series->pool_wait_seconds->Collect().histogram;
    const int64_t xact_us = static_cast<int64_t>(xact.sample_sum * 1e6);
    const int64_t wait_us = static_cast<int64_t>(wait.sample_sum * 1e6);
    rows.Add({name, Num(count(series->transactions)), Num(count(series->statements)), Num(count(series->bytes_in)),
              Num(count(series->bytes_out)), Num(xact_us), Num(wait_us),
              Num(xact.sample_count ? xact_us / static_cast<int64_t>(xact.sample_count) : 0),
              Num(wait.sample_count ? wait_us / static_cast<int64_t>(wait.sample_count) : 0),
              Num(count(series->auth_failures))});
  }
}

void ShowConfig(ProxyServer& proxy, Table& rows) {
  const config::Config& c = *proxy.config();
  const config::PoolSettings pool = c.ResolvePool(nullptr, nullptr);
  std::vector<std::string> identification;
  for (config::IdentificationMethod m : c.tenant_identification) identification.emplace_back(config::ToString(m));
  std::vector<std::string> sinks;
  for (const config::AuditSinkConfig& sink : c.audit.sinks)
    sinks.push_back(sink.type == config::AuditSinkType::kFile ? "file:" + sink.path : "stdout");
  rows.SetColumns({{"key"}, {"value"}});
  const std::vector<std::pair<std::string, std::string>> settings = {
      {"config_file", c.source},
      {"config_generation", std::to_string(proxy.config_generation())},
      {"listen.address", c.listen.address},
      {"listen.port", std::to_string(c.listen.port)},
      {"listen.reuse_port", c.listen.reuse_port ? "true" : "false"},
      {"auth.method", std::string(config::ToString(c.auth_method))},
      {"tenant_identification", Join(identification)},
      {"tenant_setting", c.tenant_setting},
      {"username_separator", c.username_separator},
      {"limits.max_client_connections", std::to_string(c.max_client_connections)},
      {"workers", std::to_string(proxy.group().size())},
      {"worker_placement", std::string(config::ToString(c.worker_placement))},
      {"worker_busy_percent", std::to_string(c.worker_busy_percent)},
      {"limits.max_query_size", std::to_string(c.max_query_size)},
      {"limits.max_function_call_size", std::to_string(c.max_function_call_size)},
      {"limits.client_idle_timeout", Millis(c.client_idle_timeout)},
      {"limits.idle_transaction_timeout", Millis(c.idle_transaction_timeout)},
      {"limits.startup_timeout", Millis(c.startup_timeout)},
      {"limits.shutdown_timeout", Millis(c.shutdown_timeout)},
      {"pool.mode", std::string(config::ToString(pool.mode))},
      {"pool.size", std::to_string(pool.size)},
      {"pool.min_idle", std::to_string(pool.min_idle)},
      {"pool.wait_timeout", Millis(pool.wait_timeout)},
      {"pool.idle_timeout", Millis(pool.idle_timeout)},
      {"pool.lifetime", Millis(pool.lifetime)},
      {"tls.client.mode", std::string(config::ToString(c.tls.client.mode))},
      {"metrics", c.metrics.enabled ? c.metrics.address + ":" + std::to_string(c.metrics.port) : "off"},
      {"audit.sinks", sinks.empty() ? "off" : Join(sinks)},
      {"audit.statements", c.audit.statements ? "true" : "false"},
      {"admin.users", Join(c.admin.users)},
      {"backends", std::to_string(c.backends.size())},
      {"tenants", std::to_string(c.tenants.size())},
      {"users", std::to_string(c.users.size())},
  };
  for (const auto& [key, value] : settings) rows.Add({key, value});
}

}  // namespace pgtenant::proxy
