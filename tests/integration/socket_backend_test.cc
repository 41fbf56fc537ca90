// A backend reached over PostgreSQL's Unix-domain socket (host: a directory, as in libpq): sessions,
// tenant context, transaction pooling and cancel requests all go through the socket; a directory
// without a socket gets a named 08006.
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <chrono>
#include <string>

#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/temp_dir.h"
#include "tests/integration/harness/tenant_world.h"

namespace pgtenant::integration {
namespace {

TEST_CASE("a backend on PostgreSQL's Unix-domain socket: RLS tenants, transaction pooling, cancel", "[socket]") {
  TenantWorld world = TenantWorld::Create();
  ProxyConfig config = world.Config();
  config.backends["app"].host = PostgresServer::Shared().socket_directory();
  config.pool_mode = "transaction";
  ProxyProcess proxy(config);

  PgConn bob = MustConnectProxy(proxy, "bob", TenantWorld::PasswordOf("bob"), "app");
  PgConn uma = MustConnectProxy(proxy, "uma", TenantWorld::PasswordOf("uma"), "app");
  // A socket connection has no server address; a TCP one would show 127.0.0.1.
  CHECK(QueryValue(bob.get(), "SELECT inet_server_addr() IS NULL") == "t");
  CHECK(QueryValue(bob.get(), "SELECT current_setting('app.current_organization_id')") == kAcmeId);
  CHECK(QueryColumn(bob.get(), "SELECT name FROM projects ORDER BY name") == TenantWorld::ProjectsOf("acme"));
  CHECK(QueryColumn(uma.get(), "SELECT name FROM projects ORDER BY name") == TenantWorld::ProjectsOf("umbrella"));

  // The cancel request goes to the server connection's socket too.
  REQUIRE(PQsendQuery(bob.get(), "SELECT pg_sleep(30)") == 1);
  REQUIRE(PostgresServer::Shared().AwaitActiveQuery(world.shared.database, "SELECT pg_sleep(30)",
                                                    std::chrono::seconds(5)));
  REQUIRE(SendCancel(bob.get()) == "");
  auto results = CollectResults(bob.get(), std::chrono::seconds(5));
  REQUIRE(results.has_value());
  REQUIRE_FALSE(results->empty());
  CHECK(Sqlstate(results->front().get()) == "57014");
  CHECK(QueryValue(bob.get(), "SELECT 'after cancel'") == "after cancel");
  CHECK(QueryValue(uma.get(), "SELECT current_setting('app.current_organization_id')") ==
        TenantWorld::IdOf("umbrella"));
}

TEST_CASE("a socket directory without PostgreSQL's socket: 08006 naming the socket's path", "[socket]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("nosocket");
  TempDir empty("pgtenant-nosocket");
  ProxyConfig config = StandardConfig(db);
  config.backends["app"].host = empty.path();
  ProxyProcess proxy(config);

  PgConn conn = ConnectProxy(proxy, "alice", kAlicePassword, "app");
  std::string state;
  std::string message;
  if (PQstatus(conn.get()) == CONNECTION_BAD) {
    message = PQerrorMessage(conn.get());
    state = SqlstateOf(message);
  } else {
    auto failed = ExecWithTimeout(conn.get(), "SELECT 1", std::chrono::seconds(15));
    REQUIRE(failed.has_value());
    REQUIRE_FALSE(failed->empty());
    state = Sqlstate(failed->front().get());
    message = PQresultErrorMessage(failed->front().get());
  }
  INFO(message);
  CHECK(state == "08006");
  CHECK_THAT(message, Catch::Contains(empty.path() + "/.s.PGSQL." + std::to_string(PostgresServer::Shared().port())));
}

}  // namespace
}  // namespace pgtenant::integration
