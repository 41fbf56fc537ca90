// PoolIdentity: built from the config in one place, for routes and for reloads alike.
#include "routing/pool_identity.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <string_view>

#include "routing/startup_options.h"

namespace pgtenant::routing {

namespace {

std::string QuoteIdentifierIfNeeded(const std::string& name) {
  bool plain = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_';
  });
  if (plain) return name;
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

bool HasOwnPoolSettings(const config::UserConfig& user) {
  const config::PoolOverrides& o = *user.pool;
  return o.mode || o.size || o.min_idle || o.wait_timeout || o.idle_timeout || o.lifetime;
}

// `tenant` null: `backend`'s shared pool.
PoolIdentity Build(const config::Config& config, const config::BackendConfig& backend,
                   const config::TenantConfig* tenant, bool read_only, const config::UserConfig* user) {
  PoolIdentity identity;
  identity.backend = BackendTargetOf(backend);
  if (user != nullptr && HasOwnPoolSettings(*user)) identity.settings_user = user->name;
  if (tenant == nullptr) {
    identity.tenant_setting = config.tenant_setting;
    return identity;
  }
  identity.tenant = tenant->name;
  identity.read_only = read_only;
  // A schema tenant's own role is the server session's session user, authenticated at login: RESET ROLE
  // and SET SESSION AUTHORIZATION fall back to it, never to the backend's user. Being part of the
  // target, it keys the pool, so tenants with different roles never share a server connection.
  if (!tenant->server_role->user.empty()) {
    identity.backend.user = tenant->server_role->user;
    identity.backend.password = tenant->server_role->password;
  }
  // The tenant id is a validated UUID and the setting a validated dotted name: safe to inline.
  std::string options = "-c " + config.tenant_setting + "=" + tenant->id;
  if (tenant->isolation == config::IsolationMode::kSchema)
    options += " -c search_path=" + EscapeOptionValue(QuoteIdentifierIfNeeded(tenant->schema));
  if (read_only) options += " -c default_transaction_read_only=on";
  identity.server_startup.emplace_back("options", std::move(options));
  return identity;
}

}  // namespace

BackendTarget BackendTargetOf(const config::BackendConfig& backend) {
  // Every field, by position: a field added to BackendConfig breaks this line until it is placed
  // in BackendTarget (or, like max_connections, said to be a setting a live pool takes on).
  const auto& [name, host, port, hosts, database, user, password, sslmode, sslrootcert, max_connections,
               connect_timeout, shared_pool] = backend;
  (void)max_connections;  // the backend's cap across pools: BackendBudget::set_cap on reload
  return {name, host, port, hosts, database, user, password, sslmode, sslrootcert, connect_timeout, shared_pool};
}

config::BackendConfig BackendConfigOf(const BackendTarget& target) {
  config::BackendConfig backend;
  backend.name = target.backend;
  backend.host = target.host;
  backend.port = target.port;
  backend.hosts = target.hosts;
  backend.database = target.database;
  backend.user = target.user;
  backend.password = target.password;
  backend.sslmode = target.sslmode;
  backend.sslrootcert = target.sslrootcert;
  backend.max_connections = 0;
  backend.connect_timeout = target.connect_timeout;
  backend.shared_pool = target.shared_pool;
  return backend;
}

size_t Hash(const PoolIdentity& identity) {
  size_t h = 0;
  auto mix = [&h](std::string_view s) { h = h * 1000003u ^ std::hash<std::string_view>{}(s); };
  auto mix_number = [&h](int64_t n) { h = h * 1000003u ^ std::hash<int64_t>{}(n); };
  const BackendTarget& b = identity.backend;
  mix(b.backend);
  mix(b.host);
  mix_number(b.port);
  for (const config::BackendHost& host : b.hosts) {
    mix(host.host);
    mix_number(host.port);
  }
  mix(b.database);
  mix(b.user);
  mix(b.password);
  mix(b.sslmode);
  mix(b.sslrootcert);
  mix_number(b.connect_timeout.count());
  mix_number(b.shared_pool);
  mix(identity.tenant);
  mix_number(identity.read_only);
  for (const auto& [name, value] : identity.server_startup) {
    mix(name);
    mix(value);
  }
  mix(identity.tenant_setting);
  mix(identity.settings_user);
  return h;
}

std::string PoolName(const PoolIdentity& identity) {
  std::string name = identity.shared() ? "shared/" + identity.backend.backend + "/" + identity.backend.user
                                       : identity.tenant + "/" + identity.backend.backend + "/" +
                                             identity.backend.user + (identity.read_only ? "/ro" : "/rw");
  if (!identity.settings_user.empty()) name += "/user=" + identity.settings_user;
  return name;
}

bool UsesSharedPool(const config::BackendConfig& backend, const config::TenantConfig& tenant) {
  return backend.shared_pool && tenant.isolation == config::IsolationMode::kRls;
}

PoolIdentity MakePoolIdentity(const config::Config& config, const config::BackendConfig& backend,
                              const config::TenantConfig& tenant, bool read_only, const config::UserConfig* user) {
  return UsesSharedPool(backend, tenant) ? Build(config, backend, nullptr, false, user)
                                         : Build(config, backend, &tenant, read_only, user);
}

std::optional<PoolIdentity> PoolIdentityUnder(const config::Config& config, const PoolIdentity& identity) {
  const config::BackendConfig* backend = config.FindBackend(identity.backend.backend);
  if (backend == nullptr) return std::nullopt;
  const config::UserConfig* user = nullptr;
  if (!identity.settings_user.empty()) {
    user = config.FindUser(identity.settings_user);
    if (user == nullptr) return std::nullopt;
  }
  if (identity.shared()) {
    if (!backend->shared_pool) return std::nullopt;
    return Build(config, *backend, nullptr, false, user);
  }
  const config::TenantConfig* tenant = config.FindTenant(identity.tenant);
  if (tenant == nullptr || tenant->backend != backend->name || UsesSharedPool(*backend, *tenant)) return std::nullopt;
  return Build(config, *backend, tenant, identity.read_only, user);
}

}  // namespace pgtenant::routing
