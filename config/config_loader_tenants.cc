// ConfigLoader, second half: tenants, users, and the checks that span them (dedicated backends,
// password format against auth.method, pools resolved for every tenant and membership).
#include <algorithm>
#include <array>
#include <climits>
#include <unordered_map>

#include "config/config_enum_names.h"
#include "config/config_loader.h"
#include "config/config_loader_audit.h"
#include "config/config_loader_policy.h"
#include "config/value_parsers.h"

namespace pgtenant::config {

namespace {
// cert and jwt users prove who they are without a stored password; trust users need none.
bool NeedsPassword(AuthMethod method) {
  return method != AuthMethod::kTrust && method != AuthMethod::kCert && method != AuthMethod::kJwt;
}

template <typename T>
std::vector<std::string> KeysOf(const std::map<std::string, T>& map) {
  std::vector<std::string> keys;
  for (const auto& entry : map) keys.push_back(entry.first);
  return keys;
}

}  // namespace

void ConfigLoader::ReadTenantId(const Field& field, std::string_view name, TenantConfig& tenant,
                                std::unordered_map<std::string, std::string_view>& tenant_by_id) {
  std::optional<std::string> text = reader_.ReadNonEmptyString(field);
  if (!text) return;
  Result<std::string> id = ParseUuid(*text);
  if (!id.ok()) {
    reader_.Fail(field, id.status().message());
    return;
  }
  auto [it, inserted] = tenant_by_id.emplace(*id, name);
  if (!inserted) reader_.Fail(field, "id " + *id + " is already used by tenant " + std::string(it->second));
  tenant.id = std::move(*id);
}

void ConfigLoader::ReadTenants(const Field& field) {
  const Mapping entries = ReadNamedEntries(field, "tenant");
  std::unordered_map<std::string, std::string_view> tenant_by_id;  // names: views into `entries`
  tenant_by_id.reserve(entries.entries().size());
  std::map<std::string, std::string> tenant_by_schema;
  tenant_names_known_ = field.node.IsMap();
  for (const MappingEntry& entry : entries.entries()) {
    ErrorScope entry_scope(reader_);  // each tenant on its own
    CheckEntryName(field, entry, "tenant");
    const Mapping map = reader_.ReadMapping(entry.value, ConfigSection::kTenant, {"id", "backend"});
    TenantConfig tenant;
    tenant.name = entry.key;

    if (auto f = map.Get("id")) ReadTenantId(*f, entry.key, tenant, tenant_by_id);

    if (auto f = map.Get("isolation")) SetIfPresent(tenant.isolation, reader_.ReadEnum(*f, kIsolationModeNames));
    const std::optional<Field> schema = map.Get("schema");
    if (tenant.isolation == IsolationMode::kSchema && !schema) {
      reader_.Fail(entry.value, "missing required key 'schema' (isolation is schema)");
    } else if (tenant.isolation != IsolationMode::kSchema && schema) {
      reader_.Fail(*schema, "only allowed with isolation: schema (isolation is " +
                                std::string(ToString(tenant.isolation)) + ")");
    } else if (schema) {
      std::optional<std::string> name = reader_.ReadNonEmptyString(*schema);
      if (name && !IsSqlIdentifier(*name)) {
        reader_.Fail(*schema, "expected a plain SQL identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63 bytes), got " +
                                  Quoted(*name));
      } else if (name) {
        auto [it, inserted] = tenant_by_schema.emplace(*name, entry.key);
        if (!inserted) reader_.Fail(*schema, "schema " + *name + " is already used by tenant " + it->second);
      }
      SetIfPresent(tenant.schema, name);
    }

    if (auto f = map.Get("backend")) {
      std::optional<std::string> backend = reader_.ReadNonEmptyString(*f);
      if (backend && backend_names_known_ && config_.FindBackend(*backend) == nullptr) {
        reader_.Fail(*f, "no backend named " + Quoted(*backend) + DidYouMean(*backend, KeysOf(config_.backends)));
      }
      SetIfPresent(tenant.backend, backend);
      if (tenant.isolation == IsolationMode::kDatabase) tenant_backends_.emplace(entry.key, *f);
    }
    if (auto f = map.Get("server_role")) {
      if (tenant.isolation != IsolationMode::kSchema) {
        reader_.Fail(*f, "only allowed with isolation: schema (isolation is " + std::string(ToString(tenant.isolation)) +
                             "; rls tenants are kept apart by row level security, a database tenant by its backend's "
                             "own user)");
      } else {
        tenant.server_role = ReadServerRole(*f);
        tenant_server_roles_.emplace(entry.key, *f);
      }
    }
    if (auto f = map.Get("pool")) {
      tenant.pool = ReadPool(*f);
      tenant_pools_.emplace(entry.key, *f);
    }
    if (auto f = map.Get("max_clients")) SetIfPresent(tenant.max_clients, reader_.ReadInt(*f, 0, INT_MAX));
    if (auto f = map.Get("max_transactions_per_second"))
      SetIfPresent(tenant.max_transactions_per_second, reader_.ReadInt(*f, 0, 1000000));
    if (auto f = map.Get("idle_transaction_timeout"))
      tenant.idle_transaction_timeout = reader_.ReadDuration(*f, Duration(0));
    if (auto f = map.Get("compliance")) tenant.compliance = ReadComplianceSection(reader_, *f);
    if (auto f = map.Get("policy")) tenant.policy = ReadPolicySection(reader_, *f);
    config_.tenants.emplace(entry.key, std::move(tenant));
  }
}

// Database isolation means the tenant's data lives in a database no other tenant reaches.
void ConfigLoader::CheckDedicatedBackends() {
  if (reader_.failed() || tenant_backends_.empty()) return;
  // The first two tenants (by name) of each backend that a database tenant names: one pass, not one
  // per database tenant.
  std::unordered_map<std::string_view, std::pair<const std::string*, const std::string*>> users_of;
  for (const auto& [name, field] : tenant_backends_) users_of.emplace(config_.tenants.at(name).backend, std::pair{nullptr, nullptr});
  for (const auto& [name, tenant] : config_.tenants) {
    auto it = users_of.find(tenant.backend);
    if (it == users_of.end()) continue;
    auto& [first, second] = it->second;
    if (first == nullptr) {
      first = &name;
    } else if (second == nullptr) {
      second = &name;
    }
  }
  for (const auto& [name, field] : tenant_backends_) {
    const TenantConfig& tenant = config_.tenants.at(name);
    const auto& [first, second] = users_of.at(tenant.backend);
    const std::string* other = *first != name ? first : second;
    if (other == nullptr) continue;
    reader_.Fail(field, "backend " + Quoted(tenant.backend) + " is also used by tenant " + *other +
                            "; a tenant with isolation: database needs a backend of its own");
    return;
  }
}

ServerRoleConfig ConfigLoader::ReadServerRole(const Field& field) {
  ServerRoleConfig role;
  const Mapping map = reader_.ReadMapping(field, ConfigSection::kServerRole, {"user"});
  if (auto f = map.Get("user")) SetIfPresent(role.user, ReadPostgresName(*f));
  if (auto f = map.Get("password")) SetIfPresent(role.password, reader_.ReadString(*f));
  return role;
}

// A role is what the database tells tenants apart by: two schema tenants that log in as one role reach
// each other's schemas (and statistics) whatever the parser says. Backends are compared by the database
// they reach, so two backend entries for one database do not hide a shared role.
void ConfigLoader::CheckServerRoles() {
  if (reader_.failed() || tenant_server_roles_.empty()) return;
  // The tenants with a server role, by role, in name order: each tenant is compared with those that
  // share its role, not with every tenant.
  std::unordered_map<std::string_view, std::vector<const TenantConfig*>> by_role;
  for (const auto& [name, field] : tenant_server_roles_) {
    const TenantConfig& tenant = config_.tenants.at(name);
    by_role[tenant.server_role->user].push_back(&tenant);
  }
  for (const auto& [name, field] : tenant_server_roles_) {
    const TenantConfig& tenant = config_.tenants.at(name);
    const BackendConfig& backend = config_.backends.at(tenant.backend);
    const std::string& role = tenant.server_role->user;
    for (const auto& [backend_name, other_backend] : config_.backends) {
      if (!SameDatabase(backend, other_backend) || other_backend.user != role) continue;
      reader_.Fail(field, "role " + Quoted(role) + " is backends." + backend_name +
                              ".user, which other tenants of that database log in as; a schema tenant's "
                              "server_role must be a role of its own");
      return;
    }
    for (const TenantConfig* other : by_role.at(role)) {
      if (other->name == name) continue;
      if (!SameDatabase(backend, config_.backends.at(other->backend))) continue;
      reader_.Fail(field, "role " + Quoted(role) + " is already the server_role of tenant " + other->name +
                              " on the same database; each schema tenant needs a role of its own, or the "
                              "database cannot keep them out of each other's schemas");
      return;
    }
  }
}

void ConfigLoader::ReadUsers(const Field& field) {
  const Mapping entries = ReadNamedEntries(field, "user");
  for (const MappingEntry& entry : entries.entries()) {
    ErrorScope entry_scope(reader_);  // each user on its own
    CheckEntryName(field, entry, "user");
    if (sections_ok_.username_separator && entry.key.find(config_.username_separator) != std::string::npos) {
      reader_.Fail(entry.key_mark, field.path,
                   "user name " + Quoted(entry.key) + " contains the username_separator " +
                       Quoted(config_.username_separator) + ", so user" + config_.username_separator +
                       "tenant would be ambiguous");
    }
    // An admin user (admin.users) may exist only for the admin console, without tenants; while
    // admin: has errors, nobody is known not to be one.
    const bool tenants_required = sections_ok_.admin && !config_.IsAdmin(entry.key);
    const Mapping map = tenants_required ? reader_.ReadMapping(entry.value, ConfigSection::kUser, {"tenants"})
                                         : reader_.ReadMapping(entry.value, ConfigSection::kUser);
    UserConfig user;
    user.name = entry.key;
    ReadUserPassword(map, entry.value, user);

    if (auto tenants_field = map.Get("tenants")) {
      const Mapping tenants = reader_.ReadMapping(*tenants_field);
      if (!reader_.failed() && tenants.empty()) reader_.Fail(*tenants_field, "must list at least one tenant");
      for (const MappingEntry& membership : tenants.entries()) {
        if (tenant_names_known_ && config_.FindTenant(membership.key) == nullptr) {
          reader_.Fail(
              membership.key_mark, tenants_field->path,
              "no tenant named " + Quoted(membership.key) + DidYouMean(membership.key, KeysOf(config_.tenants)));
        }
        std::optional<TenantRole> role = reader_.ReadEnum(membership.value, kTenantRoleNames);
        if (role) user.tenants.emplace(membership.key, *role);
      }
    }
    if (auto f = map.Get("pool")) {
      user.pool = ReadPool(*f);
      user_pools_.emplace(entry.key, *f);
    }
    if (auto f = map.Get("idle_transaction_timeout")) user.idle_transaction_timeout = reader_.ReadDuration(*f, Duration(0));
    config_.users.emplace(entry.key, std::move(user));
  }
}

// Messages here never include the password, only which form was expected.
void ConfigLoader::ReadUserPassword(const Mapping& map, const Field& user_field, UserConfig& user) {
  const AuthMethod method = config_.auth_method;
  const std::string method_name(ToString(method));
  const std::optional<Field> field = map.Get("password");
  if (!field) {
    if (sections_ok_.auth && NeedsPassword(method)) {
      reader_.Fail(user_field, "missing required key 'password' (auth.method is " + method_name + ")");
    }
    return;
  }
  std::optional<std::string> password = reader_.ReadString(*field);
  if (!password) return;
  if (!sections_ok_.auth) {  // the form a password must have is not known
    user.password = std::move(*password);
    return;
  }
  if (password->empty()) {
    if (NeedsPassword(method)) reader_.Fail(*field, "must not be empty (auth.method is " + method_name + ")");
    return;
  }
  // Parsed once: what checks the form is what the proxy keeps (the decoded salt and keys).
  Result<protocol::ScramVerifier> verifier = protocol::ScramVerifier::Parse(*password);
  const bool scram = verifier.ok();
  const bool md5 = IsMd5Hash(*password);
  if (!scram && !md5) {
    reader_.Fail(*field,
                 "expected a SCRAM-SHA-256 verifier (SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>) "
                 "or an MD5 hash (md5 followed by 32 lowercase hex digits); plain-text passwords are not accepted");
  } else if (method == AuthMethod::kMd5 && !md5) {
    reader_.Fail(*field,
                 "auth.method is md5, which needs an MD5 hash (md5 followed by 32 hex digits); "
                 "a SCRAM-SHA-256 verifier cannot answer an MD5 challenge");
  } else if (method == AuthMethod::kScramSha256 && !scram) {
    reader_.Fail(*field,
                 "auth.method is scram-sha-256, which needs a SCRAM-SHA-256 verifier; "
                 "an MD5 hash cannot answer a SCRAM exchange");
  }
  if (scram) {
    user.scram = std::move(verifier).value();
    return;  // the verifier's text is not kept: 150 bytes per user that nothing reads
  }
  user.password = std::move(*password);
}

// Each level may set size or min_idle alone, so only the resolved pools can be compared. An error
// points at the most specific pool mapping involved.
void ConfigLoader::CheckResolvedPools() {
  if (reader_.failed()) return;
  // `context` is spelled out only for a pool that is wrong.
  auto check = [this](const PoolSettings& pool, const Field* at, auto context) {
    if (pool.min_idle <= pool.size || at == nullptr) return;
    reader_.Fail(*at, "min_idle (" + std::to_string(pool.min_idle) + ") is larger than size (" +
                          std::to_string(pool.size) + ")" + context());
  };
  auto pool_field = [](const std::map<std::string, Field>& fields, const std::string& name,
                       const Field* fallback) -> const Field* {
    auto it = fields.find(name);
    return it == fields.end() ? fallback : &it->second;
  };
  const Field* top = top_pool_ ? &*top_pool_ : nullptr;
  check(config_.ResolvePool(nullptr, nullptr), top, [] { return std::string(); });
  // A tenant or user without a pool of its own resolves to the pool above it, checked already.
  for (const auto& [name, field] : tenant_pools_) {
    const TenantConfig* tenant = config_.FindTenant(name);
    if (tenant == nullptr) continue;
    const std::string& tenant_name = name;  // clang 14 cannot capture a structured binding
    check(config_.ResolvePool(tenant, nullptr), &field,
          [&tenant_name] { return " in the pool resolved for tenant " + tenant_name; });
  }
  for (const auto& [user_name, user] : config_.users) {
    const bool own_pool = user_pools_.count(user_name) != 0;
    for (const auto& [tenant_name, role] : user.tenants) {
      if (!own_pool && tenant_pools_.count(tenant_name) == 0) continue;
      const TenantConfig* tenant = config_.FindTenant(tenant_name);
      const Field* at = pool_field(user_pools_, user_name, pool_field(tenant_pools_, tenant_name, top));
      const std::string& user_ref = user_name;  // clang 14 cannot capture a structured binding
      const std::string& tenant_ref = tenant_name;
      check(config_.ResolvePool(tenant, &user), at, [&user_ref, &tenant_ref] {
        return " in the pool resolved for user " + user_ref + " in tenant " + tenant_ref;
      });
    }
  }
}

}  // namespace pgtenant::config
