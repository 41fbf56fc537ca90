// Cancel requests through pgtenant: the client holds the proxy's key, and a cancel stops the running query.
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <chrono>
#include <string>

#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

TEST_CASE("PQcancel stops SELECT pg_sleep(30) with 57014 within 2 seconds, and the session goes on", "[cancel]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("cancel");
  ProxyProcess proxy(StandardConfig(db));
  PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app");

  // The key libpq holds is the proxy's, not the server connection's.
  const std::string server_pid = QueryValue(conn.get(), "SELECT pg_backend_pid()");
  CHECK(std::to_string(PQbackendPID(conn.get())) != server_pid);

  REQUIRE(PQsendQuery(conn.get(), "SELECT pg_sleep(30)") == 1);
  REQUIRE(PostgresServer::Shared().AwaitActiveQuery(db.database, "SELECT pg_sleep(30)", std::chrono::seconds(5)));

  const auto started = std::chrono::steady_clock::now();
  REQUIRE(SendCancel(conn.get()) == "");

  auto results = CollectResults(conn.get(), std::chrono::seconds(2));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  REQUIRE(results.has_value());
  REQUIRE_FALSE(results->empty());
  CHECK(PQresultStatus(results->front().get()) == PGRES_FATAL_ERROR);
  CHECK(Sqlstate(results->front().get()) == "57014");
  CHECK(elapsed < std::chrono::seconds(2));
  CHECK(QueryValue(conn.get(), "SELECT 'after cancel'") == "after cancel");
}

TEST_CASE("a cancel request for one client does not touch another client's query", "[cancel]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("cancel");
  ProxyProcess proxy(StandardConfig(db));
  PgConn idle = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  PgConn busy = MustConnectProxy(proxy, "bob", kBobPassword, "app");

  REQUIRE(PQsendQuery(busy.get(), "SELECT pg_sleep(1.5), 'finished'") == 1);
  REQUIRE(PostgresServer::Shared().AwaitActiveQuery(db.database, "SELECT pg_sleep(1.5), 'finished'",
                                                    std::chrono::seconds(5)));
  SendCancel(idle.get());  // idle's key: nothing of idle's is running

  auto results = CollectResults(busy.get(), std::chrono::seconds(10));
  REQUIRE(results.has_value());
  REQUIRE_FALSE(results->empty());
  REQUIRE(PQresultStatus(results->front().get()) == PGRES_TUPLES_OK);
  CHECK(std::string(PQgetvalue(results->front().get(), 0, 1)) == "finished");
  CHECK(QueryValue(idle.get(), "SELECT 'idle still fine'") == "idle still fine");
}

}  // namespace
}  // namespace pgtenant::integration
