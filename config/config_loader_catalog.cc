// Reader for tenant_catalog: (config_loader_catalog.h).
#include "config/config_loader_catalog.h"

#include "config/config_loader.h"
#include "config/value_parsers.h"

namespace pgtenant::config {

namespace {

// A channel is an identifier to LISTEN, and NOTIFY folds an unquoted one to lower case: only a
// lowercase one is reached by the plain `NOTIFY pgtenant_catalog` a DBA writes.
bool IsLowercaseIdentifier(std::string_view name) {
  if (!IsSqlIdentifier(name)) return false;
  for (char c : name)
    if (c >= 'A' && c <= 'Z') return false;
  return true;
}

}  // namespace

TenantCatalogSection ReadTenantCatalogSection(YamlReader& reader, const Field& field) {
  TenantCatalogSection section;
  TenantCatalogConfig& catalog = section.config;
  const Mapping map = reader.ReadMapping(field, ConfigSection::kTenantCatalog, {"backend"});
  catalog.enabled = true;
  if (auto f = map.Get("backend")) {
    SetIfPresent(catalog.backend, reader.ReadNonEmptyString(*f));
    section.backend_field = *f;
  }
  if (auto f = map.Get("tenants_query")) SetIfPresent(catalog.tenants_query, reader.ReadNonEmptyString(*f));
  if (auto f = map.Get("memberships_query")) SetIfPresent(catalog.memberships_query, reader.ReadNonEmptyString(*f));
  if (auto f = map.Get("users_query")) SetIfPresent(catalog.users_query, reader.ReadString(*f));
  if (auto f = map.Get("channel")) {
    std::optional<std::string> channel = reader.ReadNonEmptyString(*f);
    if (channel && !IsLowercaseIdentifier(*channel)) {
      reader.Fail(*f, "expected a lowercase SQL identifier ([a-z_][a-z0-9_]*, at most 63 bytes), got " +
                          Quoted(*channel));
    }
    SetIfPresent(catalog.channel, channel);
  }
  if (auto f = map.Get("refresh_interval")) SetIfPresent(catalog.refresh_interval, reader.ReadDuration(*f, Duration(1)));
  return section;
}

void CheckTenantCatalogBackend(YamlReader& reader, const Config& config, const TenantCatalogSection& section) {
  if (reader.failed() || !section.config.enabled || !section.backend_field) return;
  if (config.FindBackend(section.config.backend) != nullptr) return;
  std::vector<std::string> known;
  for (const auto& [name, backend] : config.backends) known.push_back(name);
  reader.Fail(*section.backend_field, "no backend named " + Quoted(section.config.backend) +
                                          DidYouMean(section.config.backend, known));
}

}  // namespace pgtenant::config
