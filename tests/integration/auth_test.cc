// Client authentication at pgtenant: SCRAM-SHA-256 against the verifiers in its config, and refusals that
// tell nothing about which users exist.
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <string>

#include "tests/integration/harness/net.h"
#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

std::string WithoutUserName(std::string message, const std::string& user) {
  for (size_t at = message.find(user); at != std::string::npos; at = message.find(user, at)) {
    message.replace(at, user.size(), "<user>");
  }
  return message;
}

TEST_CASE("users of the config log in with SCRAM-SHA-256", "[auth]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("auth");
  ProxyProcess proxy(StandardConfig(db));

  PgConn alice = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  PgConn bob = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  CHECK(QueryValue(alice.get(), "SELECT 'alice in'") == "alice in");
  CHECK(QueryValue(bob.get(), "SELECT 'bob in'") == "bob in");

  // The raw client checks each SCRAM step: SASL offered, then SASLContinue, SASLFinal, AuthenticationOk.
  RawClient raw(proxy.port());
  CHECK(raw.Login("alice", kAlicePassword, "app").empty());
}

TEST_CASE("a wrong password and an unknown user get the same FATAL 28P01", "[auth]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("auth");
  ProxyProcess proxy(StandardConfig(db));

  PgConn wrong_password = ConnectProxy(proxy, "alice", "not-alices-password", "app");
  REQUIRE(PQstatus(wrong_password.get()) == CONNECTION_BAD);
  const std::string wrong_error = PQerrorMessage(wrong_password.get());
  INFO("wrong password: " << wrong_error);
  CHECK(StartupSqlstate(wrong_password.get()) == "28P01");

  PgConn unknown_user = ConnectProxy(proxy, "mallory", "whatever", "app");
  REQUIRE(PQstatus(unknown_user.get()) == CONNECTION_BAD);
  const std::string unknown_error = PQerrorMessage(unknown_user.get());
  INFO("unknown user: " << unknown_error);
  CHECK(StartupSqlstate(unknown_user.get()) == "28P01");

  // Same words for both; like PostgreSQL, the message may repeat the user name the client sent.
  CHECK(WithoutUserName(PrimaryMessageOf(wrong_error), "alice") ==
        WithoutUserName(PrimaryMessageOf(unknown_error), "mallory"));

  // A refusal does not poison the next login.
  PgConn alice = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  CHECK(QueryValue(alice.get(), "SELECT 1") == "1");
}

TEST_CASE("the wire exchange of a refused login ends with one ErrorResponse and a closed socket", "[auth]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("auth");
  ProxyProcess proxy(StandardConfig(db));

  RawClient raw(proxy.port());
  auto refused = raw.Login("alice", "bad-password", "app");
  CHECK(refused['S'] == "FATAL");
  CHECK(refused['C'] == "28P01");
  CHECK(raw.WaitForClose(std::chrono::seconds(5)));

  RawClient good(proxy.port());
  CHECK(good.Login("alice", kAlicePassword, "app").empty());
}

}  // namespace
}  // namespace pgtenant::integration
