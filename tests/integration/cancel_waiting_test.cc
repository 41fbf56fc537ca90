// Cancel requests for a query that is still queued for a pooled server connection (transaction pooling):
// found by bench/soak, where such cancels were dropped and the query ran later in full.
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <chrono>
#include <string>

#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

TEST_CASE("a cancel for a query waiting for a pooled server connection answers it with 57014 at once",
          "[cancel][pool][long]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("cancelwait");
  ProxyConfig config = StandardConfig(db);
  config.pool_mode = "transaction";
  config.pool_size = 1;
  config.pool_wait_timeout = "30s";
  ProxyProcess proxy(config);
  PgConn holder = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  PgConn waiter = MustConnectProxy(proxy, "bob", kBobPassword, "app");

  // The pool's only server connection is busy for 5 s.
  const std::string sleep_sql = "SELECT pg_sleep(5), 'holder finished'";
  REQUIRE(PQsendQuery(holder.get(), sleep_sql.c_str()) == 1);
  REQUIRE(PostgresServer::Shared().AwaitActiveQuery(db.database, sleep_sql, std::chrono::seconds(5)));

  const auto started = std::chrono::steady_clock::now();
  REQUIRE(PQsendQuery(waiter.get(), "SELECT 'waiter ran'") == 1);
  // A cancel that reaches pgtenant before the query does has nothing to cancel: cancel until answered.
  for (int i = 0; i < 10 && !WaitReadable(waiter.get(), std::chrono::milliseconds(250)); ++i) {
    REQUIRE(SendCancel(waiter.get()) == "");
  }
  auto results = CollectResults(waiter.get(), std::chrono::seconds(10));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  REQUIRE(results.has_value());
  REQUIRE_FALSE(results->empty());
  CHECK(Sqlstate(results->front().get()) == "57014");
  CHECK(elapsed < std::chrono::seconds(4));  // long before the server connection became free

  // The cancel reached no server: the holder's query finishes, and both sessions go on.
  auto held = CollectResults(holder.get(), std::chrono::seconds(10));
  REQUIRE(held.has_value());
  REQUIRE_FALSE(held->empty());
  REQUIRE(PQresultStatus(held->front().get()) == PGRES_TUPLES_OK);
  CHECK(std::string(PQgetvalue(held->front().get(), 0, 1)) == "holder finished");
  CHECK(QueryValue(waiter.get(), "SELECT 'waiter again'") == "waiter again");
  CHECK(QueryValue(holder.get(), "SELECT 'holder again'") == "holder again");
}

}  // namespace
}  // namespace pgtenant::integration
