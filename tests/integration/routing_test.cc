// Routing: the session's tenant decides the backend, hence the real database and the server role.
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <string>

#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

constexpr char kInitechId[] = "3d1a7b2c-8e9f-4a0b-b1c2-d3e4f5a6b7c8";

// acme on backend app (first), initech on backend initech_db (second); alice in both, bob in acme only.
ProxyConfig TwoTenants(const TestDatabase& first, const TestDatabase& second) {
  ProxyConfig config = StandardConfig(first);
  BackendConfig other = config.backends["app"];
  other.database = second.database;
  other.user = second.role;
  other.password = second.password;
  config.backends["initech_db"] = other;
  config.tenants["initech"] = TenantSpec{kInitechId, "database", "initech_db", ""};
  config.memberships["alice"]["initech"] = "member";
  return config;
}

TEST_CASE("the tenant picks the backend, which decides the real database and role", "[routing]") {
  PostgresServer& server = PostgresServer::Shared();
  TestDatabase first = server.CreateTestDatabase("route");
  TestDatabase second = server.CreateTestDatabase("route");
  ProxyProcess proxy(TwoTenants(first, second));

  PgConn acme = MustConnectProxy(proxy, "alice.acme", kAlicePassword, "app");
  CHECK(QueryValue(acme.get(), "SELECT current_database()") == first.database);
  CHECK(QueryValue(acme.get(), "SELECT current_user") == first.role);

  PgConn initech = MustConnectProxy(proxy, "alice.initech", kAlicePassword, "initech_db");
  CHECK(QueryValue(initech.get(), "SELECT current_database()") == second.database);
  CHECK(QueryValue(initech.get(), "SELECT current_user") == second.role);

  // bob belongs to acme only: single_tenant finds it without a suffix.
  PgConn bob = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  CHECK(QueryValue(bob.get(), "SELECT current_database()") == first.database);
}

TEST_CASE("a tenant the user is not in and a tenant that does not exist are refused alike", "[routing]") {
  PostgresServer& server = PostgresServer::Shared();
  TestDatabase first = server.CreateTestDatabase("route");
  TestDatabase second = server.CreateTestDatabase("route");
  ProxyProcess proxy(TwoTenants(first, second));

  PgConn not_member = ConnectProxy(proxy, "bob.initech", kBobPassword, "app");
  REQUIRE(PQstatus(not_member.get()) == CONNECTION_BAD);
  const std::string not_member_error = PQerrorMessage(not_member.get());
  INFO(not_member_error);
  CHECK(StartupSqlstate(not_member.get()) == "28000");

  PgConn no_tenant = ConnectProxy(proxy, "bob.hooli", kBobPassword, "app");
  REQUIRE(PQstatus(no_tenant.get()) == CONNECTION_BAD);
  const std::string no_tenant_error = PQerrorMessage(no_tenant.get());
  INFO(no_tenant_error);
  CHECK(StartupSqlstate(no_tenant.get()) == "28000");
  CHECK_THAT(PrimaryMessageOf(no_tenant_error), !Catch::Contains("hooli") || Catch::Contains("bob"));

  // alice has two tenants: without naming one she is asked to.
  PgConn ambiguous = ConnectProxy(proxy, "alice", kAlicePassword, "app");
  REQUIRE(PQstatus(ambiguous.get()) == CONNECTION_BAD);
  INFO(PQerrorMessage(ambiguous.get()));
  CHECK(StartupSqlstate(ambiguous.get()) == "28000");
}

TEST_CASE("a client database that names another backend's database is refused", "[routing]") {
  PostgresServer& server = PostgresServer::Shared();
  TestDatabase first = server.CreateTestDatabase("route");
  TestDatabase second = server.CreateTestDatabase("route");
  ProxyProcess proxy(TwoTenants(first, second));

  // bob is acme's; asking for initech's database must not reach it.
  PgConn conn = ConnectProxy(proxy, "bob", kBobPassword, second.database);
  if (PQstatus(conn.get()) == CONNECTION_OK) {
    CHECK(QueryValue(conn.get(), "SELECT current_database()") != second.database);
  } else {
    INFO(PQerrorMessage(conn.get()));
    const std::string state = StartupSqlstate(conn.get());
    CHECK(state == "3D000");
    CHECK(PrimaryMessageOf(PQerrorMessage(conn.get())) ==
          "database \"" + second.database + "\" does not exist or is not served to this user");
  }
}

}  // namespace
}  // namespace pgtenant::integration
