// PoolIdentity: what makes two server connections interchangeable, as one value.
//
// Two routes share a pool exactly when their pool identities are equal, and a pool survives a
// reload exactly when the new config gives it the same identity again (PoolIdentityUnder). The
// identity holds the backend's connection settings, the tenant context the connections carry in
// their startup packet (or, in a shared pool, the setting that carries it on checkout), the
// server-side access (read-only for viewers), and whose pool settings size the pool.
//
// Not in it, because a reload applies them to a live pool without closing anything: the pool
// settings themselves (mode, size, timeouts; ServerPool::UpdateSettings) and a backend's
// max_connections (a cap across pools; BackendBudget::set_cap).
//
// PoolName is for logs, errors and the admin console; nothing is ever parsed back out of it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"

namespace pgtenant::routing {

// The settings of a config::BackendConfig that its server connections are made with: all of its
// fields but max_connections (BackendTargetOf fails to compile when a field is added, so that a new
// setting cannot be left out of pool identity by accident).
struct BackendTarget {
  std::string backend;  // backends.NAME
  std::string host;
  int port = 0;
  std::vector<config::BackendHost> hosts;
  std::string database;
  std::string user;
  std::string password;
  std::string sslmode;
  std::string sslrootcert;
  config::Duration connect_timeout{0};
  bool shared_pool = false;
  bool operator==(const BackendTarget&) const = default;
};

BackendTarget BackendTargetOf(const config::BackendConfig& backend);
// The config::BackendConfig a server connection of `target` is made with; max_connections is 0
// (the cap is kept across pools, by the backend's budget).
config::BackendConfig BackendConfigOf(const BackendTarget& target);

struct PoolIdentity {
  // The backend's settings, with the tenant's server_role (user and password) in place of the
  // backend's user when it has one: the role its server connections log in as.
  BackendTarget backend;
  // The tenant whose context the connections carry; empty for a backend's shared pool (its
  // connections carry none of their own: the session sets it on checkout).
  std::string tenant;
  bool read_only = false;  // viewers' pools: default_transaction_read_only=on at login
  // Server startup parameters beyond user and database: the tenant context in `options`.
  std::vector<std::pair<std::string, std::string>> server_startup;
  // Shared pools: the setting that carries the tenant id (config tenant_setting), SET on checkout.
  // (A tenant's pool has it in `server_startup`.)
  std::string tenant_setting;
  // The user whose own pool settings (users.NAME.pool) this pool follows; empty: the tenant's.
  std::string settings_user;

  bool shared() const { return tenant.empty(); }
  bool operator==(const PoolIdentity&) const = default;
};

// A hash of every field of `identity`.
size_t Hash(const PoolIdentity& identity);
struct PoolIdentityHash {
  size_t operator()(const PoolIdentity& identity) const { return Hash(identity); }
};

// "TENANT/BACKEND/SERVER_USER/rw" (or /ro), "shared/BACKEND/SERVER_USER" for a shared pool, with
// "/user=NAME" after it for a user's own pool. Unique among the pools of one config.
std::string PoolName(const PoolIdentity& identity);

// Whether `tenant`'s sessions use `backend`'s shared pool rather than a pool of the tenant's own.
bool UsesSharedPool(const config::BackendConfig& backend, const config::TenantConfig& tenant);

// The identity of the pool that sessions of `user` in `tenant` with `read_only` access get under
// `config`. REQUIRES: `backend` is `tenant`'s backend in `config`.
PoolIdentity MakePoolIdentity(const config::Config& config, const config::BackendConfig& backend,
                              const config::TenantConfig& tenant, bool read_only, const config::UserConfig* user);

// The identity `config` gives the pool that `identity` names (by its tenant, or its backend's
// shared pool; its access; its settings user), or nullopt when `config` has no such pool: the
// tenant, backend or user is gone, the tenant moved to another backend, or in or out of the
// shared pool. A pool survives a reload exactly when this equals its identity.
std::optional<PoolIdentity> PoolIdentityUnder(const config::Config& config, const PoolIdentity& identity);

}  // namespace pgtenant::routing
