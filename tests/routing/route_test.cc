// Route resolution: who the tenant is, membership, and the context each isolation mode gets.
#include "routing/route.h"

#include <catch2/catch.hpp>
#include <optional>
#include <vector>

#include "protocol/sqlstate.h"
#include "routing/startup_options.h"

namespace pgtenant::routing {
namespace {

constexpr const char* kVerifier =
    "SCRAM-SHA-256$4096:VQMcjlo5m/81MbanKVeoDg==$EL288QUwCMmU7lgLqhITT7+oasXEU4fS9RXZZv+JFEY=:"
    "YWhJFDiGSjTbGNz98C5TdxRLDnMNyvbOzYKM1iHr+8M=";

std::shared_ptr<const config::Config> LoadTestConfig(const std::string& identification = "") {
  std::string yaml = std::string() +
                     "listen: { address: 127.0.0.1, port: 6432 }\n" + identification +
                     "backends:\n"
                     "  shared: { host: 127.0.0.1, port: 5432, database: app, user: app_tenant, password: x }\n"
                     "  initech_db: { host: 127.0.0.1, port: 5432, database: initech, user: initech_app, password: y }\n"
                     "tenants:\n"
                     "  acme: { id: 7C9E6679-7425-40de-944b-e07fc1f90ae7, isolation: rls, backend: shared }\n"
                     "  globex: { id: 9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d, isolation: schema, schema: org_globex, backend: shared }\n"
                     "  initech: { id: 3d1a7b2c-8e9f-4a0b-b1c2-d3e4f5a6b7c8, isolation: database, backend: initech_db }\n"
                     "users:\n"
                     "  alice: { password: \"" + kVerifier + "\", tenants: { acme: admin, globex: viewer } }\n"
                     "  bob: { password: \"" + kVerifier + "\", tenants: { globex: member } }\n"
                     "  carol: { password: \"" + kVerifier + "\", tenants: { initech: admin } }\n";
  auto config = config::LoadConfigString(yaml, "test.yaml", [](std::string_view) { return std::nullopt; });
  REQUIRE(config.ok());
  return *config;
}

Result<Route> Resolve(const config::Config& config, const std::string& startup_user, const std::string& database,
                      const std::string& options = "", const std::string& sni = "") {
  LoginName login = SplitLoginName(config, startup_user);
  const config::UserConfig* user = config.FindUser(login.user);
  REQUIRE(user != nullptr);
  return ResolveRoute(config, *user, {startup_user, database.empty() ? startup_user : database, options, sni});
}

std::string Options(const Route& route) {
  for (const auto& [name, value] : route.pool_identity.server_startup)
    if (name == "options") return value;
  return "";
}

TEST_CASE("a username suffix names the tenant and is stripped for authentication") {
  auto config = LoadTestConfig();
  LoginName login = SplitLoginName(*config, "alice.acme");
  CHECK(login.user == "alice");
  CHECK(login.suffix_tenant == std::optional<std::string>("acme"));
  auto route = Resolve(*config, "alice.acme", "app");
  REQUIRE(route.ok());
  CHECK(route->tenant->name == "acme");
  CHECK(route->role == config::TenantRole::kAdmin);
  CHECK(route->backend->name == "shared");
}

TEST_CASE("rls mode puts the tenant id into the server session's startup options") {
  auto config = LoadTestConfig();
  auto route = Resolve(*config, "alice.acme", "app");
  REQUIRE(route.ok());
  CHECK(Options(*route) == "-c app.current_organization_id=7c9e6679-7425-40de-944b-e07fc1f90ae7");
}

TEST_CASE("schema mode also pins search_path, and a viewer's session is read-only") {
  auto config = LoadTestConfig();
  auto route = Resolve(*config, "alice.globex", "app");
  REQUIRE(route.ok());
  CHECK(route->role == config::TenantRole::kViewer);
  CHECK(Options(*route) ==
        "-c app.current_organization_id=9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d -c search_path=org_globex "
        "-c default_transaction_read_only=on");
}

TEST_CASE("pools are keyed by tenant, backend, server user and read-only-ness") {
  auto config = LoadTestConfig();
  auto admin = Resolve(*config, "alice.acme", "app");
  auto viewer = Resolve(*config, "alice.globex", "app");
  auto member = Resolve(*config, "bob.globex", "app");
  REQUIRE(admin.ok());
  REQUIRE(viewer.ok());
  REQUIRE(member.ok());
  CHECK(admin->pool_identity != viewer->pool_identity);
  CHECK(viewer->pool_identity != member->pool_identity);
  CHECK(member->pool_identity.tenant == "globex");
  CHECK(member->pool_identity.backend.backend == "shared");
  CHECK(member->pool_identity.backend.user == "app_tenant");
  CHECK_FALSE(member->pool_identity.read_only);
  CHECK(viewer->pool_identity.read_only);
  CHECK(PoolName(member->pool_identity) == "globex/shared/app_tenant/rw");
}

TEST_CASE("a startup option names the tenant; other settings in options are refused") {
  auto config = LoadTestConfig();
  auto route = Resolve(*config, "alice", "app", "-c pgtenant.tenant=globex");
  REQUIRE(route.ok());
  CHECK(route->tenant->name == "globex");
  auto escaped = Resolve(*config, "alice", "app", "--pgtenant.tenant=acme");
  REQUIRE(escaped.ok());
  CHECK(escaped->tenant->name == "acme");
  for (const char* smuggled : {"-c app.current_organization_id=9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d",
                               "-c pgtenant.tenant=acme -c search_path=org_globex", "-c role=postgres", "-d 5"}) {
    auto refused = Resolve(*config, "alice", "app", smuggled);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().sqlstate() == sqlstate::kFeatureNotSupported);
  }
}

TEST_CASE("the database name may name the tenant") {
  auto config = LoadTestConfig();
  auto route = Resolve(*config, "alice", "globex");
  REQUIRE(route.ok());
  CHECK(route->tenant->name == "globex");
}

TEST_CASE("a user with exactly one tenant needs no tenant name") {
  auto config = LoadTestConfig();
  auto route = Resolve(*config, "bob", "app");
  REQUIRE(route.ok());
  CHECK(route->tenant->name == "globex");
}

TEST_CASE("no tenant is 28000 'tenant required' with a hint naming the accepted forms") {
  auto config = LoadTestConfig();
  auto route = Resolve(*config, "alice", "app");
  REQUIRE_FALSE(route.ok());
  CHECK(route.status().sqlstate() == sqlstate::kInvalidAuthorizationSpecification);
  CHECK(route.status().message() == "pgtenant: tenant required");
  CHECK(route.status().hint().find("user=alice.TENANT") != std::string::npos);
  CHECK(route.status().hint().find("PGOPTIONS") != std::string::npos);
}

TEST_CASE("unknown tenant and not-a-member give the same message") {
  auto config = LoadTestConfig();
  auto unknown = Resolve(*config, "bob.nosuch", "app");
  auto not_member = Resolve(*config, "bob.acme", "app");
  REQUIRE_FALSE(unknown.ok());
  REQUIRE_FALSE(not_member.ok());
  CHECK(unknown.status().sqlstate() == sqlstate::kInvalidAuthorizationSpecification);
  CHECK(not_member.status().sqlstate() == unknown.status().sqlstate());
  auto strip = [](std::string m, const std::string& name) { return m.replace(m.find(name), name.size(), "T"); };
  CHECK(strip(unknown.status().message(), "nosuch") == strip(not_member.status().message(), "acme"));
}

TEST_CASE("a database that is no tenant's, or not this user's, is 3D000 with one text for every case") {
  auto config = LoadTestConfig();
  // bob is globex's: a database naming no tenant, another tenant, another tenant's backend database,
  // or one that contradicts the tenant named by user name: PostgreSQL's answer for a missing database.
  const std::vector<std::pair<std::string, std::string>> probes = {
      {"bob", "nosuch"}, {"bob", "acme"}, {"bob.globex", "acme"}, {"bob.globex", "nosuch"}, {"carol.initech", "app"}};
  for (const auto& [user, database] : probes) {
    INFO(user << " dbname=" << database);
    auto route = Resolve(*config, user, database);
    REQUIRE_FALSE(route.ok());
    CHECK(route.status().sqlstate() == sqlstate::kInvalidCatalogName);
    CHECK(route.status().message() == "database \"" + database + "\" does not exist or is not served to this user");
    CHECK(route.status().hint().empty());
  }
}

TEST_CASE("methods that name different tenants are refused") {
  auto config = LoadTestConfig();
  auto route = Resolve(*config, "alice.acme", "app", "-c pgtenant.tenant=globex");
  REQUIRE_FALSE(route.ok());
  CHECK(route.status().sqlstate() == sqlstate::kInvalidAuthorizationSpecification);
  CHECK(route.status().message().find("more than one tenant") != std::string::npos);
}

TEST_CASE("the client's database never picks another tenant's database") {
  auto config = LoadTestConfig();
  auto other_db = Resolve(*config, "carol.initech", "app");
  REQUIRE_FALSE(other_db.ok());
  CHECK(other_db.status().sqlstate() == sqlstate::kInvalidCatalogName);
  auto own_db = Resolve(*config, "carol.initech", "initech");
  REQUIRE(own_db.ok());
  CHECK(own_db->backend->database == "initech");
}

TEST_CASE("only configured identification methods are used") {
  auto config = LoadTestConfig("tenant_identification: [startup_option]\n");
  // With username_suffix off, "alice.acme" is not split: it is simply not a user we know.
  CHECK(SplitLoginName(*config, "alice.acme").user == "alice.acme");
  auto by_db = Resolve(*config, "alice", "acme");
  REQUIRE_FALSE(by_db.ok());
  CHECK(by_db.status().message() == "pgtenant: tenant required");
  auto by_option = Resolve(*config, "alice", "app", "-c pgtenant.tenant=acme");
  REQUIRE(by_option.ok());
}

TEST_CASE("SNI names the tenant by the first label of the server name") {
  CHECK(TenantFromServerName("Acme.db.example.com") == std::optional<std::string>("acme"));
  CHECK_FALSE(TenantFromServerName("localhost").has_value());
  CHECK_FALSE(TenantFromServerName("").has_value());
  CHECK_FALSE(TenantFromServerName(".example.com").has_value());
  auto config = LoadTestConfig("tenant_identification: [sni, username_suffix]\n");
  auto route = Resolve(*config, "alice", "app", "", "globex.db.example.com");
  REQUIRE(route.ok());
  CHECK(route->tenant->name == "globex");
}

TEST_CASE("startup options split like PostgreSQL's pg_split_opts") {
  CHECK(SplitStartupOptions("  -c a=b\\ c   -c\\\\d ") == std::vector<std::string>{"-c", "a=b c", "-c\\d"});
  CHECK(EscapeOptionValue("a b\\c") == "a\\ b\\\\c");
  auto none = ParseTenantOption("");
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
}

}  // namespace
}  // namespace pgtenant::routing

namespace pgtenant::routing {
namespace {

TEST_CASE("rls tenants on a shared-pool backend share one pool and get their context on checkout") {
  std::string yaml =
      "backends:\n"
      "  shared: { host: 127.0.0.1, database: app, user: app_tenant, password: x, shared_pool: true }\n"
      "tenants:\n"
      "  acme: { id: 7c9e6679-7425-40de-944b-e07fc1f90ae7, isolation: rls, backend: shared }\n"
      "  umbrella: { id: 11111111-2222-4333-8444-555555555555, isolation: rls, backend: shared }\n"
      "  globex: { id: 9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d, isolation: schema, schema: org_globex, backend: shared }\n"
      "users:\n"
      "  alice: { password: \"" + std::string(kVerifier) + "\", tenants: { acme: admin, umbrella: viewer, globex: member } }\n";
  auto config = config::LoadConfigString(yaml, "t.yaml", [](std::string_view) { return std::nullopt; });
  REQUIRE(config.ok());
  auto acme = Resolve(**config, "alice.acme", "app");
  auto umbrella = Resolve(**config, "alice.umbrella", "app");
  auto globex = Resolve(**config, "alice.globex", "app");
  REQUIRE(acme.ok());
  REQUIRE(umbrella.ok());
  REQUIRE(globex.ok());
  CHECK(acme->shared_pool);
  CHECK(acme->pool_identity == umbrella->pool_identity);
  CHECK(acme->pool_identity.shared());
  CHECK(acme->pool_identity.server_startup.empty());
  CHECK(PoolName(acme->pool_identity) == "shared/shared/app_tenant");
  CHECK(acme->context_tag() != umbrella->context_tag());
  CHECK(acme->context_hash != umbrella->context_hash);
  CHECK(acme->context_sql ==
        "SET app.current_organization_id = '7c9e6679-7425-40de-944b-e07fc1f90ae7'; "
        "SET default_transaction_read_only = off");
  CHECK(umbrella->context_sql.find("default_transaction_read_only = on") != std::string::npos);
  // Schema tenants keep their own pool and startup context.
  CHECK_FALSE(globex->shared_pool);
  CHECK(globex->pool_identity != acme->pool_identity);
}

TEST_CASE("the identity hash that keys remembered routes covers every field") {
  const ClientIdentity base{"alice.acme", "app", "-c pgtenant.tenant=acme", "acme.db.example.com", std::nullopt};
  CHECK(Hash(base) == Hash(ClientIdentity(base)));
  std::vector<ClientIdentity> variants(6, base);
  variants[0].startup_user = "alice.globex";
  variants[1].database = "initech";
  variants[2].options.clear();
  variants[3].server_name = "globex.db.example.com";
  variants[4].credential_tenant = "acme";
  variants[5].credential_tenant = "";  // a credential naming the empty tenant is not no credential
  for (const ClientIdentity& variant : variants) CHECK(Hash(variant) != Hash(base));
  CHECK(Hash(variants[4]) != Hash(variants[5]));
}

}  // namespace
}  // namespace pgtenant::routing
