// Malformed and oversize packets: the offending client gets FATAL 08P01 and is closed; nobody else notices.
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <chrono>
#include <string>

#include "tests/integration/harness/net.h"
#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

constexpr auto kAnswerTimeout = std::chrono::seconds(5);

// Another client, connected before the bad one, keeps working; and new clients still get in.
void CheckOthersUnaffected(const ProxyProcess& proxy, PGconn* bystander) {
  CHECK(QueryValue(bystander, "SELECT 'bystander fine'") == "bystander fine");
  PgConn newcomer = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  CHECK(QueryValue(newcomer.get(), "SELECT 'newcomer fine'") == "newcomer fine");
}

void CheckProtocolViolation(RawClient& raw) {
  auto error = raw.ReadError(kAnswerTimeout);
  REQUIRE(error.has_value());
  CHECK((*error)['S'] == "FATAL");
  CHECK((*error)['C'] == "08P01");
  CHECK_FALSE((*error)['M'].empty());
  CHECK(raw.WaitForClose(kAnswerTimeout));
}

TEST_CASE("a startup packet with length 3 gets FATAL 08P01", "[malformed]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("malformed");
  ProxyProcess proxy(StandardConfig(db));
  PgConn bystander = MustConnectProxy(proxy, "alice", kAlicePassword, "app");

  RawClient raw(proxy.port());
  REQUIRE(raw.Send(Int32(3)));
  CheckProtocolViolation(raw);
  CheckOthersUnaffected(proxy, bystander.get());
}

TEST_CASE("a startup packet announcing 100 MB gets FATAL 08P01 without the proxy waiting for it", "[malformed]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("malformed");
  ProxyProcess proxy(StandardConfig(db));
  PgConn bystander = MustConnectProxy(proxy, "alice", kAlicePassword, "app");

  RawClient raw(proxy.port());
  REQUIRE(raw.Send(Int32(100 * 1024 * 1024) + Int32(196608)));
  CheckProtocolViolation(raw);
  CheckOthersUnaffected(proxy, bystander.get());
}

TEST_CASE("a startup packet with an unknown protocol version is refused", "[malformed]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("malformed");
  ProxyProcess proxy(StandardConfig(db));

  RawClient raw(proxy.port());
  std::string packet = StartupPacket({{"user", "alice"}, {"database", "app"}});
  packet.replace(4, 4, Int32(2u << 16));  // protocol 2.0
  REQUIRE(raw.Send(packet));
  auto error = raw.ReadError(kAnswerTimeout);
  REQUIRE(error.has_value());
  CHECK((*error)['S'] == "FATAL");
  CHECK(raw.WaitForClose(kAnswerTimeout));
}

TEST_CASE("after login, a message with length 2 gets FATAL 08P01", "[malformed]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("malformed");
  ProxyProcess proxy(StandardConfig(db));
  PgConn bystander = MustConnectProxy(proxy, "alice", kAlicePassword, "app");

  RawClient raw(proxy.port());
  REQUIRE(raw.Login("bob", kBobPassword, "app").empty());
  REQUIRE(raw.Send(std::string("Q") + Int32(2)));
  CheckProtocolViolation(raw);
  CheckOthersUnaffected(proxy, bystander.get());
}

TEST_CASE("a Query longer than max_query_size gets FATAL 08P01 as soon as its header arrives", "[malformed][limits]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("oversize");
  ProxyProcess proxy(StandardConfig(db));  // max_query_size 1MB
  PgConn bystander = MustConnectProxy(proxy, "alice", kAlicePassword, "app");

  RawClient raw(proxy.port());
  REQUIRE(raw.Login("bob", kBobPassword, "app").empty());
  // Announce 2 MB but send only the start: the header alone must be enough to refuse it.
  REQUIRE(raw.Send(std::string("Q") + Int32(2 * 1024 * 1024 + 4) + "SELECT '" + std::string(1000, 'x')));
  CheckProtocolViolation(raw);
  CheckOthersUnaffected(proxy, bystander.get());
}

TEST_CASE("a libpq client sending an oversize query loses its connection, others do not", "[malformed][limits]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("oversize");
  ProxyProcess proxy(StandardConfig(db));  // max_query_size 1MB
  PgConn bystander = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  PgConn offender = MustConnectProxy(proxy, "bob", kBobPassword, "app");

  auto results = ExecWithTimeout(offender.get(), "SELECT length('" + std::string(2 * 1024 * 1024, 'x') + "')",
                                 std::chrono::seconds(10));
  REQUIRE(results.has_value());  // an answer, not a hang
  REQUIRE_FALSE(results->empty());
  CHECK(PQresultStatus(results->front().get()) == PGRES_FATAL_ERROR);
  const std::string state = Sqlstate(results->front().get());
  INFO("offender's error: " << PQresultErrorMessage(results->front().get()));
  // 08P01 when the ErrorResponse is read before the close; libpq reports a lost connection otherwise.
  CHECK((state == "08P01" || state.empty()));
  auto after = ExecWithTimeout(offender.get(), "SELECT 1", std::chrono::seconds(5));
  REQUIRE(after.has_value());
  CHECK(PQstatus(offender.get()) == CONNECTION_BAD);

  CheckOthersUnaffected(proxy, bystander.get());
}

}  // namespace
}  // namespace pgtenant::integration
