// Reader for admin: (config_loader_admin.h).
#include "config/config_loader_admin.h"

#include <algorithm>

#include "config/config_loader.h"
#include "config/value_parsers.h"

namespace pgtenant::config {

AdminSection ReadAdminSection(YamlReader& reader, const Field& field) {
  AdminSection section;
  const Mapping map = reader.ReadMapping(field, ConfigSection::kAdmin, {"users"});
  const std::optional<Field> users = map.Get("users");
  if (reader.failed() || !users) return section;
  const std::vector<Field> items = reader.ReadSequence(*users);
  if (!reader.failed() && items.empty()) reader.Fail(*users, "must list at least one user");
  for (const Field& item : items) {
    std::optional<std::string> name = reader.ReadNonEmptyString(item);
    if (!name) break;
    const auto& names = section.config.users;
    if (std::find(names.begin(), names.end(), *name) != names.end()) {
      reader.Fail(item, "user " + Quoted(*name) + " is listed twice");
      break;
    }
    section.config.users.push_back(std::move(*name));
    section.user_fields.push_back(item);
  }
  return section;
}

void CheckAdminUsers(YamlReader& reader, const Config& config, const AdminSection& section) {
  if (reader.failed()) return;
  std::vector<std::string> known;
  for (const auto& [name, user] : config.users) known.push_back(name);
  for (size_t i = 0; i < section.config.users.size(); ++i) {
    const std::string& name = section.config.users[i];
    if (config.FindUser(name) != nullptr) continue;
    reader.Fail(section.user_fields[i], "no user named " + Quoted(name) + DidYouMean(name, known) +
                                            "; an admin is a user of users: with its password");
    return;
  }
}

}  // namespace pgtenant::config
