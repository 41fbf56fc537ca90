// TenantIndex: a Config's tenants by id and by schema, so that a JWT login naming a tenant id and the
// policy's "is this another tenant's schema?" (asked for every qualified name it inspects) cost the
// same with 10 tenants or 100,000 (issue 26). Config::FindTenantById / FindTenantBySchema use it.
//
// The loader builds it once, on the Config it returns (Config::BuildTenantIndex). It points into that
// Config's tenant map, so a copy of a Config starts without it (the copy's tenants may be edited, as
// tests do) and lookups then scan the map; a move keeps it (std::map's nodes stay where they are).
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

namespace pgtenant::config {

struct TenantConfig;

struct TenantIndex {
  TenantIndex() = default;
  TenantIndex(const TenantIndex&) {}
  TenantIndex& operator=(const TenantIndex&) {
    *this = TenantIndex();
    return *this;
  }
  TenantIndex(TenantIndex&&) noexcept = default;
  TenantIndex& operator=(TenantIndex&&) noexcept = default;

  bool built = false;
  std::unordered_map<std::string_view, const TenantConfig*> by_id;  // views into TenantConfig::id
  std::unordered_map<std::string, const TenantConfig*> by_schema;   // schema in ASCII lower case
};

}  // namespace pgtenant::config
