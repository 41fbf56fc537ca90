// Reader for the tenant_catalog: section of the YAML (where tenants, memberships and users are read at
// run time; config.h TenantCatalogConfig), and the check that ties it to backends:.
//
// Internal to config/ (exposes YamlDocument nodes through yaml_reader.h). Errors are located and the first
// one wins, as everywhere in the loader.
#pragma once

#include <optional>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace pgtenant::config {

// What tenant_catalog: said, and where its backend was written (for CheckTenantCatalogBackend).
struct TenantCatalogSection {
  TenantCatalogConfig config;
  std::optional<Field> backend_field;
};

// tenant_catalog: { backend: NAME, tenants_query: SQL, memberships_query: SQL, users_query: SQL,
// channel: NAME, refresh_interval: DURATION }. Present = on; backend is required.
TenantCatalogSection ReadTenantCatalogSection(YamlReader& reader, const Field& field);

// The catalog's backend is an entry of backends:. REQUIRES: backends have been read.
void CheckTenantCatalogBackend(YamlReader& reader, const Config& config, const TenantCatalogSection& section);

}  // namespace pgtenant::config
