// Route resolution: tenant identification, membership, isolation context.
#include "routing/route.h"

#include <algorithm>
#include <cctype>
#include <functional>

#include "protocol/ascii_case.h"
#include "protocol/sqlstate.h"
#include "routing/startup_options.h"

namespace pgtenant::routing {

namespace {

using config::IdentificationMethod;

bool Enabled(const config::Config& config, IdentificationMethod method) {
  return std::find(config.tenant_identification.begin(), config.tenant_identification.end(), method) !=
         config.tenant_identification.end();
}

// Database names that do not name a tenant: a backend's key or database, or libpq's default
// (the user name) — these leave tenant identification to the other methods.
bool IsNeutralDatabase(const config::Config& config, std::string_view database, const ClientIdentity& client,
                       std::string_view login_user) {
  if (database == client.startup_user || database == login_user) return true;
  for (const auto& [name, backend] : config.backends)
    if (database == name || database == backend.database) return true;
  return false;
}

Status NotAMember(std::string_view user, std::string_view tenant) {
  return Status::Error(sqlstate::kInvalidAuthorizationSpecification,
                       "pgtenant: user \"" + std::string(user) + "\" is not a member of tenant \"" +
                           std::string(tenant) + "\"");
}

// A database the client may not use: one that is no tenant's, another user's tenant, or another
// tenant's backend database. One text for every case, PostgreSQL's SQLSTATE for a missing database,
// so probing names tells nothing about which tenants or databases exist.
Status DatabaseNotServed(std::string_view database) {
  return Status::Error(sqlstate::kInvalidCatalogName,
                       "database \"" + std::string(database) + "\" does not exist or is not served to this user");
}

}  // namespace

size_t Hash(const ClientIdentity& client) {
  size_t h = 0;
  auto mix = [&h](std::string_view s) { h = h * 1000003u ^ std::hash<std::string_view>{}(s); };
  mix(client.startup_user);
  mix(client.database);
  mix(client.options);
  mix(client.server_name);
  mix(client.credential_tenant ? std::string_view(*client.credential_tenant) : std::string_view("\0none", 5));
  return h;
}

LoginName SplitLoginName(const config::Config& config, std::string_view startup_user) {
  LoginName login{std::string(startup_user), std::nullopt};
  if (!Enabled(config, IdentificationMethod::kUsernameSuffix) || config.username_separator.empty()) return login;
  size_t at = startup_user.find(config.username_separator);
  if (at == std::string_view::npos) return login;
  login.user = std::string(startup_user.substr(0, at));
  login.suffix_tenant = std::string(startup_user.substr(at + config.username_separator.size()));
  return login;
}

std::optional<std::string> TenantFromServerName(std::string_view server_name, std::string_view suffix) {
  if (!suffix.empty()) {
    if (server_name.size() <= suffix.size()) return std::nullopt;
    std::string_view label = server_name.substr(0, server_name.size() - suffix.size());
    if (!protocol::EndsWithIgnoreCase(server_name, suffix) || label.find('.') != std::string_view::npos)
      return std::nullopt;
    return protocol::AsciiLower(label);
  }
  size_t dot = server_name.find('.');
  if (server_name.empty() || dot == 0 || dot == std::string_view::npos) return std::nullopt;
  return protocol::AsciiLower(server_name.substr(0, dot));
}

Result<Route> ResolveRoute(const config::Config& config, const config::UserConfig& user,
                           const ClientIdentity& client) {
  LoginName login = SplitLoginName(config, client.startup_user);

  // Explicit methods, in the configured order; all that name a tenant must agree.
  std::vector<std::pair<IdentificationMethod, std::string>> named;
  for (IdentificationMethod method : config.tenant_identification) {
    std::optional<std::string> candidate;
    switch (method) {
      case IdentificationMethod::kUsernameSuffix:
        candidate = login.suffix_tenant;
        break;
      case IdentificationMethod::kStartupOption: {
        auto option = ParseTenantOption(client.options);
        if (!option.ok()) return option.status();
        candidate = *option;
        break;
      }
      case IdentificationMethod::kDatabaseName:
        if (!IsNeutralDatabase(config, client.database, client, login.user)) candidate = client.database;
        break;
      case IdentificationMethod::kSni:
        candidate = TenantFromServerName(client.server_name, config.tls.sni_suffix);
        break;
      case IdentificationMethod::kSingleTenant:
        break;  // a fallback, below
    }
    if (candidate) named.emplace_back(method, *candidate);
  }
  if (client.credential_tenant) {
    for (const auto& [method, name] : named) {
      if (name != *client.credential_tenant) {
        if (method == IdentificationMethod::kDatabaseName) return DatabaseNotServed(client.database);
        return Status::Error(sqlstate::kInvalidAuthorizationSpecification,
                             "pgtenant: the credential names tenant \"" + *client.credential_tenant +
                                 "\" but the connection names \"" + name + "\" (by " +
                                 std::string(config::ToString(method)) + ")");
      }
    }
    named.insert(named.begin(), {IdentificationMethod::kSingleTenant, *client.credential_tenant});
  }
  if (!Enabled(config, IdentificationMethod::kStartupOption) && !client.options.empty()) {
    auto option = ParseTenantOption(client.options);  // still refuse smuggled settings
    if (!option.ok()) return option.status();
  }
  for (const auto& [method, name] : named) {
    if (name != named.front().second) {
      if (method == IdentificationMethod::kDatabaseName || named.front().first == IdentificationMethod::kDatabaseName) {
        return DatabaseNotServed(client.database);
      }
      return Status::Error(sqlstate::kInvalidAuthorizationSpecification,
                           "pgtenant: the connection names more than one tenant (\"" + named.front().second +
                               "\" by " + std::string(config::ToString(named.front().first)) + ", \"" + name +
                               "\" by " + std::string(config::ToString(method)) + ")");
    }
  }

  std::string tenant_name;
  if (!named.empty()) {
    tenant_name = named.front().second;
  } else if (Enabled(config, IdentificationMethod::kSingleTenant) && user.tenants.size() == 1) {
    tenant_name = user.tenants.begin()->first;
  } else {
    std::string forms;
    for (IdentificationMethod method : config.tenant_identification) {
      switch (method) {
        case IdentificationMethod::kUsernameSuffix:
          forms += " user=" + login.user + config.username_separator + "TENANT;";
          break;
        case IdentificationMethod::kStartupOption:
          forms += " PGOPTIONS='-c pgtenant.tenant=TENANT';";
          break;
        case IdentificationMethod::kDatabaseName:
          forms += " dbname=TENANT;";
          break;
        case IdentificationMethod::kSni:
          forms += " host=TENANT.<domain> over TLS;";
          break;
        case IdentificationMethod::kSingleTenant:
          break;
      }
    }
    if (!forms.empty()) forms.pop_back();
    return Status::Error(sqlstate::kInvalidAuthorizationSpecification, "pgtenant: tenant required",
                         "Name the tenant in one of these forms:" + forms + ".");
  }

  const config::TenantConfig* tenant = config.FindTenant(tenant_name);
  auto membership = user.tenants.find(tenant_name);
  if (tenant == nullptr || membership == user.tenants.end()) {
    if (!named.empty() && named.front().first == IdentificationMethod::kDatabaseName) {
      return DatabaseNotServed(client.database);
    }
    return NotAMember(login.user, tenant_name);
  }

  const config::BackendConfig* backend = config.FindBackend(tenant->backend);
  // The client's database never picks another tenant's database.
  if (IsNeutralDatabase(config, client.database, client, login.user) && client.database != client.startup_user &&
      client.database != login.user && client.database != backend->name && client.database != backend->database) {
    return DatabaseNotServed(client.database);
  }

  Route route;
  route.tenant = tenant;
  route.backend = backend;
  route.role = membership->second;
  route.pool = config.ResolvePool(tenant, &user);
  route.idle_transaction_timeout = config.ResolveIdleTransactionTimeout(tenant, &user);

  bool read_only = route.role == config::TenantRole::kViewer;
  route.pool_identity = MakePoolIdentity(config, *backend, *tenant, read_only, &user);
  if (route.pool_identity.shared()) {
    // The tenant id is a validated UUID and the setting a validated dotted name: safe to inline.
    route.shared_pool = true;
    const std::string read_only_value = read_only ? "on" : "off";
    const std::string set_tenant = "SET " + config.tenant_setting + " = '" + tenant->id + "'";
    const std::string set_default = "SET default_transaction_read_only = " + read_only_value;
    route.context_sql = set_tenant + "; " + set_default;
    route.context_text = set_tenant + ";" + set_default + ";SET transaction_read_only = " + read_only_value + ";";
    route.context_first_length = static_cast<uint32_t>(set_tenant.size() + 1);
    route.context_statements_length = static_cast<uint32_t>(route.context_text.size());
    route.context_text += tenant->id + (read_only ? "/ro" : "/rw");
    route.context_hash = ContextTagHash(route.context_tag());
    route.context_read_only = read_only;
  }
  return route;
}

}  // namespace pgtenant::routing
