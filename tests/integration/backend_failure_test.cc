// When PostgreSQL is unreachable or restarts, clients get a prompt, named error, never a hang.
#include <catch2/catch.hpp>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>

#include "tests/integration/harness/net.h"
#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

// The first query of a session, or the login itself, fails: returns SQLSTATE and message of the failure.
std::pair<std::string, std::string> FirstFailure(const ProxyProcess& proxy) {
  PgConn conn = ConnectProxy(proxy, "alice", kAlicePassword, "app");
  if (PQstatus(conn.get()) == CONNECTION_BAD) {
    const std::string message = PQerrorMessage(conn.get());
    return {SqlstateOf(message), message};
  }
  auto results = ExecWithTimeout(conn.get(), "SELECT 1", std::chrono::seconds(15));
  if (!results || results->empty()) return {"", "no answer"};
  return {Sqlstate(results->front().get()), PQresultErrorMessage(results->front().get())};
}

TEST_CASE("a backend on a closed port: FATAL 08006 naming the backend, within connect_timeout", "[backend]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("down");
  ProxyConfig config = StandardConfig(db);
  config.backends["app"].port = FreePort();  // nothing listens there
  config.backends["app"].connect_timeout = "2s";
  ProxyProcess proxy(config);

  const auto started = std::chrono::steady_clock::now();
  auto [state, message] = FirstFailure(proxy);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  INFO(message);
  CHECK(state == "08006");
  CHECK_THAT(message, Catch::Contains("app"));
  CHECK(elapsed < std::chrono::seconds(4));
}

TEST_CASE("a backend that accepts TCP but never answers: 08006 once connect_timeout passes", "[backend]") {
  // A listening socket nobody accepts on: the kernel completes the handshake, then silence.
  const int silent = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(silent >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof addr;
  REQUIRE(bind(silent, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(listen(silent, 64) == 0);
  REQUIRE(getsockname(silent, reinterpret_cast<sockaddr*>(&addr), &size) == 0);

  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("silent");
  ProxyConfig config = StandardConfig(db);
  config.backends["app"].port = ntohs(addr.sin_port);
  config.backends["app"].connect_timeout = "2s";
  ProxyProcess proxy(config);

  const auto started = std::chrono::steady_clock::now();
  auto [state, message] = FirstFailure(proxy);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  close(silent);
  INFO(message);
  CHECK(state == "08006");
  CHECK_THAT(message, Catch::Contains("app"));
  CHECK(elapsed >= std::chrono::milliseconds(1500));
  CHECK(elapsed < std::chrono::seconds(5));
}

TEST_CASE("PostgreSQL restarting mid-session: the next query fails promptly, new clients then succeed",
          "[backend][restart]") {
  std::unique_ptr<PostgresServer> own = PostgresServer::StartPrivate();  // restarted below
  PostgresServer& server = *own;
  TestDatabase db = server.CreateTestDatabase("restart");
  ProxyProcess proxy(StandardConfig(db));

  PgConn in_session = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  CHECK(QueryValue(in_session.get(), "SELECT 1") == "1");
  {
    // Leaves an idle server connection in the pool, which the restart kills too.
    PgConn earlier = MustConnectProxy(proxy, "bob", kBobPassword, "app");
    CHECK(QueryValue(earlier.get(), "SELECT 1") == "1");
  }

  server.Restart();

  auto results = ExecWithTimeout(in_session.get(), "SELECT 1", std::chrono::seconds(10));
  REQUIRE(results.has_value());  // an answer, not a hang
  REQUIRE_FALSE(results->empty());
  INFO(PQresultErrorMessage(results->front().get()));
  CHECK(PQresultStatus(results->front().get()) == PGRES_FATAL_ERROR);

  PgConn after = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  CHECK(QueryValue(after.get(), "SELECT 'after restart'") == "after restart");
  PgConn another = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  CHECK(QueryValue(another.get(), "SELECT 'and again'") == "and again");
}

}  // namespace
}  // namespace pgtenant::integration
