// Malformed packets: the offending client gets FATAL 08P01 and is closed; nobody else notices. (Messages
// over a size limit get an ERROR and the session goes on: message_limits_test.cc.)
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <optional>
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

// A client that gives up before its startup packet: PostgreSQL answers nothing and closes.
void CheckClosedWithoutAWord(RawClient& raw) {
  std::optional<BackendMessage> answer = raw.Read(kAnswerTimeout);
  if (answer.has_value()) FAIL("got a message of type '" << answer->type << "': " << answer->body);
  CHECK(raw.closed());
}

TEST_CASE("a Terminate before any startup packet closes the connection without a word, as PostgreSQL does",
          "[malformed][startup]") {
  PostgresServer& server = PostgresServer::Shared();
  TestDatabase db = server.CreateTestDatabase("terminate_first");
  ProxyProcess proxy(StandardConfig(db));
  PgConn bystander = MustConnectProxy(proxy, "alice", kAlicePassword, "app");

  SECTION("PostgreSQL itself") {
    RawClient raw(server.port());
    REQUIRE(raw.Send(Message('X', "")));
    CheckClosedWithoutAWord(raw);
  }
  SECTION("pgtenant, Terminate in one write") {
    RawClient raw(proxy.port());
    REQUIRE(raw.Send(Message('X', "")));
    CheckClosedWithoutAWord(raw);
  }
  SECTION("pgtenant, Terminate cut in two writes") {
    RawClient raw(proxy.port());
    REQUIRE(raw.Send(std::string("X\0\0", 3)));
    CHECK_FALSE(raw.Read(std::chrono::milliseconds(300)).has_value());  // waits for the rest
    CHECK_FALSE(raw.closed());
    REQUIRE(raw.Send(std::string("\0\4", 2)));
    CheckClosedWithoutAWord(raw);
  }
  SECTION("pgtenant, Terminate after an SSLRequest answered 'N'") {
    RawClient raw(proxy.port());
    REQUIRE(raw.Send(Int32(8) + Int32(80877103)));
    char answer = 0;
    pollfd pfd{raw.fd(), POLLIN, 0};
    REQUIRE(poll(&pfd, 1, 5000) == 1);
    REQUIRE(recv(raw.fd(), &answer, 1, 0) == 1);
    REQUIRE(answer == 'N');
    REQUIRE(raw.Send(Message('X', "")));
    CheckClosedWithoutAWord(raw);
  }
  SECTION("pgtenant, a connection closed before any byte") {
    RawClient raw(proxy.port());
    REQUIRE(shutdown(raw.fd(), SHUT_WR) == 0);  // the proxy reads end of file, the client still listens
    CheckClosedWithoutAWord(raw);
  }
  CheckOthersUnaffected(proxy, bystander.get());
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


TEST_CASE("a Flush longer than PostgreSQL takes gets FATAL 08P01 and never reaches the pooled server", "[malformed]") {
  // PostgreSQL drops a connection that announces a Flush over 10,000 bytes without a word. Forwarded
  // after a Query in the same write, the server went back to the pool on the Query's ReadyForQuery
  // and died there, under the tenant's next client.
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("malformed");
  ProxyConfig config = StandardConfig(db);
  config.pool_mode = "transaction";
  config.pool_size = 1;  // every client of the tenant gets the same server connection
  ProxyProcess proxy(config);
  PgConn bystander = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  const std::string server_pid = QueryValue(bystander.get(), "SELECT pg_backend_pid()");

  RawClient raw(proxy.port());
  REQUIRE(raw.Login("bob", kBobPassword, "app").empty());
  REQUIRE(raw.Send("H" + Int32(12004) + std::string(12000, 'x')));
  CheckProtocolViolation(raw);  // not 08006 for a server connection lost under it
  CHECK(QueryValue(bystander.get(), "SELECT pg_backend_pid()") == server_pid);
  CheckOthersUnaffected(proxy, bystander.get());
}

TEST_CASE("a client gone halfway through a CopyData leaves no server connection waiting for the rest",
          "[malformed]") {
  // PostgreSQL reads the rest of a message from whatever comes next. Given back to the pool, the
  // server took the next client's first message for that rest and never answered it (random blobs
  // found it: a login waited out connect_timeout). pool_wait_timeout (5 s) is below connect_timeout
  // (10 s), so a server left to time out fails the next client here.
  for (const std::string mode : {"transaction", "session"}) {
    INFO("pool mode " << mode);
    TestDatabase db = PostgresServer::Shared().CreateTestDatabase("malformed");
    ProxyConfig config = StandardConfig(db);
    config.pool_mode = mode;
    config.pool_size = 1;  // the next client gets the same server connection, or a new one
    ProxyProcess proxy(config);
    {
      RawClient raw(proxy.port());
      REQUIRE(raw.Login("bob", kBobPassword, "app").empty());
      // The Query's answer proves the server holds the CopyData's first 10 of 1,000 bytes.
      REQUIRE(raw.Send(Message('Q', std::string("SELECT 1") + '\0') + "d" + Int32(1004) + std::string(10, 'x')));
      std::optional<BackendMessage> answer;
      do {
        answer = raw.Read(kAnswerTimeout);
      } while (answer.has_value() && answer->type != 'Z');
      REQUIRE(answer.has_value());
    }  // closed without a Terminate
    PgConn next = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
    std::optional<std::vector<PgResult>> results = ExecWithTimeout(next.get(), "SELECT 'answered'", kAnswerTimeout);
    REQUIRE(results.has_value());
    REQUIRE(results->size() == 1);
    CHECK(PQgetvalue((*results)[0].get(), 0, 0) == std::string("answered"));
  }
}

}  // namespace
}  // namespace pgtenant::integration
