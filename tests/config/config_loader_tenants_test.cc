// Loading tenants and users: required keys, ids, isolation, cross-references, passwords, roles.
//
// Line N of a YAML text is element N of the list given to Yaml(); errors are FILE:LINE:COLUMN.
#include <catch2/catch.hpp>
#include <map>

#include "config/config.h"

namespace pgtenant::config {
namespace {

const std::string kVerifier =
    "SCRAM-SHA-256$4096:zTU5Wue0iYK6zGxWWxlTXQ==$NNKgQtnfbFPhifhAywzDVOol98jHbI+THs+LKDDD4Xk=:"
    "dMpvkAnzUuJJW6SMexCZGu4cekeUFppBVCVDp2JmwlQ=";
const std::string kMd5 = "md5b720ac445efd89a0a6bd0d1706392f2a";
const std::string kAcmeId = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
const std::string kGlobexId = "9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d";

std::string Yaml(std::initializer_list<std::string_view> lines) {
  std::string out;
  for (std::string_view line : lines) {
    out += line;
    out += '\n';
  }
  return out;
}

// Lines 1-3: two backends.
const std::string kBackends = Yaml({
    "backends:",
    "  shared: { host: 127.0.0.1, database: app, user: app_tenant }",
    "  initech_db: { host: 127.0.0.1, database: initech, user: initech_app }",
});

// A user block that makes a file valid when it follows tenants declaring acme.
const std::string kAlice = Yaml({
    "users:",
    "  alice: { password: \"" + kVerifier + "\", tenants: { acme: admin } }",
});

Result<std::shared_ptr<const Config>> Load(const std::string& yaml) {
  return LoadConfigString(yaml, "demo.yaml", [](std::string_view) { return std::nullopt; });
}

std::shared_ptr<const Config> LoadOk(const std::string& yaml) {
  auto result = Load(yaml);
  INFO(result.status().message());
  REQUIRE(result.ok());
  return *result;
}

std::string ErrorOf(const std::string& yaml) {
  auto result = Load(yaml);
  REQUIRE_FALSE(result.ok());
  return result.status().message();
}

TEST_CASE("tenants are read with their isolation, backend, limits and pool", "[config_loader]") {
  auto config = LoadOk(kBackends + Yaml({
                                       "tenants:",
                                       "  acme:",
                                       "    id: 7C9E6679-7425-40DE-944B-E07FC1F90AE7",
                                       "    backend: shared",
                                       "    max_clients: 100",
                                       "    pool: { mode: transaction, size: 10 }",
                                       "  globex:",
                                       "    id: " + kGlobexId,
                                       "    isolation: schema",
                                       "    schema: org_globex",
                                       "    backend: shared",
                                       "  initech:",
                                       "    id: 3d1a7b2c-8e9f-4a0b-b1c2-d3e4f5a6b7c8",
                                       "    isolation: database",
                                       "    backend: initech_db",
                                   }) +
                       kAlice);
  const TenantConfig& acme = *config->FindTenant("acme");
  CHECK(acme.name == "acme");
  CHECK(acme.id == kAcmeId);  // stored lowercase
  CHECK(acme.isolation == IsolationMode::kRls);
  CHECK(acme.schema.empty());
  CHECK(acme.backend == "shared");
  CHECK(acme.max_clients == 100);
  CHECK(acme.pool->mode == PoolMode::kTransaction);
  CHECK(acme.pool->size == 10);
  CHECK_FALSE(acme.pool->min_idle.has_value());
  const TenantConfig& globex = *config->FindTenant("globex");
  CHECK(globex.isolation == IsolationMode::kSchema);
  CHECK(globex.schema == "org_globex");
  CHECK(config->FindTenant("initech")->isolation == IsolationMode::kDatabase);
}

TEST_CASE("a tenant needs an id and a backend", "[config_loader]") {
  CHECK(ErrorOf(kBackends + Yaml({"tenants:", "  acme:", "    backend: shared"}) + kAlice) ==
        "demo.yaml:6:5: tenants.acme: missing required key 'id'");
  CHECK(ErrorOf(kBackends + Yaml({"tenants:", "  acme:", "    id: " + kAcmeId}) + kAlice) ==
        "demo.yaml:6:5: tenants.acme: missing required key 'backend'");
}

TEST_CASE("a misspelt isolation mode names the choices", "[config_loader]") {
  CHECK(ErrorOf(kBackends + Yaml({"tenants:", "  acme:", "    id: " + kAcmeId, "    backend: shared",
                                  "    isolation: rsl"}) +
                kAlice) ==
        "demo.yaml:8:16: tenants.acme.isolation: expected one of rls, schema, database, got \"rsl\"");
}

TEST_CASE("an unknown key inside a tenant suggests the nearest key", "[config_loader]") {
  CHECK(ErrorOf(kBackends + Yaml({"tenants:", "  acme:", "    id: " + kAcmeId, "    backend: shared",
                                  "    pol: { size: 1 }"}) +
                kAlice) == "demo.yaml:8:5: tenants.acme: unknown key 'pol' (did you mean 'pool'?)");
}

TEST_CASE("tenant ids are UUIDs, unique regardless of case", "[config_loader]") {
  CHECK(ErrorOf(kBackends + Yaml({"tenants:", "  acme: { id: 42, backend: shared }"}) + kAlice) ==
        "demo.yaml:5:15: tenants.acme.id: expected a UUID such as 7c9e6679-7425-40de-944b-e07fc1f90ae7, got \"42\"");
  CHECK(ErrorOf(kBackends + Yaml({"tenants:", "  acme: { id: " + kAcmeId + ", backend: shared }",
                                  "  globex: { id: 7C9E6679-7425-40de-944b-e07fc1f90ae7, backend: shared }"}) +
                kAlice) == "demo.yaml:6:17: tenants.globex.id: id " + kAcmeId + " is already used by tenant acme");
}

TEST_CASE("a tenant's backend must exist", "[config_loader]") {
  CHECK(ErrorOf(kBackends + Yaml({"tenants:", "  acme:", "    id: " + kAcmeId, "    backend: shraed"}) + kAlice) ==
        "demo.yaml:7:14: tenants.acme.backend: no backend named \"shraed\" (did you mean 'shared'?)");
  CHECK(ErrorOf(kBackends + Yaml({"tenants:", "  acme:", "    id: " + kAcmeId, "    backend: reporting"}) + kAlice) ==
        "demo.yaml:7:14: tenants.acme.backend: no backend named \"reporting\"");
}

TEST_CASE("schema isolation needs a schema, and only schema isolation takes one", "[config_loader]") {
  CHECK(ErrorOf(kBackends + Yaml({"tenants:", "  acme:", "    id: " + kAcmeId, "    backend: shared",
                                  "    isolation: schema"}) +
                kAlice) == "demo.yaml:6:5: tenants.acme: missing required key 'schema' (isolation is schema)");
  CHECK(ErrorOf(kBackends + Yaml({"tenants:", "  acme:", "    id: " + kAcmeId, "    backend: shared",
                                  "    schema: org_acme"}) +
                kAlice) ==
        "demo.yaml:8:13: tenants.acme.schema: only allowed with isolation: schema (isolation is rls)");
  CHECK(ErrorOf(kBackends + Yaml({"tenants:", "  acme:", "    id: " + kAcmeId, "    backend: shared",
                                  "    isolation: schema", "    schema: \"org; drop\""}) +
                kAlice) ==
        "demo.yaml:9:13: tenants.acme.schema: expected a plain SQL identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63 "
        "bytes), got \"org; drop\"");
}

TEST_CASE("two tenants cannot share a schema", "[config_loader]") {
  CHECK(ErrorOf(kBackends +
                Yaml({"tenants:", "  acme: { id: " + kAcmeId + ", isolation: schema, schema: org, backend: shared }",
                      "  globex: { id: " + kGlobexId + ", isolation: schema, schema: org, backend: shared }"}) +
                kAlice) == "demo.yaml:6:82: tenants.globex.schema: schema org is already used by tenant acme");
}

TEST_CASE("a database-isolated tenant has its backend to itself", "[config_loader]") {
  CHECK(ErrorOf(kBackends + Yaml({"tenants:", "  acme: { id: " + kAcmeId + ", backend: shared }", "  initech:",
                                  "    id: " + kGlobexId, "    isolation: database", "    backend: shared"}) +
                kAlice) ==
        "demo.yaml:9:14: tenants.initech.backend: backend \"shared\" is also used by tenant acme; a tenant with "
        "isolation: database needs a backend of its own");
}

TEST_CASE("tenant names use letters, digits, _ and -", "[config_loader]") {
  // alice's tenant acme is not there either: a second error, reported in the same run.
  CHECK(ErrorOf(kBackends + Yaml({"tenants:", "  acme.corp: { id: " + kAcmeId + ", backend: shared }"}) + kAlice) ==
        "demo.yaml:5:3: tenants: invalid tenant name \"acme.corp\"; names use only letters, digits, '_' and '-'\n"
        "demo.yaml:7:170: users.alice.tenants: no tenant named \"acme\"");
}

const std::string kTenants = Yaml({
    "tenants:",  // lines 4-6
    "  acme: { id: " + kAcmeId + ", backend: shared }",
    "  globex: { id: " + kGlobexId + ", isolation: schema, schema: org_globex, backend: shared }",
});

TEST_CASE("users are read with their password, tenants, roles and pool", "[config_loader]") {
  auto config = LoadOk(kBackends + kTenants +
                       Yaml({"users:", "  alice:", "    password: \"" + kVerifier + "\"",
                             "    tenants: { acme: admin, globex: viewer }", "    pool: { size: 5 }",
                             "  bob: { password: \"" + kVerifier + "\", tenants: { globex: member } }"}));
  const UserConfig& alice = *config->FindUser("alice");
  CHECK(alice.name == "alice");
  CHECK(alice.password.empty());     // the verifier is kept decoded, not as text
  REQUIRE(alice.scram.has_value());  // parsed at load, for every handshake to use as it is
  CHECK(*alice.scram == protocol::ScramVerifier::Parse(kVerifier).value());
  CHECK(alice.scram->iterations == 4096);
  CHECK(alice.tenants ==
        std::map<std::string, TenantRole>{{"acme", TenantRole::kAdmin}, {"globex", TenantRole::kViewer}});
  CHECK(alice.pool->size == 5);
  CHECK(config->FindUser("bob")->tenants.at("globex") == TenantRole::kMember);
}

TEST_CASE("a user's tenants must exist and roles are admin, member or viewer", "[config_loader]") {
  CHECK(ErrorOf(kBackends + kTenants +
                Yaml({"users:", "  alice:", "    password: \"" + kVerifier + "\"", "    tenants:", "      acme: admin",
                      "      acem: member"})) ==
        "demo.yaml:12:7: users.alice.tenants: no tenant named \"acem\" (did you mean 'acme'?)");
  CHECK(ErrorOf(kBackends + kTenants +
                Yaml({"users:", "  alice:", "    password: \"" + kVerifier + "\"", "    tenants:",
                      "      acme: owner"})) ==
        "demo.yaml:11:13: users.alice.tenants.acme: expected one of admin, member, viewer, got \"owner\"");
  CHECK(ErrorOf(kBackends + kTenants +
                Yaml({"users:", "  alice:", "    password: \"" + kVerifier + "\"", "    tenants: {}"})) ==
        "demo.yaml:10:14: users.alice.tenants: must list at least one tenant");
  CHECK(ErrorOf(kBackends + kTenants + Yaml({"users:", "  alice:", "    password: \"" + kVerifier + "\""})) ==
        "demo.yaml:9:5: users.alice: missing required key 'tenants'");
}

TEST_CASE("user names must not contain the username separator", "[config_loader]") {
  CHECK(ErrorOf("username_separator: _\n" + kBackends + kTenants +
                Yaml({"users:", "  al_ice: { password: \"" + kVerifier + "\", tenants: { acme: admin } }"})) ==
        "demo.yaml:9:3: users: user name \"al_ice\" contains the username_separator \"_\", so user_tenant would be "
        "ambiguous");
  CHECK(ErrorOf(kBackends + kTenants +
                Yaml({"users:", "  alice.smith: { password: \"" + kVerifier + "\", tenants: { acme: admin } }"})) ==
        "demo.yaml:8:3: users: invalid user name \"alice.smith\"; names use only letters, digits, '_' and '-'");
}

TEST_CASE("a password is required unless auth is trust", "[config_loader]") {
  CHECK(ErrorOf(kBackends + kTenants + Yaml({"users:", "  alice: { tenants: { acme: admin } }"})) ==
        "demo.yaml:8:10: users.alice: missing required key 'password' (auth.method is scram-sha-256)");
  CHECK(ErrorOf(kBackends + kTenants + Yaml({"users:", "  alice: { password: \"\", tenants: { acme: admin } }"})) ==
        "demo.yaml:8:22: users.alice.password: must not be empty (auth.method is scram-sha-256)");
  auto config = LoadOk("auth: { method: trust }\n" + kBackends + kTenants +
                       Yaml({"users:", "  alice: { tenants: { acme: admin } }", "  bob: { password: \"" + kMd5 +
                                                                                   "\", tenants: { acme: member } }"}));
  CHECK(config->auth_method == AuthMethod::kTrust);
  CHECK(config->FindUser("alice")->password.empty());
  CHECK(config->FindUser("bob")->password == kMd5);
}

TEST_CASE("a plain-text password is refused without being echoed", "[config_loader]") {
  const std::string message =
      ErrorOf(kBackends + kTenants + Yaml({"users:", "  alice: { password: hunter2, tenants: { acme: admin } }"}));
  CHECK(message ==
        "demo.yaml:8:22: users.alice.password: expected a SCRAM-SHA-256 verifier "
        "(SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>) or an MD5 hash (md5 followed by 32 lowercase hex "
        "digits); plain-text passwords are not accepted");
  CHECK(message.find("hunter2") == std::string::npos);
  const std::string broken = kVerifier.substr(0, kVerifier.size() - 3);
  CHECK(ErrorOf(kBackends + kTenants +
                Yaml({"users:", "  alice: { password: \"" + broken + "\", tenants: { acme: admin } }"}))
            .find(broken) == std::string::npos);
}

TEST_CASE("the password form must suit auth.method", "[config_loader]") {
  CHECK(ErrorOf("auth: { method: md5 }\n" + kBackends + kTenants +
                Yaml({"users:", "  alice: { password: \"" + kVerifier + "\", tenants: { acme: admin } }"})) ==
        "demo.yaml:9:22: users.alice.password: auth.method is md5, which needs an MD5 hash (md5 followed by 32 hex "
        "digits); a SCRAM-SHA-256 verifier cannot answer an MD5 challenge");
  CHECK(ErrorOf(kBackends + kTenants +
                Yaml({"users:", "  alice: { password: \"" + kMd5 + "\", tenants: { acme: admin } }"})) ==
        "demo.yaml:8:22: users.alice.password: auth.method is scram-sha-256, which needs a SCRAM-SHA-256 verifier; "
        "an MD5 hash cannot answer a SCRAM exchange");
  auto config = LoadOk("auth: { method: md5 }\n" + kBackends + kTenants +
                       Yaml({"users:", "  alice: { password: " + kMd5 + ", tenants: { acme: admin } }"}));
  CHECK(config->auth_method == AuthMethod::kMd5);
  CHECK_FALSE(config->FindUser("alice")->scram.has_value());  // an MD5 hash has no SCRAM form
}

TEST_CASE("an unset variable in a password names the variable, not a value", "[config_loader]") {
  CHECK(ErrorOf(kBackends + kTenants + Yaml({"users:", "  alice:", "    password: ${ALICE_VERIFIER}",
                                              "    tenants: { acme: admin }"})) ==
        "demo.yaml:9:15: users.alice.password: environment variable ALICE_VERIFIER is not set (use "
        "${ALICE_VERIFIER:-default} to give a default)");
}

}  // namespace
}  // namespace pgtenant::config

TEST_CASE("a backend may opt in to shared pools and a tenant may cap its transaction rate") {
  const std::string yaml =
      "backends:\n"
      "  shared: { host: h, database: d, user: u, shared_pool: true }\n"
      "  other: { host: h, database: d, user: u }\n"
      "tenants:\n"
      "  acme: { id: 7c9e6679-7425-40de-944b-e07fc1f90ae7, backend: shared, max_transactions_per_second: 50 }\n"
      "users:\n"
      "  alice: { password: \"SCRAM-SHA-256$4096:VQMcjlo5m/81MbanKVeoDg==$EL288QUwCMmU7lgLqhITT7+oasXEU4fS9RXZZv+JFEY=:"
      "YWhJFDiGSjTbGNz98C5TdxRLDnMNyvbOzYKM1iHr+8M=\", tenants: { acme: admin } }\n";
  auto config = pgtenant::config::LoadConfigString(yaml, "t.yaml", [](std::string_view) { return std::nullopt; });
  REQUIRE(config.ok());
  CHECK((*config)->FindBackend("shared")->shared_pool);
  CHECK_FALSE((*config)->FindBackend("other")->shared_pool);
  CHECK((*config)->FindTenant("acme")->max_transactions_per_second == 50);
  std::string bad_yaml = yaml;
  bad_yaml.replace(bad_yaml.find("shared_pool: true"), 17, "shared_pool: maybe");
  auto bad = pgtenant::config::LoadConfigString(bad_yaml, "t.yaml", [](std::string_view) { return std::nullopt; });
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("t.yaml:2:") == 0);
}

namespace pgtenant::config {
namespace {

TEST_CASE("idle_transaction_timeout: limits, then the tenant's, then the user's; the most specific wins",
          "[config_loader]") {
  const std::string tenants = Yaml({
      "limits: { idle_transaction_timeout: 1m }",
      "tenants:",
      "  acme: { id: " + kAcmeId + ", backend: shared, idle_transaction_timeout: 10s }",
      "  globex: { id: " + kGlobexId + ", isolation: schema, schema: org_globex, backend: shared }",
      "users:",
      "  alice: { password: \"" + kVerifier + "\", tenants: { acme: admin, globex: member } }",
      "  bob: { password: \"" + kVerifier + "\", tenants: { acme: admin }, idle_transaction_timeout: 0 }",
  });
  auto config = LoadOk(kBackends + tenants);
  const TenantConfig* acme = config->FindTenant("acme");
  const TenantConfig* globex = config->FindTenant("globex");
  CHECK(config->ResolveIdleTransactionTimeout(nullptr, nullptr) == std::chrono::minutes(1));
  CHECK(config->ResolveIdleTransactionTimeout(globex, config->FindUser("alice")) == std::chrono::minutes(1));
  CHECK(config->ResolveIdleTransactionTimeout(acme, config->FindUser("alice")) == std::chrono::seconds(10));
  CHECK(config->ResolveIdleTransactionTimeout(acme, config->FindUser("bob")) == Duration(0));  // off for bob

  std::string negative = kBackends + tenants;
  negative.replace(negative.find("idle_transaction_timeout: 10s"), 29, "idle_transaction_timeout: -1");
  CHECK(ErrorOf(negative).find("tenants.acme.idle_transaction_timeout") != std::string::npos);
}

}  // namespace
}  // namespace pgtenant::config
