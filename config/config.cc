// Config: lookups, pool resolution and ToString of each enum (spellings: config_enum_names.h).
#include "config/config.h"

#include <cstdlib>

#include "config/config_enum_names.h"
#include "config/value_parsers.h"
#include "protocol/ascii_case.h"

namespace pgtenant::config {

namespace {

template <typename T>
const T* FindIn(const std::map<std::string, T>& map, std::string_view name) {
  auto it = map.find(std::string(name));
  return it == map.end() ? nullptr : &it->second;
}

void Apply(const PoolOverrides& overrides, PoolSettings& settings) {
  if (overrides.mode) settings.mode = *overrides.mode;
  if (overrides.size) settings.size = *overrides.size;
  if (overrides.min_idle) settings.min_idle = *overrides.min_idle;
  if (overrides.wait_timeout) settings.wait_timeout = *overrides.wait_timeout;
  if (overrides.idle_timeout) settings.idle_timeout = *overrides.idle_timeout;
  if (overrides.lifetime) settings.lifetime = *overrides.lifetime;
}

}  // namespace

std::string SocketPath(std::string_view directory, int port) {
  std::string path(directory);
  while (!path.empty() && path.back() == '/') path.pop_back();
  return path + "/.s.PGSQL." + std::to_string(port);
}

std::string DescribeAddress(std::string_view host, int port) {
  if (IsSocketDirectory(host)) return SocketPath(host, port);
  const std::string name(host);
  return (name.find(':') != std::string::npos ? "[" + name + "]" : name) + ":" + std::to_string(port);
}

const BackendConfig* Config::FindBackend(std::string_view name) const { return FindIn(backends, name); }
const TenantConfig* Config::FindTenant(std::string_view name) const { return FindIn(tenants, name); }
const UserConfig* Config::FindUser(std::string_view name) const { return FindIn(users, name); }

bool Config::IsAdmin(std::string_view user) const {
  for (const std::string& name : admin.users)
    if (name == user) return true;
  return false;
}

bool Config::IsSessionParameter(std::string_view name) const {
  for (const std::string& listed : session_parameters)
    if (protocol::EqualsIgnoreCase(listed, name)) return true;
  return false;
}

const TenantConfig* Config::FindTenantById(std::string_view id) const {
  Result<std::string> canonical = ParseUuid(id);
  if (!canonical.ok()) return nullptr;
  if (tenant_index.built) {
    auto it = tenant_index.by_id.find(*canonical);
    return it == tenant_index.by_id.end() ? nullptr : it->second;
  }
  for (const auto& [name, tenant] : tenants) {
    if (tenant.id == *canonical) return &tenant;
  }
  return nullptr;
}

const TenantConfig* Config::FindTenantBySchema(std::string_view schema) const {
  if (schema.empty()) return nullptr;
  if (tenant_index.built) {
    auto it = tenant_index.by_schema.find(protocol::AsciiLower(schema));
    return it == tenant_index.by_schema.end() ? nullptr : it->second;
  }
  for (const auto& [name, tenant] : tenants) {
    if (tenant.isolation == IsolationMode::kSchema && protocol::EqualsIgnoreCase(tenant.schema, schema)) return &tenant;
  }
  return nullptr;
}

void Config::BuildTenantIndex() {
  tenant_index = TenantIndex();
  tenant_index.by_id.reserve(tenants.size());
  for (const auto& [name, tenant] : tenants) {
    tenant_index.by_id.emplace(tenant.id, &tenant);  // ids are unique (the loader checks); first wins anyway
    if (tenant.isolation == IsolationMode::kSchema) tenant_index.by_schema.emplace(protocol::AsciiLower(tenant.schema), &tenant);
  }
  tenant_index.built = true;
}

bool SameDatabase(const BackendConfig& a, const BackendConfig& b) {
  return a.hosts.front() == b.hosts.front() && a.database == b.database;
}

const std::string& Config::ServerUserOf(const TenantConfig& tenant) const {
  if (!tenant.server_role->user.empty()) return tenant.server_role->user;
  return backends.at(tenant.backend).user;
}

PoolSettings Config::ResolvePool(const TenantConfig* tenant, const UserConfig* user) const {
  PoolSettings settings;
  Apply(pool, settings);
  if (tenant != nullptr) Apply(*tenant->pool, settings);
  if (user != nullptr) Apply(*user->pool, settings);
  return settings;
}

Duration Config::ResolveIdleTransactionTimeout(const TenantConfig* tenant, const UserConfig* user) const {
  if (user != nullptr && user->idle_transaction_timeout) return *user->idle_transaction_timeout;
  if (tenant != nullptr && tenant->idle_transaction_timeout) return *tenant->idle_transaction_timeout;
  return idle_transaction_timeout;
}

EnvLookup ProcessEnvironment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

std::string_view ToString(PoolMode mode) { return NameOf(kPoolModeNames, mode); }
std::string_view ToString(AuthMethod method) { return NameOf(kAuthMethodNames, method); }
std::string_view ToString(TlsClientMode mode) { return NameOf(kTlsClientModeNames, mode); }
std::string_view ToString(IsolationMode mode) { return NameOf(kIsolationModeNames, mode); }
std::string_view ToString(TenantRole role) { return NameOf(kTenantRoleNames, role); }
std::string_view ToString(IdentificationMethod method) { return NameOf(kIdentificationMethodNames, method); }
std::string_view ToString(WorkerPlacement placement) { return NameOf(kWorkerPlacementNames, placement); }
std::string_view ToString(AuditSinkType type) { return NameOf(kAuditSinkTypeNames, type); }
std::string_view ToString(AuditOverflow overflow) { return NameOf(kAuditOverflowNames, overflow); }
std::string_view ToString(LogLevel level) { return NameOf(kLogLevelNames, level); }
std::string_view ToString(LogFormat format) { return NameOf(kLogFormatNames, format); }

}  // namespace pgtenant::config
