// Loading admin: who may open the admin console, and how mistakes in it are reported.
//
// Line N of a YAML text is element N of the list given to Yaml(); errors are FILE:LINE:COLUMN.
#include <catch2/catch.hpp>

#include "config/config.h"

namespace pgtenant::config {
namespace {

const std::string kVerifier =
    "SCRAM-SHA-256$4096:zTU5Wue0iYK6zGxWWxlTXQ==$NNKgQtnfbFPhifhAywzDVOol98jHbI+THs+LKDDD4Xk=:"
    "dMpvkAnzUuJJW6SMexCZGu4cekeUFppBVCVDp2JmwlQ=";

std::string Yaml(std::initializer_list<std::string_view> lines) {
  std::string out;
  for (std::string_view line : lines) {
    out += line;
    out += '\n';
  }
  return out;
}

// Lines 1-6: a backend, a tenant, alice (a member of acme) and ops (no tenant).
const std::string kBase = Yaml({
    "backends: { shared: { host: 127.0.0.1, database: app, user: app_tenant } }",
    "tenants: { acme: { id: 7c9e6679-7425-40de-944b-e07fc1f90ae7, backend: shared } }",
    "users:",
    "  alice: { password: \"" + kVerifier + "\", tenants: { acme: admin } }",
    "  ops: { password: \"" + kVerifier + "\" }",
    "  sam: { password: \"" + kVerifier + "\", tenants: { acme: member } }",
});

Result<std::shared_ptr<const Config>> Load(const std::string& yaml) {
  return LoadConfigString(yaml, "admin.yaml", [](std::string_view) { return std::nullopt; });
}

std::string ErrorOf(const std::string& yaml) {
  auto result = Load(yaml);
  REQUIRE_FALSE(result.ok());
  return result.status().message();
}

TEST_CASE("admin.users lists the console's users; an admin may have no tenant", "[config_loader]") {
  auto config = Load(kBase + "admin: { users: [ops, alice] }\n");
  INFO(config.status().message());
  REQUIRE(config.ok());
  CHECK((*config)->admin.users == std::vector<std::string>{"ops", "alice"});
  CHECK((*config)->IsAdmin("ops"));
  CHECK((*config)->IsAdmin("alice"));
  CHECK_FALSE((*config)->IsAdmin("sam"));
  CHECK((*config)->FindUser("ops")->tenants.empty());
}

TEST_CASE("without admin: nobody is an admin and every user needs a tenant", "[config_loader]") {
  CHECK(ErrorOf(kBase) == "admin.yaml:5:8: users.ops: missing required key 'tenants'");
}

TEST_CASE("an admin that is not a user is an error at its name, with a suggestion", "[config_loader]") {
  CHECK(ErrorOf(kBase + "admin: { users: [ops, opps2, alice] }\n") ==
        "admin.yaml:7:23: admin.users[1]: no user named \"opps2\" (did you mean 'ops'?); an admin is a user of "
        "users: with its password");
}

TEST_CASE("admin: needs a non-empty list of distinct users and nothing else", "[config_loader]") {
  CHECK(ErrorOf(kBase + "admin: { users: [] }\n") == "admin.yaml:7:17: admin.users: must list at least one user");
  CHECK(ErrorOf(kBase + "admin: { users: [ops, ops] }\n") == "admin.yaml:7:23: admin.users[1]: user \"ops\" is listed twice");
  CHECK(ErrorOf(kBase + "admin: {}\n") == "admin.yaml:7:8: admin: missing required key 'users'");
  CHECK_THAT(ErrorOf(kBase + "admin: { users: [ops], user: x }\n"), Catch::Contains("admin.yaml:7:"));
}

}  // namespace
}  // namespace pgtenant::config
