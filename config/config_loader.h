// ConfigLoader: one YAML document -> validated Config (the schema; reference: examples/full.yaml).
//
// Internal to config/ (exposes YamlDocument's nodes); everyone else calls LoadConfigFile / LoadConfigString
// from config.h. Sections are read in dependency order (auth, backends, tenants, users), not
// document order, so cross-references are checked where they are written and errors point at the
// offending value. Every part that can be read on its own (a top-level key, a backend, a tenant, a
// user) reports its first error, so one run lists them all (yaml_reader.h). Split over two files:
// config_loader.cc (document, settings, pools, backends) and config_loader_tenants.cc (tenants,
// users and the checks across them). Single use: construct, call Load once.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "config/yaml_reader.h"
#include "protocol/status.h"

namespace pgtenant::config {

class ConfigLoader {
 public:
  // REQUIRES: `env` outlives the loader.
  ConfigLoader(std::string source, const EnvLookup& env);
  ConfigLoader(const ConfigLoader&) = delete;
  ConfigLoader& operator=(const ConfigLoader&) = delete;

  // REQUIRES: `root` is the document's root node, and its document outlives the call; called once.
  Result<std::shared_ptr<const Config>> Load(const YamlNode& root);
  // The keys read so far (YamlReader::keys_read).
  std::set<std::string> keys_read() const { return reader_.keys_read(); }

 private:
  // config_loader.cc
  void ReadAuth(const Field& field);
  void ReadUsernameSeparator(const Field& field);
  void ReadTenantSetting(const Field& field);
  void ReadSessionParameters(const Field& field);
  void ReadTenantIdentification(const Field& field);
  void ReadListen(const Field& field);
  void ReadMetrics(const Field& field);
  void ReadLog(const Field& field);
  void ReadLimits(const Field& field);
  PoolOverrides ReadPool(const Field& field);
  void ReadBackends(const Field& field);
  // The entries of backends, tenants or users: a non-empty mapping (names: CheckEntryName).
  Mapping ReadNamedEntries(const Field& field, std::string_view what);
  // Reports an entry of `field` whose name is not letters, digits, '_' and '-'.
  void CheckEntryName(const Field& field, const MappingEntry& entry, std::string_view what);
  // A PostgreSQL role or database name: non-empty and short enough not to be truncated.
  std::optional<std::string> ReadPostgresName(const Field& field);

  // config_loader_tenants.cc
  void ReadTenants(const Field& field);
  // Canonical id into `tenant.id`; ids already taken are in `tenant_by_id` (id -> tenant name, a view
  // of `name`, which outlives the map).
  void ReadTenantId(const Field& field, std::string_view name, TenantConfig& tenant,
                    std::unordered_map<std::string, std::string_view>& tenant_by_id);
  void CheckDedicatedBackends();
  // tenants.NAME.server_role: a mapping of user (required) and password.
  ServerRoleConfig ReadServerRole(const Field& field);
  // No two schema tenants of one database log in as the same role (config.h).
  void CheckServerRoles();
  void ReadUsers(const Field& field);
  void ReadUserPassword(const Mapping& map, const Field& user_field, UserConfig& user);
  void CheckResolvedPools();

  YamlReader reader_;
  Config config_;
  // Top-level sections that later ones are checked against, and whether they read without error.
  struct SectionsOk {
    bool auth = true;
    bool username_separator = true;
    bool admin = true;
  };
  SectionsOk sections_ok_;
  bool backend_names_known_ = false;  // backends: was a mapping (its names are in config_.backends)
  bool tenant_names_known_ = false;   // tenants: likewise
  // Positions for checks that span sections.
  std::optional<Field> top_pool_;
  std::map<std::string, Field> tenant_pools_;     // tenant name -> its pool field
  std::map<std::string, Field> tenant_backends_;  // database tenant's name -> its backend field
  std::map<std::string, Field> tenant_server_roles_;  // tenant name -> its server_role field
  std::map<std::string, Field> user_pools_;       // user name -> its pool field
};

// Shared by both halves of the loader.
template <typename T>
void SetIfPresent(T& out, const std::optional<T>& value) {
  if (value) out = *value;
}

// " (did you mean 'x'?)" when a candidate is close to `word`, else "".
std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace pgtenant::config
