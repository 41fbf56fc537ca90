// The configuration reference is complete: every key the loader accepts (config/config_keys.h, the
// lists its unknown-key check uses) is in the README's configuration reference table and is set in
// config/examples/full.yaml, and the table names no key the loader does not accept.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "config/config.h"
#include "config/config_keys.h"

namespace pgtenant::config {
namespace {

namespace fs = std::filesystem;

const fs::path kSourceDir = fs::path(__FILE__).parent_path().parent_path().parent_path();

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// "backends.NAME.hosts[]" -> "backends.NAME.hosts": the README names a sequence by its key.
std::string DocumentedName(std::string_view path) {
  std::string name(path);
  for (size_t at = name.find("[]"); at != std::string::npos; at = name.find("[]")) name.erase(at, 2);
  return name;
}

std::string Join(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : std::string(path) + "." + std::string(key);
}

// The rows of the README's configuration reference table: each name in a row's first cell (`a` or
// `a` / `b`) -> the whole row.
std::map<std::string, std::string> ReferenceRows() {
  const std::string readme = ReadFile(kSourceDir / "README.md");
  const size_t start = readme.find("\n## Configuration reference\n");
  REQUIRE(start != std::string::npos);
  const size_t end = readme.find("\n## ", start + 1);
  std::istringstream section(readme.substr(start, end - start));
  std::map<std::string, std::string> rows;
  const std::regex name("`([^`]+)`");
  for (std::string line; std::getline(section, line);) {
    if (line.rfind("| `", 0) != 0) continue;
    const std::string first_cell = line.substr(1, line.find(" | ") - 1);
    for (auto it = std::sregex_iterator(first_cell.begin(), first_cell.end(), name); it != std::sregex_iterator(); ++it)
      rows[(*it)[1]] = line;
  }
  REQUIRE(rows.size() > 50);
  return rows;
}

// Whether `row` mentions `key` as `key` or as "key:" (a flow mapping shown in the row).
bool Mentions(const std::string& row, const std::string& key) {
  return std::regex_search(row, std::regex("`" + key + "`|(^|[^A-Za-z0-9_.])" + key + ":"));
}

TEST_CASE("the README's configuration reference documents every key the loader accepts, and no other",
          "[config][reference]") {
  const std::map<std::string, std::string> rows = ReferenceRows();
  std::set<std::string> names;  // every key, and every section, as the README names them
  for (const ConfigSectionKeys& section : ConfigSections()) {
    const std::string path = DocumentedName(section.path);
    if (!path.empty()) names.insert(path);
    for (std::string_view key : section.keys) {
      const std::string name = Join(path, key);
      names.insert(name);
      // A key has a row of its own, or is a section whose keys have rows, or is mentioned in the row
      // of its section (a small mapping shown inline: `{ user: ROLE, password: ... }`).
      const bool own_row = rows.count(name) > 0;
      const auto after = rows.upper_bound(name + ".");
      const bool rows_below = after != rows.end() && after->first.rfind(name + ".", 0) == 0;
      const auto section_row = rows.find(path);
      const bool mentioned = section_row != rows.end() && Mentions(section_row->second, std::string(key));
      INFO("key " << name << " of section '" << section.path << "'");
      CHECK((own_row || rows_below || mentioned));
    }
  }
  for (const auto& [name, row] : rows) {
    INFO("README row " << name << " is not a key the loader accepts");
    CHECK(names.count(name) == 1);
  }
}

// Every variable full.yaml uses, as ./scripts/demo exports them.
std::optional<std::string> DemoEnv(std::string_view name) {
  if (name == "APP_TENANT_PASSWORD") return "app-secret";
  if (name == "INITECH_PASSWORD") return "initech-secret";
  if (name == "GLOBEX_PASSWORD") return "globex-secret";
  return std::nullopt;
}

TEST_CASE("config/examples/full.yaml sets every key the loader accepts", "[config][reference][examples]") {
  const std::string yaml = ReadFile(kSourceDir / "config" / "examples" / "full.yaml");
  REQUIRE(LoadConfigString(yaml, "full.yaml", DemoEnv).ok());
  const std::set<std::string> read = KeysReadFrom(yaml, DemoEnv);
  for (const ConfigSectionKeys& section : ConfigSections()) {
    for (std::string_view key : section.keys) {
      const std::string name = Join(section.path, key);
      INFO("full.yaml does not set " << name);
      CHECK(read.count(name) == 1);
    }
  }
}

TEST_CASE("the keys read from a document are those of the sections it sets", "[config][reference]") {
  const std::set<std::string> read = KeysReadFrom(
      "listen: { port: 1 }\nbackends: { a: { host: h, database: d, user: u, hosts: [ { host: x } ] } }\n"
      "tenants: { t: { id: 7c9e6679-7425-40de-944b-e07fc1f90ae7, backend: a, pool: { size: 2 } } }\n"
      "users: { u: { tenants: { t: member } } }\nlog: { levle: debug }\n",
      [](std::string_view) { return std::optional<std::string>(); });
  CHECK(read == std::set<std::string>{"listen", "listen.port", "backends", "backends.NAME.host",
                                      "backends.NAME.database", "backends.NAME.user", "backends.NAME.hosts",
                                      "backends.NAME.hosts[].host", "tenants", "tenants.NAME.id",
                                      "tenants.NAME.backend", "tenants.NAME.pool", "pool.size", "users",
                                      "users.NAME.tenants", "log"});
}

}  // namespace
}  // namespace pgtenant::config
