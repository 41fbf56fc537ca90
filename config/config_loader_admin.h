// Reader for the admin: section of the YAML (who may open the admin console), and the check that
// ties it to users:.
//
// Internal to config/ (exposes YamlDocument nodes through yaml_reader.h). Errors are located and the first
// one wins, as everywhere in the loader.
#pragma once

#include <vector>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace pgtenant::config {

// What admin: said, and where each user name was written (for CheckAdminUsers).
struct AdminSection {
  AdminConfig config;
  std::vector<Field> user_fields;  // parallel to config.users
};

// admin: { users: [NAME, ...] }. Read before users:, so admin-only users may omit `tenants`.
AdminSection ReadAdminSection(YamlReader& reader, const Field& field);

// Every admin user is an entry of users: (with its password). REQUIRES: users have been read.
void CheckAdminUsers(YamlReader& reader, const Config& config, const AdminSection& section);

}  // namespace pgtenant::config
