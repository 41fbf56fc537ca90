// ConfigChange: what differs between two Configs, entry by entry, so that applying a new config costs
// what changed rather than what is configured (issue 26: one tenant changed in a 100,000-tenant file).
//
// Backends, tenants and users are compared by name and by value (their operator==): an entry added,
// removed or different in any field is named in the change. Settings outside those entries are not
// itemised; `all_pools` says whether one of those that every pool follows changed (tenant_setting,
// the top-level pool).
#pragma once

#include <cstddef>
#include <string>
#include <unordered_set>

#include "config/config.h"

namespace pgtenant::config {

struct ConfigChange {
  bool all_pools = false;
  std::unordered_set<std::string> backends;  // added, removed or changed
  std::unordered_set<std::string> tenants;
  std::unordered_set<std::string> users;

  bool empty() const { return !all_pools && backends.empty() && tenants.empty() && users.empty(); }
  // Entries named (for logs).
  size_t entries() const { return backends.size() + tenants.size() + users.size(); }
};

// One pass over both configs' entries, in name order.
ConfigChange CompareConfigs(const Config& before, const Config& after);

}  // namespace pgtenant::config
