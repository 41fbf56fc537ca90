// TenantCatalog: what the tenant catalog's queries returned (rows of text, as read), and the merge of
// those rows into the YAML's Config, row by row, each checked as strictly as the YAML loader checks
// the same key (config_loader_tenants.cc).
//
// A row is applied whole or not at all: a bad one is left out with a note naming it and why, and
// nothing that depends on it (a membership of a tenant left out, a user without any membership)
// applies either. The YAML wins on conflict: a catalog tenant or user whose name the YAML has, or a
// membership the YAML already lists, is left out with a note. No I/O: catalog/catalog_reader.h reads
// the rows, proxy/worker applies the merged Config as a reload does.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"

namespace pgtenant::config {

// One row of tenant_catalog.tenants_query; NULL columns read as "".
struct CatalogTenantRow {
  std::string name;
  std::string id;
  std::string isolation;  // rls | schema | database
  std::string schema;     // schema isolation only
  std::string backend;
  bool operator==(const CatalogTenantRow&) const = default;
};

// One row of tenant_catalog.memberships_query.
struct CatalogMembershipRow {
  std::string user;
  std::string tenant;
  std::string role;  // admin | member | viewer
  bool operator==(const CatalogMembershipRow&) const = default;
};

// One row of tenant_catalog.users_query. The password is a secret: it is never put in a note.
struct CatalogUserRow {
  std::string name;
  std::string password;  // a SCRAM-SHA-256 verifier or an md5 hash, as auth.method requires
  bool operator==(const CatalogUserRow&) const = default;
};

// Everything one refresh read, in query order.
struct CatalogRows {
  std::vector<CatalogTenantRow> tenants;
  std::vector<CatalogMembershipRow> memberships;
  std::vector<CatalogUserRow> users;
  bool operator==(const CatalogRows&) const = default;
};

struct CatalogMerge {
  std::shared_ptr<const Config> config;  // the YAML's config with what the catalog added
  // One line per row left out: "tenant_catalog: tenant row \"x\" skipped: <why>".
  std::vector<std::string> notes;
  size_t tenants = 0;      // catalog tenants applied
  size_t memberships = 0;  // catalog memberships applied
  size_t users = 0;        // catalog users applied
};

// `yaml` with the rows' tenants, users and memberships added (tenants marked TenantSource::kCatalog),
// indexed (Config::BuildTenantIndex). Every guarantee of config.h holds of the result.
CatalogMerge MergeTenantCatalog(const Config& yaml, const CatalogRows& rows);

std::string_view ToString(TenantSource source);  // "yaml" | "catalog"

}  // namespace pgtenant::config
