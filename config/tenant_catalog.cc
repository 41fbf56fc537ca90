// The tenant catalog's rows merged into the YAML's Config (contract in tenant_catalog.h). Each check
// mirrors the loader's for the same key (config_loader_tenants.cc), so a catalog row is held to what the
// YAML is; the difference is that a bad row is left out with a note instead of refusing everything.
#include "config/tenant_catalog.h"

#include <map>
#include <optional>
#include <set>

#include "config/config_enum_names.h"
#include "config/value_parsers.h"
#include "protocol/ascii_case.h"

namespace pgtenant::config {

namespace {

class CatalogMerger {
 public:
  CatalogMerger(const Config& yaml, CatalogMerge& out)
      : yaml_(yaml), merged_(std::make_shared<Config>(yaml)), out_(out) {
    for (const auto& [name, tenant] : yaml.tenants) Remember(tenant);
  }

  void AddTenants(const std::vector<CatalogTenantRow>& rows) {
    for (const CatalogTenantRow& row : rows) {
      std::optional<std::string> why = CheckTenant(row);
      if (why) {
        Skip("tenant", row.name, *why);
        continue;
      }
      TenantConfig tenant;
      tenant.name = row.name;
      tenant.id = *ParseUuid(row.id);
      tenant.isolation = *ValueNamed(kIsolationModeNames, row.isolation);
      tenant.schema = row.schema;
      tenant.backend = row.backend;
      tenant.source = TenantSource::kCatalog;
      Remember(tenant);
      merged_->tenants.emplace(tenant.name, std::move(tenant));
      ++out_.tenants;
    }
  }

  // Users are checked first and kept aside: one joins the config only with a membership.
  void CheckUsers(const std::vector<CatalogUserRow>& rows) {
    for (const CatalogUserRow& row : rows) {
      std::optional<std::string> why = CheckUser(row);
      if (why) {
        Skip("user", row.name, *why);
        continue;
      }
      UserConfig user;
      user.name = row.name;
      if (IsScramSha256Verifier(row.password)) {
        auto parsed = protocol::ScramVerifier::Parse(row.password);
        if (!parsed.ok()) {
          Skip("user", row.name, "password: not a usable SCRAM-SHA-256 verifier");
          continue;
        }
        user.scram = std::move(parsed).value();
      } else {
        user.password = row.password;
      }
      catalog_users_.emplace(row.name, std::move(user));
    }
  }

  void AddMemberships(const std::vector<CatalogMembershipRow>& rows) {
    std::set<std::pair<std::string, std::string>> seen;
    for (const CatalogMembershipRow& row : rows) {
      const std::string what = row.user + " in " + row.tenant;
      const std::optional<TenantRole> role = ValueNamed(kTenantRoleNames, row.role);
      const TenantConfig* tenant = merged_->FindTenant(row.tenant);
      UserConfig* user = FindUser(row.user);
      std::optional<std::string> why;
      if (!role) {
        why = "role: expected admin, member or viewer, got " + Quoted(row.role);
      } else if (tenant == nullptr) {
        why = "no tenant named " + Quoted(row.tenant) + " (in the YAML or applied from the catalog)";
      } else if (user == nullptr) {
        why = "no user named " + Quoted(row.user) + " (in the YAML or applied from the catalog)";
      } else if (!seen.emplace(row.user, row.tenant).second) {
        why = "listed twice";
      } else if (yaml_.FindUser(row.user) != nullptr && yaml_.FindUser(row.user)->tenants.count(row.tenant) > 0) {
        why = "the YAML lists this membership already; the YAML wins";
      } else {
        const PoolSettings pool = merged_->ResolvePool(tenant, user);
        if (pool.min_idle > pool.size) {
          why = "the pool resolved for it has min_idle (" + std::to_string(pool.min_idle) + ") larger than size (" +
                std::to_string(pool.size) + ")";
        }
      }
      if (why) {
        Skip("membership", what, *why);
        continue;
      }
      user->tenants.emplace(row.tenant, *role);
      ++out_.memberships;
    }
  }

  void AddUsersWithMemberships() {
    for (auto& [name, user] : catalog_users_) {
      if (user.tenants.empty()) {
        Skip("user", name, "no membership applies to it (every user belongs to a tenant)");
        continue;
      }
      merged_->users.emplace(name, std::move(user));
      ++out_.users;
    }
  }

  std::shared_ptr<const Config> Finish() {
    merged_->BuildTenantIndex();
    return merged_;
  }

 private:
  std::optional<std::string> CheckTenant(const CatalogTenantRow& row) {
    if (!IsValidName(row.name)) return "invalid tenant name; names use only letters, digits, '_' and '-'";
    if (yaml_.FindTenant(row.name) != nullptr) return "the YAML has a tenant of that name; the YAML wins";
    if (!catalog_tenants_.insert(row.name).second) return "listed twice";
    Result<std::string> id = ParseUuid(row.id);
    if (!id.ok()) return "id: " + id.status().message();
    if (ids_.count(*id) > 0) return "id " + *id + " is already used by another tenant";
    const std::optional<IsolationMode> isolation = ValueNamed(kIsolationModeNames, row.isolation);
    if (!isolation) return "isolation: expected rls, schema or database, got " + Quoted(row.isolation);
    if (*isolation == IsolationMode::kSchema) {
      if (row.schema.empty()) return "schema: required (isolation is schema)";
      if (!IsSqlIdentifier(row.schema)) {
        return "schema: expected a plain SQL identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63 bytes), got " +
               Quoted(row.schema);
      }
      if (schemas_.count(protocol::AsciiLower(row.schema)) > 0)
        return "schema " + row.schema + " is already used by another tenant";
    } else if (!row.schema.empty()) {
      return "schema: only allowed with isolation schema (isolation is " + row.isolation + ")";
    }
    if (yaml_.FindBackend(row.backend) == nullptr) return "no backend named " + Quoted(row.backend);
    if (*isolation == IsolationMode::kDatabase && backends_in_use_.count(row.backend) > 0) {
      return "backend " + Quoted(row.backend) +
             " is also used by another tenant; a tenant with isolation database needs a backend of its own";
    }
    if (dedicated_backends_.count(row.backend) > 0)
      return "backend " + Quoted(row.backend) + " belongs to a tenant with isolation database";
    return std::nullopt;
  }

  // As the loader's ReadUserPassword: the form auth.method needs, and a message without the password.
  std::optional<std::string> CheckUser(const CatalogUserRow& row) {
    if (!IsValidName(row.name)) return "invalid user name; names use only letters, digits, '_' and '-'";
    if (row.name.find(yaml_.username_separator) != std::string::npos)
      return "the user name contains the username_separator " + Quoted(yaml_.username_separator);
    if (yaml_.FindUser(row.name) != nullptr) return "the YAML has a user of that name; the YAML wins";
    if (catalog_users_.count(row.name) > 0) return "listed twice";
    const AuthMethod method = yaml_.auth_method;
    const bool needs_password = method == AuthMethod::kScramSha256 || method == AuthMethod::kMd5;
    if (row.password.empty()) {
      if (needs_password) return "password: must not be empty (auth.method is " + std::string(ToString(method)) + ")";
      return std::nullopt;
    }
    const bool scram = IsScramSha256Verifier(row.password);
    const bool md5 = IsMd5Hash(row.password);
    if (!scram && !md5) return "password: expected a SCRAM-SHA-256 verifier or an MD5 hash";
    if (method == AuthMethod::kMd5 && !md5) return "password: auth.method is md5, which needs an MD5 hash";
    if (method == AuthMethod::kScramSha256 && !scram)
      return "password: auth.method is scram-sha-256, which needs a SCRAM-SHA-256 verifier";
    return std::nullopt;
  }

  // What a later catalog row is checked against: the ids, schemas and backends a tenant takes.
  void Remember(const TenantConfig& tenant) {
    ids_.insert(tenant.id);
    if (!tenant.schema.empty()) schemas_.insert(protocol::AsciiLower(tenant.schema));
    backends_in_use_.insert(tenant.backend);
    if (tenant.isolation == IsolationMode::kDatabase) dedicated_backends_.insert(tenant.backend);
  }

  UserConfig* FindUser(const std::string& name) {
    auto yaml_user = merged_->users.find(name);
    if (yaml_user != merged_->users.end()) return &yaml_user->second;
    auto catalog_user = catalog_users_.find(name);
    return catalog_user == catalog_users_.end() ? nullptr : &catalog_user->second;
  }

  void Skip(std::string_view kind, const std::string& name, const std::string& why) {
    out_.notes.push_back("tenant_catalog: " + std::string(kind) + " row " + Quoted(name) + " skipped: " + why);
  }

  const Config& yaml_;
  std::shared_ptr<Config> merged_;
  CatalogMerge& out_;
  std::set<std::string> catalog_tenants_;
  std::set<std::string> ids_;
  std::set<std::string> schemas_;  // ASCII lower case, as FindTenantBySchema compares
  std::set<std::string> backends_in_use_;
  std::set<std::string> dedicated_backends_;
  std::map<std::string, UserConfig> catalog_users_;
};

}  // namespace

CatalogMerge MergeTenantCatalog(const Config& yaml, const CatalogRows& rows) {
  CatalogMerge out;
  CatalogMerger merger(yaml, out);
  merger.AddTenants(rows.tenants);
  merger.CheckUsers(rows.users);
  merger.AddMemberships(rows.memberships);
  merger.AddUsersWithMemberships();
  out.config = merger.Finish();
  return out;
}

std::string_view ToString(TenantSource source) { return source == TenantSource::kCatalog ? "catalog" : "yaml"; }

}  // namespace pgtenant::config
