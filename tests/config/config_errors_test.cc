// One load reports every error it can find (pgtenant --check-config): an error in each top-level key,
// backend, tenant and user, in document order, one per line; and never an error that only follows
// from another one.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "config/config.h"

namespace pgtenant::config {
namespace {

constexpr std::string_view kVerifier =
    "SCRAM-SHA-256$4096:zTU5Wue0iYK6zGxWWxlTXQ==$NNKgQtnfbFPhifhAywzDVOol98jHbI+THs+LKDDD4Xk=:"
    "dMpvkAnzUuJJW6SMexCZGu4cekeUFppBVCVDp2JmwlQ=";
constexpr std::string_view kMd5Hash = "md5aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

std::string Yaml(std::initializer_list<std::string_view> lines) {
  std::string out;
  for (std::string_view line : lines) {
    out += line;
    out += '\n';
  }
  return out;
}

// The errors of loading `yaml`, one per element; empty if it loads.
std::vector<std::string> ErrorsOf(const std::string& yaml) {
  auto config = LoadConfigString(yaml, "t.yaml", [](std::string_view) { return std::optional<std::string>(); });
  std::vector<std::string> errors;
  if (config.ok()) return errors;
  std::istringstream lines(config.status().message());
  for (std::string line; std::getline(lines, line);) errors.push_back(line);
  return errors;
}

const std::string kBackends = Yaml({"backends:", "  main: { host: 127.0.0.1, database: app, user: app_tenant }"});
const std::string kTenants = Yaml({"tenants:", "  acme: { id: 7c9e6679-7425-40de-944b-e07fc1f90ae7, backend: main }"});
const std::string kUsers =
    Yaml({"users:", "  alice: { tenants: { acme: member }, password: \"" + std::string(kVerifier) + "\" }"});

TEST_CASE("one load reports an error in each top-level key, backend, tenant and user, in document order",
          "[config][errors]") {
  const std::string yaml = Yaml({
      "listen: { port: 70000 }",                                                   // 1
      "worker: 2",                                                                 // 2
      "limits: { startup_timeout: 0, max_query_size: 2GB }",                       // 3
      "backends:",                                                                 // 4
      "  main: { host: 127.0.0.1, database: app, user: app_tenant }",              // 5
      "  other: { host: 127.0.0.1, port: x, database: app, user: app_tenant }",    // 6
      "  third: { host: 127.0.0.1, database: app, user: app_tenant, ssl: on }",    // 7
      "tenants:",                                                                  // 8
      "  acme: { id: not-a-uuid, backend: main }",                                 // 9
      "  globex: { id: 9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d, backend: mian }",     // 10
      "  initech: { id: 3d1a7b2c-8e9f-4a0b-b1c2-d3e4f5a6b7c8, backend: main }",    // 11
      "users:",                                                                    // 12
      "  alice: { tenants: { acme: member }, password: plain }",                   // 13
      "  bob: { tenants: { acme: boss }, password: \"" + std::string(kVerifier) + "\" }",  // 14
      "  carol: { tenants: { acme: member }, password: \"" + std::string(kVerifier) + "\" }",  // 15
      "policy: { rules: { no.such_rule: on } }",                                   // 16
      "logs: { level: debug }",                                                    // 17
  });
  const std::vector<std::string> errors = ErrorsOf(yaml);
  INFO([&] {
    std::string all;
    for (const std::string& e : errors) all += e + "\n";
    return all;
  }());
  REQUIRE(errors.size() == 11);
  CHECK(errors[0] == "t.yaml:1:17: listen.port: expected an integer from 1 to 65535, got 70000");
  CHECK_THAT(errors[1], Catch::StartsWith("t.yaml:2:1: unknown key 'worker' (did you mean 'workers'?)"));
  CHECK_THAT(errors[2], Catch::StartsWith("t.yaml:3:47: limits.max_query_size: "));  // limits' first error only
  CHECK_THAT(errors[3], Catch::StartsWith("t.yaml:6:35: backends.other.port: "));
  CHECK_THAT(errors[4], Catch::StartsWith("t.yaml:7:62: backends.third: unknown key 'ssl'"));
  CHECK_THAT(errors[5], Catch::StartsWith("t.yaml:9:15: tenants.acme.id: "));
  CHECK(errors[6] == "t.yaml:10:64: tenants.globex.backend: no backend named \"mian\" (did you mean 'main'?)");
  CHECK_THAT(errors[7], Catch::StartsWith("t.yaml:13:49: users.alice.password: expected a SCRAM-SHA-256 verifier"));
  CHECK_THAT(errors[8], Catch::StartsWith("t.yaml:14:27: users.bob.tenants.acme: expected one of admin, member"));
  CHECK_THAT(errors[9], Catch::StartsWith("t.yaml:16:20: policy.rules: unknown rule id \"no.such_rule\""));
  CHECK_THAT(errors[10], Catch::StartsWith("t.yaml:17:1: unknown key 'logs' (did you mean 'log'?)"));
}

TEST_CASE("every unknown key of one mapping is reported, and every missing required key", "[config][errors]") {
  const std::vector<std::string> unknown =
      ErrorsOf(kBackends + kTenants + kUsers + Yaml({"lisen: { port: 1 }", "metric: { port: 9187 }"}));
  REQUIRE(unknown.size() == 2);
  CHECK_THAT(unknown[0], Catch::StartsWith("t.yaml:7:1: unknown key 'lisen' (did you mean 'listen'?)"));
  CHECK_THAT(unknown[1], Catch::StartsWith("t.yaml:8:1: unknown key 'metric' (did you mean 'metrics'?)"));

  const std::vector<std::string> missing = ErrorsOf(Yaml({"listen: { port: 6432 }"}));
  CHECK(missing == std::vector<std::string>{"t.yaml:1:1: missing required key 'backends'",
                                            "t.yaml:1:1: missing required key 'tenants'",
                                            "t.yaml:1:1: missing required key 'users'"});
}

TEST_CASE("an error is not repeated by the parts that refer to what it is about", "[config][errors]") {
  SECTION("backends that cannot be read: tenants are not told their backend is missing") {
    const std::vector<std::string> errors = ErrorsOf(Yaml({"backends: [main]"}) + kTenants + kUsers);
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Catch::StartsWith("t.yaml:1:11: backends: expected a mapping"));
  }
  SECTION("tenants that cannot be read: users are not told their tenants are missing") {
    const std::vector<std::string> errors = ErrorsOf(kBackends + Yaml({"tenants: acme"}) + kUsers);
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Catch::StartsWith("t.yaml:3:10: tenants: expected a mapping"));
  }
  SECTION("a tenant with an error still exists for its users") {
    const std::vector<std::string> errors =
        ErrorsOf(kBackends + Yaml({"tenants:", "  acme: { id: 7, backend: main }"}) + kUsers);
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Catch::StartsWith("t.yaml:4:15: tenants.acme.id: "));
  }
  SECTION("auth.method that cannot be read: passwords are not checked against a method") {
    const std::vector<std::string> errors =
        ErrorsOf(Yaml({"auth: { method: md55 }"}) + kBackends + kTenants +
                 Yaml({"users:", "  alice: { tenants: { acme: member }, password: " + std::string(kMd5Hash) + " }"}));
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Catch::StartsWith("t.yaml:1:17: auth.method: expected one of"));
  }
  SECTION("admin: that cannot be read: an admin-only user is not told it needs tenants") {
    const std::vector<std::string> errors =
        ErrorsOf(kBackends + kTenants + kUsers + Yaml({"  ops: { password: \"" + std::string(kVerifier) + "\" }",
                                                       "admin: { users: [ops], audit: true }"}));
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Catch::StartsWith("t.yaml:8:24: admin: unknown key 'audit'"));
  }
  SECTION("an invalid name is one error for its entry, not one more for each check of that name") {
    const std::vector<std::string> errors =
        ErrorsOf(kBackends + kTenants +
                 Yaml({"users:", "  a.b: { tenants: { acme: member }, password: \"" + std::string(kVerifier) + "\" }"}));
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Catch::StartsWith("t.yaml:6:3: users: invalid user name \"a.b\""));
  }
  SECTION("a second error in one backend, tenant or user follows from nothing but is still not reported") {
    const std::vector<std::string> errors =
        ErrorsOf(Yaml({"backends:", "  main: { host: 127.0.0.1, port: x, database: app, user: app_tenant, max_connections: -1 }"}) +
                 kTenants + kUsers);
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Catch::StartsWith("t.yaml:2:34: backends.main.port: "));
  }
  SECTION("checks across sections wait for a document whose every part reads") {
    const std::vector<std::string> errors = ErrorsOf(Yaml({"pool: { size: 2, min_idle: 5 }", "workers: 0"}) +
                                                     kBackends + kTenants + kUsers);
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Catch::StartsWith("t.yaml:2:10: workers: "));
  }
}

}  // namespace
}  // namespace pgtenant::config
