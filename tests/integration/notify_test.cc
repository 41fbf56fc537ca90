// LISTEN/NOTIFY between two clients of pgtenant: the notification crosses the proxy unchanged.
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <chrono>
#include <string>

#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

struct Notification {
  std::string channel;
  std::string payload;
  int sender_pid = 0;
};

// Waits for the next notification on an idle connection (nothing sent), at most `timeout`.
std::optional<Notification> AwaitNotification(PGconn* conn, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (PGnotify* notify = PQnotifies(conn)) {
      Notification n{notify->relname, notify->extra, notify->be_pid};
      PQfreemem(notify);
      return n;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !WaitReadable(conn, left)) return std::nullopt;
    if (PQconsumeInput(conn) == 0) return std::nullopt;
  }
}

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

}  // namespace
}  // namespace pgtenant::integration
