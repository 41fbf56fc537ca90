// SNI with a configured suffix, and tenants named by the credential (client certificate, JWT claim).
#include <catch2/catch.hpp>

#include "protocol/sqlstate.h"
#include "routing/route.h"

namespace pgtenant::routing {
namespace {

std::shared_ptr<const config::Config> LoadSniConfig() {
  std::string yaml =
      "auth: { method: trust }\n"
      "tenant_identification: [sni, username_suffix]\n"
      "tls: { client: { certificate: s.crt, key: s.key }, sni_suffix: .db.example.com }\n"
      "backends:\n"
      "  shared: { host: 127.0.0.1, database: app, user: app_tenant }\n"
      "tenants:\n"
      "  acme: { id: 7c9e6679-7425-40de-944b-e07fc1f90ae7, backend: shared }\n"
      "  globex: { id: 9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d, backend: shared }\n"
      "users:\n"
      "  alice: { tenants: { acme: admin, globex: viewer } }\n";
  auto config = config::LoadConfigString(yaml, "sni.yaml", [](std::string_view) { return std::nullopt; });
  INFO((config.ok() ? "" : config.status().message()));
  REQUIRE(config.ok());
  return *config;
}

ClientIdentity Identity(std::string startup_user, std::string sni, std::optional<std::string> credential = {}) {
  ClientIdentity id;
  id.startup_user = std::move(startup_user);
  id.database = "app";
  id.server_name = std::move(sni);
  id.credential_tenant = std::move(credential);
  return id;
}

TEST_CASE("with a suffix, only names ending with it select a tenant: the one label before it") {
  CHECK(TenantFromServerName("acme.db.example.com", ".db.example.com") == std::optional<std::string>("acme"));
  CHECK(TenantFromServerName("ACME.DB.Example.com", ".db.example.com") == std::optional<std::string>("acme"));
  CHECK_FALSE(TenantFromServerName("acme.other.com", ".db.example.com").has_value());
  CHECK_FALSE(TenantFromServerName("x.acme.db.example.com", ".db.example.com").has_value());
  CHECK_FALSE(TenantFromServerName(".db.example.com", ".db.example.com").has_value());
  CHECK_FALSE(TenantFromServerName("db.example.com", ".db.example.com").has_value());
  CHECK_FALSE(TenantFromServerName("", ".db.example.com").has_value());
}

TEST_CASE("the server name routes the session when it ends with tls.sni_suffix") {
  auto config = LoadSniConfig();
  const config::UserConfig& alice = *config->FindUser("alice");
  auto route = ResolveRoute(*config, alice, Identity("alice", "globex.db.example.com"));
  REQUIRE(route.ok());
  CHECK(route->tenant->name == "globex");

  auto foreign = ResolveRoute(*config, alice, Identity("alice", "globex.elsewhere.com"));
  REQUIRE_FALSE(foreign.ok());
  CHECK(foreign.status().message() == "pgtenant: tenant required");
}

TEST_CASE("SNI and a username suffix that disagree are refused") {
  auto config = LoadSniConfig();
  auto route = ResolveRoute(*config, *config->FindUser("alice"), Identity("alice.globex", "acme.db.example.com"));
  REQUIRE_FALSE(route.ok());
  CHECK(route.status().sqlstate() == sqlstate::kInvalidAuthorizationSpecification);
  CHECK(route.status().message().find("more than one tenant") != std::string::npos);
}

TEST_CASE("a credential's tenant names the tenant alone, and must agree with any other") {
  auto config = LoadSniConfig();
  const config::UserConfig& alice = *config->FindUser("alice");
  auto alone = ResolveRoute(*config, alice, Identity("alice", "", "globex"));
  REQUIRE(alone.ok());
  CHECK(alone->tenant->name == "globex");

  auto agreeing = ResolveRoute(*config, alice, Identity("alice", "acme.db.example.com", "acme"));
  REQUIRE(agreeing.ok());
  CHECK(agreeing->tenant->name == "acme");

  auto mismatch = ResolveRoute(*config, alice, Identity("alice", "acme.db.example.com", "globex"));
  REQUIRE_FALSE(mismatch.ok());
  CHECK(mismatch.status().sqlstate() == sqlstate::kInvalidAuthorizationSpecification);
  CHECK(mismatch.status().message().find("the credential names tenant \"globex\"") != std::string::npos);
}

}  // namespace
}  // namespace pgtenant::routing
