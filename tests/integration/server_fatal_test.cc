// When the server ends a session (pg_terminate_backend, a crash), the client hears it as from
// PostgreSQL itself: the server's FATAL and nothing after it, then the connection closes; only a
// server that goes away without a word gets pgtenant's own FATAL 08006 (issue 23, item 4).
#include <catch2/catch.hpp>
#include <arpa/inet.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/harness/net.h"
#include "tests/integration/harness/poll.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

constexpr auto kAnswerTimeout = std::chrono::seconds(10);

// Sends one simple Query and reads up to its ReadyForQuery; throws if none comes.
std::vector<BackendMessage> SimpleQuery(RawClient& raw, const std::string& sql) {
  REQUIRE(raw.Send(Message('Q', sql + '\0')));
  std::vector<BackendMessage> messages;
  while (true) {
    std::optional<BackendMessage> m = raw.Read(kAnswerTimeout);
    REQUIRE(m.has_value());
    messages.push_back(*m);
    if (m->type == 'Z') return messages;
  }
}

// The first column of the first DataRow of a simple query.
std::string FirstValue(RawClient& raw, const std::string& sql) {
  for (const BackendMessage& m : SimpleQuery(raw, sql)) {
    if (m.type != 'D' || m.body.size() < 6) continue;
    uint32_t length = 0;
    std::memcpy(&length, m.body.data() + 2, 4);
    length = ntohl(length);
    return m.body.substr(6, length);
  }
  FAIL("no row for " << sql);
  return "";
}

// Everything the client receives until the connection closes (a hang fails the test).
std::vector<BackendMessage> ReadUntilClosed(RawClient& raw) {
  std::vector<BackendMessage> messages;
  const auto deadline = std::chrono::steady_clock::now() + kAnswerTimeout;
  while (!raw.closed() && std::chrono::steady_clock::now() < deadline) {
    if (std::optional<BackendMessage> m = raw.Read(std::chrono::milliseconds(500))) messages.push_back(*m);
  }
  REQUIRE(raw.closed());
  return messages;
}

// The ErrorResponses among `messages`, as field maps.
std::vector<std::map<char, std::string>> Errors(const std::vector<BackendMessage>& messages) {
  std::vector<std::map<char, std::string>> errors;
  for (const BackendMessage& m : messages)
    if (m.type == 'E') errors.push_back(ParseErrorFields(m.body));
  return errors;
}

std::string Types(const std::vector<BackendMessage>& messages) {
  std::string types;
  for (const BackendMessage& m : messages) types += m.type;
  return types;
}

// The client heard exactly one error, last: the server's FATAL 57P01, then the close.
void CheckOnlyTheServersFatal(const std::vector<BackendMessage>& messages) {
  INFO("messages: " << Types(messages));
  const auto errors = Errors(messages);
  REQUIRE(errors.size() == 1);
  CHECK(messages.back().type == 'E');
  CHECK(errors[0].at('S') == "FATAL");
  CHECK(errors[0].at('C') == "57P01");
  CHECK(errors[0].at('M') == "terminating connection due to administrator command");
}

void TerminateBackend(PostgresServer& server, const std::string& pid) {
  CHECK(server.Exec("SELECT pg_terminate_backend(" + pid + ")").at(0).at(0) == "t");
}

TEST_CASE("pg_terminate_backend of an idle session: PostgreSQL sends FATAL 57P01 alone, and so does pgtenant",
          "[backend][server_fatal]") {
  PostgresServer& server = PostgresServer::Shared();
  TestDatabase db = server.CreateTestDatabase("server_fatal");

  SECTION("PostgreSQL itself") {
    RawClient raw(server.port());
    REQUIRE(raw.Login(db.role, db.password, db.database).empty());
    TerminateBackend(server, FirstValue(raw, "SELECT pg_backend_pid()"));
    CheckOnlyTheServersFatal(ReadUntilClosed(raw));
  }
  SECTION("through pgtenant, session pooling") {
    ProxyProcess proxy(StandardConfig(db));
    RawClient raw(proxy.port());
    REQUIRE(raw.Login("alice", kAlicePassword, "app").empty());
    TerminateBackend(server, FirstValue(raw, "SELECT pg_backend_pid()"));
    CheckOnlyTheServersFatal(ReadUntilClosed(raw));
  }
}

TEST_CASE("transaction pooling: a server terminated inside a transaction sends its FATAL alone; one terminated "
          "between transactions is replaced unseen",
          "[backend][server_fatal][pool]") {
  PostgresServer& server = PostgresServer::Shared();
  TestDatabase db = server.CreateTestDatabase("server_fatal_tx");
  ProxyConfig config = StandardConfig(db);
  config.pool_mode = "transaction";
  config.pool_size = 1;
  ProxyProcess proxy(config);

  RawClient raw(proxy.port());
  REQUIRE(raw.Login("alice", kAlicePassword, "app").empty());
  // Between transactions the client holds no server: its loss is the pool's business.
  const std::string idle_pid = FirstValue(raw, "SELECT pg_backend_pid()");
  TerminateBackend(server, idle_pid);
  REQUIRE(PollUntil(
      [&] { return server.Exec("SELECT count(*) FROM pg_stat_activity WHERE pid = " + idle_pid).at(0).at(0) == "0"; },
      kAnswerTimeout));
  const std::vector<BackendMessage> after = SimpleQuery(raw, "SELECT 'still here'");
  INFO("messages: " << Types(after));
  CHECK(Errors(after).empty());

  SimpleQuery(raw, "BEGIN");
  const std::string pid = FirstValue(raw, "SELECT pg_backend_pid()");
  CHECK(pid != idle_pid);
  TerminateBackend(server, pid);
  CheckOnlyTheServersFatal(ReadUntilClosed(raw));
}

TEST_CASE("a server terminated in the middle of a COPY or a pipeline: its FATAL is the last the client gets",
          "[backend][server_fatal][copy]") {
  PostgresServer& server = PostgresServer::Shared();
  TestDatabase db = server.CreateTestDatabase("server_fatal_mid");
  server.Exec("CREATE TABLE sink (x int); ALTER TABLE sink OWNER TO " + db.role, db.database);
  ProxyConfig config = StandardConfig(db);
  config.pool_mode = GENERATE(std::string("session"), std::string("transaction"));
  config.pool_size = 1;  // transaction pooling: every transaction of the client on the same server
  INFO("pool mode " << config.pool_mode);
  ProxyProcess proxy(config);
  RawClient raw(proxy.port());
  REQUIRE(raw.Login("alice", kAlicePassword, "app").empty());

  SECTION("COPY TO STDOUT, stalled after its first rows") {
    const std::string copy =
        "COPY (SELECT g, pg_sleep(CASE WHEN g = 3 THEN 60 ELSE 0 END) FROM generate_series(1, 5) g) TO STDOUT";
    REQUIRE(raw.Send(Message('Q', "SELECT pg_backend_pid()" + std::string(1, '\0')) + Message('Q', copy + '\0')));
    std::string pid;
    while (pid.empty()) {
      std::optional<BackendMessage> m = raw.Read(kAnswerTimeout);
      REQUIRE(m.has_value());
      if (m->type == 'D') pid = m->body.substr(6);
    }
    REQUIRE(server.AwaitActiveQuery(db.database, copy, kAnswerTimeout));
    TerminateBackend(server, pid);
    const std::vector<BackendMessage> messages = ReadUntilClosed(raw);
    CHECK(Types(messages).find('H') != std::string::npos);
    CheckOnlyTheServersFatal(messages);
  }
  SECTION("COPY FROM STDIN, waiting for data") {
    const std::string pid = FirstValue(raw, "SELECT pg_backend_pid()");
    REQUIRE(raw.Send(Message('Q', std::string("COPY sink FROM STDIN") + '\0')));
    std::optional<BackendMessage> copy_in = raw.Read(kAnswerTimeout);
    REQUIRE(copy_in.has_value());
    REQUIRE(copy_in->type == 'G');
    REQUIRE(raw.Send(Message('d', "1\n2\n")));
    TerminateBackend(server, pid);
    CheckOnlyTheServersFatal(ReadUntilClosed(raw));
  }
  SECTION("a pipeline of queries, the second running") {
    const std::string pid = FirstValue(raw, "SELECT pg_backend_pid()");
    REQUIRE(raw.Send(Message('Q', std::string("BEGIN") + '\0') + Message('Q', std::string("SELECT 1") + '\0') +
                     Message('Q', std::string("SELECT pg_sleep(60)") + '\0') +
                     Message('Q', std::string("SELECT 2") + '\0')));
    REQUIRE(server.AwaitActiveQuery(db.database, "SELECT pg_sleep(60)", kAnswerTimeout));
    TerminateBackend(server, pid);
    const std::vector<BackendMessage> messages = ReadUntilClosed(raw);
    CHECK(Types(messages).find("CZTDCZ") != std::string::npos);  // BEGIN's and SELECT 1's answers came first
    CheckOnlyTheServersFatal(messages);
  }
}

TEST_CASE("a server that dies without a word (SIGKILL): the client gets pgtenant's FATAL 08006 alone",
          "[backend][server_fatal]") {
  std::unique_ptr<PostgresServer> own = PostgresServer::StartPrivate();  // a killed backend restarts it
  TestDatabase db = own->CreateTestDatabase("server_killed");
  ProxyProcess proxy(StandardConfig(db));
  RawClient raw(proxy.port());
  REQUIRE(raw.Login("alice", kAlicePassword, "app").empty());
  const std::string pid = FirstValue(raw, "SELECT pg_backend_pid()");
  REQUIRE(kill(static_cast<pid_t>(std::stol(pid)), SIGKILL) == 0);
  const std::vector<BackendMessage> messages = ReadUntilClosed(raw);
  INFO("messages: " << Types(messages));
  const auto errors = Errors(messages);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].at('S') == "FATAL");
  CHECK(errors[0].at('C') == "08006");
  CHECK_THAT(errors[0].at('M'), Catch::Contains("app"));
}

}  // namespace
}  // namespace pgtenant::integration
