// SHOW HELP, VERSION, TENANTS, DATABASES, USERS, BACKENDS and CONFIG for the admin console, and the
// Table they are written with. POOLS, CLIENTS, SERVERS and LISTS are in admin_show_connections.cc,
// STATS and TOTALS in admin_show_stats.cc.
#include "proxy/admin/admin_show.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>

#include "config/config.h"
#include "config/tenant_catalog.h"
#include "protocol/message_builder.h"
#include "protocol/wire.h"
#include "proxy/admin/admin_console.h"
#include "proxy/build_info.h"
#include "proxy/server/backend_health.h"
#include "proxy/session/client_session.h"
#include "proxy/worker/proxy_server.h"
#include "proxy/server/server_pool.h"
#include "proxy/worker/worker_group.h"

namespace pgtenant::proxy {

namespace {

// Type OIDs of the columns (pg_type): text and int8, as PgBouncer's console uses them.
constexpr int32_t kTextOid = 25;
constexpr int32_t kInt8Oid = 20;
constexpr int16_t kInt8Size = 8;
constexpr int16_t kVariableSize = -1;

std::string Millis(config::Duration d) { return std::to_string(d.count()) + "ms"; }

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

namespace admin_text {

std::string Num(int64_t n) { return std::to_string(n); }

int64_t Number(const std::optional<std::string>& text) { return text ? std::stoll(*text) : 0; }

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

}  // namespace admin_text

using admin_text::Num;
using admin_text::Number;
using admin_text::WallTime;

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
      std::vector<int64_t> kept, offered;
      for (size_t c : maxes) {
        kept.push_back(Number(into[c]));
        offered.push_back(Number(row[c]));
      }
      if (offered > kept)
        for (size_t c : maxes) into[c] = std::move(row[c]);
    }
  }
  return merged;
}

const std::vector<std::pair<std::string, std::string>>& AdminCommandHelp() {
  static const std::vector<std::pair<std::string, std::string>> kHelp = {
      {"SHOW HELP", "this list"},
      {"SHOW TENANTS", "tenants: isolation, backend, pool, clients, paused, disabled, source (yaml or catalog)"},
      {"SHOW POOLS", "server pools: clients active and waiting, servers active, idle and logging in"},
      {"SHOW CLIENTS", "client connections"},
      {"SHOW SERVERS", "server connections"},
      {"SHOW BACKENDS", "backend hosts: up or down (why, since when), where new server connections go"},
      {"SHOW DATABASES", "tenants as PgBouncer lists databases: backend host, pool size, server connections"},
      {"SHOW USERS", "configured users: pool mode, client connections"},
      {"SHOW LISTS", "how many tenants, users, pools, clients and servers there are"},
      {"SHOW STATS", "totals and averages per tenant since pgtenant started"},
      {"SHOW TOTALS", "SHOW STATS summed over every tenant"},
      {"SHOW CONFIG", "the running settings (no secrets)"},
      {"SHOW VERSION", "pgtenant's version"},
      {"RELOAD", "read the configuration file again (a bad file changes nothing)"},
      {"PAUSE [tenant]", "let transactions in flight finish, hold new ones until RESUME"},
      {"RESUME [tenant]", "end a PAUSE"},
      {"DISABLE tenant", "refuse new connections of the tenant (open ones keep working)"},
      {"ENABLE tenant", "accept new connections of the tenant again"},
      {"KILL tenant", "close every client connection of the tenant now"},
      {"KILL_CLIENT id", "close one client connection now (the id SHOW CLIENTS prints)"},
      {"RECONNECT [tenant]", "close server connections once released (idle ones now); new ones open as needed"},
      {"SHUTDOWN", "stop like SIGTERM: open transactions may finish, then pgtenant exits"},
  };
  return kHelp;
}

std::string ShowItemList() {
  std::string list;
  for (const auto& [command, description] : AdminCommandHelp()) {
    if (command.rfind("SHOW ", 0) != 0) continue;
    list += (list.empty() ? "" : ", ") + command.substr(5);
  }
  return list;
}

void ShowHelp(ProxyServer&, Table& rows) {
  rows.SetColumns({{"command"}, {"description"}});
  for (const auto& [command, description] : AdminCommandHelp()) rows.Add({command, description});
}

void ShowVersion(ProxyServer&, Table& rows) {
  rows.SetColumns({{"version"}});
  rows.Add({"pgtenant " + std::string(kBuildVersion)});
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
                    {"disabled", true},
                    {"source"}});
  for (const auto& [name, tenant] : config.tenants) {
    config::PoolSettings pool = config.ResolvePool(&tenant, nullptr);
    rows.Add({name, tenant.id, std::string(config::ToString(tenant.isolation)),
              tenant.schema.empty() ? std::nullopt : std::optional<std::string>(tenant.schema), tenant.backend,
              std::string(config::ToString(pool.mode)), Num(pool.size), Num(tenant.max_clients),
              Num(tenant.max_transactions_per_second), Num(clients[name]), Num(proxy.admin().IsPaused(name)),
              Num(proxy.admin().IsDisabled(name)), std::string(config::ToString(tenant.source))});
  }
}

void ShowDatabases(ProxyServer& proxy, Table& rows) {
  const config::Config& config = *proxy.config();
  std::map<std::string, int64_t> servers;  // tenant -> server connections of its own pools here
  for (const auto& [identity, pool] : proxy.pools())
    if (!identity.shared()) servers[identity.tenant] += static_cast<int64_t>(pool->total());
  rows.SetColumns({{"name"},
                    {"host"},
                    {"port", true},
                    {"database"},
                    {"force_user"},
                    {"pool_size", true},
                    {"min_pool_size", true},
                    {"reserve_pool", true},
                    {"pool_mode"},
                    {"max_connections", true},
                    {"current_connections", true},
                    {"paused", true},
                    {"disabled", true},
                    {"backend"},
                    {"backend_database"}});
  for (const auto& [name, tenant] : config.tenants) {
    const config::BackendConfig* backend = config.FindBackend(tenant.backend);
    const config::PoolSettings pool = config.ResolvePool(&tenant, nullptr);
    auto of_backend = [&](auto field) -> std::optional<std::string> {
      if (backend == nullptr) return std::nullopt;
      return field(*backend);
    };
    rows.Add({name, of_backend([](const config::BackendConfig& b) { return b.host; }),
              of_backend([](const config::BackendConfig& b) { return Num(b.port); }),
              name,  // the tenant: see the header
              of_backend([](const config::BackendConfig& b) { return b.user; }), Num(pool.size), Num(pool.min_idle),
              Num(0), std::string(config::ToString(pool.mode)),
              of_backend([](const config::BackendConfig& b) { return Num(b.max_connections); }), Num(servers[name]),
              Num(proxy.admin().IsPaused(name)), Num(proxy.admin().IsDisabled(name)), tenant.backend,
              of_backend([](const config::BackendConfig& b) { return b.database; })});
  }
}

void ShowUsers(ProxyServer& proxy, Table& rows) {
  const config::Config& config = *proxy.config();
  std::map<std::string, int64_t> clients;
  for (ClientSession* s : proxy.sessions())
    if (s->state() != ClientSession::State::kClosing) ++clients[s->Describe().user];
  rows.SetColumns({{"name"}, {"pool_mode"}, {"current_client_connections", true}, {"admin", true}, {"tenants"}});
  for (const auto& [name, user] : config.users) {
    std::vector<std::string> tenants;
    for (const auto& [tenant, role] : user.tenants) tenants.push_back(tenant);
    rows.Add({name, user.pool->mode ? std::optional<std::string>(config::ToString(*user.pool->mode)) : std::nullopt,
              Num(clients[name]), Num(config.IsAdmin(name)), Join(tenants)});
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
