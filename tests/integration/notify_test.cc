// LISTEN/NOTIFY through pgtenant for a tenant with a database of its own (StandardConfig; tenants that
// share one: notify_namespace_test.cc): notifications cross the proxy unchanged, except that a
// client's own carry the process ID it was given at login (BackendKeyData), as with PostgreSQL itself.
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <chrono>
#include <string>

#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

TEST_CASE("a NOTIFY from one proxied client reaches another that LISTENs", "[notify]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("notify");
  ProxyProcess proxy(StandardConfig(db));
  PgConn listener = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  PgConn sender = MustConnectProxy(proxy, "bob", kBobPassword, "app");

  MustExec(listener.get(), "LISTEN project_events");
  const std::string sender_pid = QueryValue(sender.get(), "SELECT pg_backend_pid()");
  MustExec(sender.get(), "NOTIFY project_events, 'created 42'");

  auto received = AwaitNotification(listener.get(), std::chrono::seconds(5));
  REQUIRE(received.has_value());
  CHECK(received->channel == "project_events");
  CHECK(received->payload == "created 42");
  CHECK(std::to_string(received->sender_pid) == sender_pid);

  // A notification sent inside a transaction arrives only after COMMIT.
  MustExec(sender.get(), "BEGIN");
  MustExec(sender.get(), "SELECT pg_notify('project_events', 'in a transaction')");
  CHECK_FALSE(AwaitNotification(listener.get(), std::chrono::milliseconds(300)).has_value());
  MustExec(sender.get(), "COMMIT");
  auto committed = AwaitNotification(listener.get(), std::chrono::seconds(5));
  REQUIRE(committed.has_value());
  CHECK(committed->payload == "in a transaction");

  // UNLISTEN: nothing more arrives.
  MustExec(listener.get(), "UNLISTEN project_events");
  MustExec(sender.get(), "NOTIFY project_events, 'nobody hears this'");
  CHECK(QueryValue(listener.get(), "SELECT 1") == "1");
  CHECK_FALSE(AwaitNotification(listener.get(), std::chrono::milliseconds(300)).has_value());
}

TEST_CASE("a client's own notification carries the PID it got at login; another client's keeps the real PID",
          "[notify]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("notify");
  ProxyProcess proxy(StandardConfig(db));
  PgConn listener = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  PgConn sender = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  const int own_pid = PQbackendPID(listener.get());  // pgtenant's, from BackendKeyData
  REQUIRE(std::to_string(own_pid) != QueryValue(listener.get(), "SELECT pg_backend_pid()"));

  MustExec(listener.get(), "LISTEN own_events");
  MustExec(listener.get(), "NOTIFY own_events, 'from myself'");
  auto own = AwaitNotification(listener.get(), std::chrono::seconds(5));
  REQUIRE(own.has_value());
  CHECK(own->payload == "from myself");
  CHECK(own->sender_pid == own_pid);

  const std::string sender_pid = QueryValue(sender.get(), "SELECT pg_backend_pid()");
  MustExec(sender.get(), "NOTIFY own_events, 'from another'");
  auto other = AwaitNotification(listener.get(), std::chrono::seconds(5));
  REQUIRE(other.has_value());
  CHECK(other->payload == "from another");
  CHECK(std::to_string(other->sender_pid) == sender_pid);
}

TEST_CASE("under transaction pooling a NOTIFY to the client's own LISTEN in one transaction carries its PID",
          "[notify]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("notify");
  ProxyConfig config = StandardConfig(db);
  config.pool_mode = "transaction";
  config.pool_size = 1;
  // LISTEN outlives the transaction, so pooling.session_state refuses it under transaction pooling;
  // with the rule off, a listener inside one transaction hears its own NOTIFY at COMMIT.
  config.extra_yaml = "policy: { rules: { pooling.session_state: off } }\n";
  ProxyProcess proxy(config);
  PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  MustExec(conn.get(), "BEGIN");
  MustExec(conn.get(), "LISTEN txn_events");
  MustExec(conn.get(), "NOTIFY txn_events, 'at commit'");
  MustExec(conn.get(), "COMMIT");  // the notification arrives with COMMIT's answer
  auto own = AwaitNotification(conn.get(), std::chrono::seconds(5));
  REQUIRE(own.has_value());
  CHECK(own->payload == "at commit");
  CHECK(own->sender_pid == PQbackendPID(conn.get()));
  MustExec(conn.get(), "UNLISTEN *");
}

}  // namespace
}  // namespace pgtenant::integration
