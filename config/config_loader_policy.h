// Reader for the `policy:` sections of the YAML: top-level policy: and tenants.NAME.policy:.
//
// Internal to config/ (exposes YamlDocument nodes through yaml_reader.h). Errors are located and the first one
// wins, like everywhere else in the loader. Rule ids are checked against config/policy_rules.h.
#pragma once

#include "config/config.h"
#include "config/yaml_reader.h"

namespace pgtenant::config {

// policy: { rules: {ID: on|off, ...}, deny_tables: [...], deny_functions: [...], read_only: BOOL,
//           roles: { admin|member|viewer: { same keys except roles } } }
PolicyConfig ReadPolicySection(YamlReader& reader, const Field& field);

}  // namespace pgtenant::config
