// limits.idle_transaction_timeout: a client idle inside a transaction gets PostgreSQL's FATAL 25P03 and
// its server connection is freed (never handed on with the transaction open); a busy client is not cut.
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <chrono>
#include <string>

#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/poll.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

// Waits until pgtenant has said something to a client that sent nothing, then checks it was the FATAL.
void CheckCutForIdleTransaction(PGconn* stuck) {
  REQUIRE(PollUntil([&] { return WaitReadable(stuck, std::chrono::milliseconds(10)); }, std::chrono::seconds(15)));
  PgResult after = Exec(stuck, "SELECT 'too late'");
  CHECK(PQresultStatus(after.get()) == PGRES_FATAL_ERROR);
  const std::string error = PQerrorMessage(stuck);
  INFO(error);
  CHECK(error.find("FATAL") != std::string::npos);
  CHECK(error.find("25P03") != std::string::npos);
  CHECK(error.find("terminating connection due to idle-in-transaction timeout") != std::string::npos);
  CHECK(PQstatus(stuck) == CONNECTION_BAD);
}

// One test case per pool mode, so that ctest runs them side by side: each waits for the timeout twice.
void CheckIdleTransactionCut(const std::string& mode) {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("idletx");
  const bool failed_transaction = GENERATE(false, true);
  INFO("pool mode " << mode << (failed_transaction ? ", transaction failed ('E')" : ", transaction open ('T')"));
  ProxyConfig config = StandardConfig(db);
  config.pool_mode = mode;
  config.pool_size = 1;
  config.pool_wait_timeout = "20s";
  config.limits_extra = "idle_transaction_timeout: 1s";
  ProxyProcess proxy(config);
  {
    PgConn setup = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
    MustExec(setup.get(), "CREATE TABLE IF NOT EXISTS pinned (id int)");
  }

  PgConn stuck = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  MustExec(stuck.get(), "BEGIN");
  MustExec(stuck.get(), "INSERT INTO pinned VALUES (1)");
  if (failed_transaction) CHECK(PQresultStatus(Exec(stuck.get(), "SELECT 1/0").get()) == PGRES_FATAL_ERROR);
  CHECK(PQtransactionStatus(stuck.get()) == (failed_transaction ? PQTRANS_INERROR : PQTRANS_INTRANS));
  CheckCutForIdleTransaction(stuck.get());

  // The only server connection is free again, and carries nothing of the stuck transaction.
  PgConn next = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  CHECK(QueryValue(next.get(), "SELECT count(*) FROM pinned") == "0");
  CHECK(QueryValue(next.get(), "SELECT pg_current_xact_id_if_assigned() IS NULL") == "t");
  CHECK(PQtransactionStatus(next.get()) == PQTRANS_IDLE);
}

TEST_CASE("a client idle in a transaction gets FATAL 25P03 and its one server connection serves the next client "
          "(session pooling)", "[lifecycle][limits]") {
  CheckIdleTransactionCut("session");
}

TEST_CASE("a client idle in a transaction gets FATAL 25P03 and its one server connection serves the next client "
          "(transaction pooling)", "[lifecycle][limits]") {
  CheckIdleTransactionCut("transaction");
}

void CheckBusyAndBetweenSpared(const std::string& mode) {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("idletx");
  INFO("pool mode " << mode);
  ProxyConfig config = StandardConfig(db);
  config.pool_mode = mode;
  // Set for the tenant, not at top level: the tenant's value applies to its clients.
  config.tenants["acme"].extra = "idle_transaction_timeout: 1s";
  ProxyProcess proxy(config);
  PgConn busy = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  PgConn between = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  PgConn stuck = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  CHECK(QueryValue(between.get(), "SELECT 'between'") == "between");

  MustExec(busy.get(), "BEGIN");
  MustExec(stuck.get(), "BEGIN");
  // Three seconds inside one query, three times the timeout: busy, not idle.
  auto slow = ExecWithTimeout(busy.get(), "SELECT pg_sleep(3)", std::chrono::seconds(20));
  REQUIRE(slow.has_value());
  REQUIRE(slow->size() == 1);
  CHECK(PQresultStatus(slow->front().get()) == PGRES_TUPLES_OK);
  // Idle time counts from the query's end, not its start: the next statement is in time.
  CHECK(QueryValue(busy.get(), "SELECT 'still in'") == "still in");
  MustExec(busy.get(), "COMMIT");
  // The client that sent nothing since BEGIN was cut meanwhile; the one idle between transactions was not.
  CheckCutForIdleTransaction(stuck.get());
  CHECK(QueryValue(between.get(), "SELECT 'between still'") == "between still");
  CHECK(QueryValue(busy.get(), "SELECT 'busy still'") == "busy still");
}

TEST_CASE("idle_transaction_timeout spares a client busy with a long query and one idle between transactions "
          "(session pooling)", "[lifecycle][limits]") {
  CheckBusyAndBetweenSpared("session");
}

TEST_CASE("idle_transaction_timeout spares a client busy with a long query and one idle between transactions "
          "(transaction pooling)", "[lifecycle][limits]") {
  CheckBusyAndBetweenSpared("transaction");
}

}  // namespace
}  // namespace pgtenant::integration
