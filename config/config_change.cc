// ConfigChange: the entries two configs disagree on (contract in config_change.h).
#include "config/config_change.h"

#include <map>

namespace pgtenant::config {

namespace {

// Both maps are in name order: walk them side by side.
template <typename T>
void CompareEntries(const std::map<std::string, T>& before, const std::map<std::string, T>& after,
                    std::unordered_set<std::string>& changed) {
  auto b = before.begin();
  auto a = after.begin();
  while (b != before.end() || a != after.end()) {
    if (a == after.end() || (b != before.end() && b->first < a->first)) {
      changed.insert(b->first);  // removed
      ++b;
    } else if (b == before.end() || a->first < b->first) {
      changed.insert(a->first);  // added
      ++a;
    } else {
      if (!(b->second == a->second)) changed.insert(a->first);
      ++a;
      ++b;
    }
  }
}

}  // namespace

ConfigChange CompareConfigs(const Config& before, const Config& after) {
  ConfigChange change;
  change.all_pools = !(before.pool == after.pool) || before.tenant_setting != after.tenant_setting;
  CompareEntries(before.backends, after.backends, change.backends);
  CompareEntries(before.tenants, after.tenants, change.tenants);
  CompareEntries(before.users, after.users, change.users);
  return change;
}

}  // namespace pgtenant::config
