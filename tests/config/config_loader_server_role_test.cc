// tenants.NAME.server_role: a schema tenant's own server role, and the checks that keep it its own.
#include <catch2/catch.hpp>

#include "config/config.h"

namespace pgtenant::config {
namespace {

const std::string kVerifier =
    "SCRAM-SHA-256$4096:zTU5Wue0iYK6zGxWWxlTXQ==$NNKgQtnfbFPhifhAywzDVOol98jHbI+THs+LKDDD4Xk=:"
    "dMpvkAnzUuJJW6SMexCZGu4cekeUFppBVCVDp2JmwlQ=";

// Lines 1-4: backends shared and copy (the same database) and other (another database); line 5 "tenants:";
// line 6 the rls tenant acme. The caller's tenant lines start at line 7.
std::string Yaml(const std::vector<std::string>& tenant_lines) {
  std::string out =
      "backends:\n"
      "  shared: { host: 127.0.0.1, database: app, user: app_tenant }\n"
      "  copy: { host: 127.0.0.1, database: app, user: app_copy }\n"
      "  other: { host: 127.0.0.1, database: other, user: other_app }\n"
      "tenants:\n"
      "  acme: { id: 7c9e6679-7425-40de-944b-e07fc1f90ae7, backend: shared }\n";
  for (const std::string& line : tenant_lines) out += line + "\n";
  out += "users:\n  alice: { password: \"" + kVerifier + "\", tenants: { acme: admin } }\n";
  return out;
}

Result<std::shared_ptr<const Config>> Load(const std::string& yaml) {
  return LoadConfigString(yaml, "demo.yaml", [](std::string_view name) -> std::optional<std::string> {
    if (name == "GLOBEX_PASSWORD") return "s3cret";
    return std::nullopt;
  });
}

std::string ErrorOf(const std::string& yaml) {
  auto result = Load(yaml);
  REQUIRE_FALSE(result.ok());
  return result.status().message();
}

const std::string kGlobex = "  globex: { id: 9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d, isolation: schema, schema: org_globex, ";
const std::string kHooli = "  hooli: { id: 3d1a7b2c-8e9f-4a0b-b1c2-d3e4f5a6b7c8, isolation: schema, schema: org_hooli, ";

TEST_CASE("a schema tenant's server_role is read with its password, and is the user its server sessions log in as",
          "[config_loader]") {
  auto result = Load(Yaml({kGlobex + "backend: shared, server_role: { user: globex_app, password: \"${GLOBEX_PASSWORD}\" } }",
                           kHooli + "backend: shared }"}));
  INFO(result.status().message());
  REQUIRE(result.ok());
  const Config& config = **result;
  const TenantConfig& globex = *config.FindTenant("globex");
  CHECK(globex.server_role->user == "globex_app");
  CHECK(globex.server_role->password == "s3cret");
  CHECK(config.ServerUserOf(globex) == "globex_app");
  // Without one, a tenant logs in as its backend's user.
  CHECK(config.FindTenant("hooli")->server_role->user.empty());
  CHECK(config.ServerUserOf(*config.FindTenant("hooli")) == "app_tenant");
  CHECK(config.ServerUserOf(*config.FindTenant("acme")) == "app_tenant");
}

TEST_CASE("server_role is only for schema tenants", "[config_loader]") {
  CHECK(ErrorOf(Yaml({"  initech: { id: 3d1a7b2c-8e9f-4a0b-b1c2-d3e4f5a6b7c8, isolation: database, backend: other, "
                      "server_role: { user: initech_app } }"})) ==
        "demo.yaml:7:106: tenants.initech.server_role: only allowed with isolation: schema (isolation is database; rls "
        "tenants are kept apart by row level security, a database tenant by its backend's own user)");
  CHECK(ErrorOf(Yaml({"  rlsy: { id: 3d1a7b2c-8e9f-4a0b-b1c2-d3e4f5a6b7c8, backend: shared, server_role: { user: r } }"}))
            .find("tenants.rlsy.server_role: only allowed with isolation: schema (isolation is rls") != std::string::npos);
}

TEST_CASE("server_role needs a user, takes no other key and no over-long name", "[config_loader]") {
  CHECK(ErrorOf(Yaml({kGlobex + "backend: shared, server_role: { password: x } }"})).find(
            "tenants.globex.server_role: missing required key 'user'") != std::string::npos);
  CHECK(ErrorOf(Yaml({kGlobex + "backend: shared, server_role: { user: g, role: x } }"})).find(
            "tenants.globex.server_role: unknown key 'role'") != std::string::npos);
  CHECK(ErrorOf(Yaml({kGlobex + "backend: shared, server_role: globex_app }"})).find("tenants.globex.server_role:") !=
        std::string::npos);
  CHECK(ErrorOf(Yaml({kGlobex + "backend: shared, server_role: { user: " + std::string(64, 'r') + " } }"}))
            .find("tenants.globex.server_role.user:") != std::string::npos);
}

TEST_CASE("two schema tenants of one database cannot share a server_role, nor take a backend's user",
          "[config_loader]") {
  // Same backend.
  CHECK(ErrorOf(Yaml({kGlobex + "backend: shared, server_role: { user: tenant_role } }",
                      kHooli + "backend: shared, server_role: { user: tenant_role } }"})) ==
        "demo.yaml:7:124: tenants.globex.server_role: role \"tenant_role\" is already the server_role of tenant hooli on "
        "the same database; each schema tenant needs a role of its own, or the database cannot keep them out of each "
        "other's schemas");
  // Two backend entries for one database are one database.
  CHECK(ErrorOf(Yaml({kGlobex + "backend: shared, server_role: { user: tenant_role } }",
                      kHooli + "backend: copy, server_role: { user: tenant_role } }"}))
            .find("is already the server_role of tenant") != std::string::npos);
  // Another database: the same name is another database's concern (roles are per cluster, grants per database).
  auto other = Load(Yaml({kGlobex + "backend: shared, server_role: { user: tenant_role } }",
                          kHooli + "backend: other, server_role: { user: tenant_role } }"}));
  INFO(other.status().message());
  CHECK(other.ok());
  // The user of a backend on the same database: the rls tenants (and others) log in as it.
  CHECK(ErrorOf(Yaml({kGlobex + "backend: shared, server_role: { user: app_copy } }"})) ==
        "demo.yaml:7:124: tenants.globex.server_role: role \"app_copy\" is backends.copy.user, which other tenants of "
        "that database log in as; a schema tenant's server_role must be a role of its own");
}

}  // namespace
}  // namespace pgtenant::config
