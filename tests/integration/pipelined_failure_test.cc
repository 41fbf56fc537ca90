// A message the proxy refuses while earlier messages of the same read are still unsent: the client
// gets its error, the proxy keeps running and serves everyone else (issue 22: Sync + an oversized
// Close in one write used to flush the Sync to a server the session had already given back).
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/integration/harness/net.h"
#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

constexpr auto kAnswerTimeout = std::chrono::seconds(20);

std::string Sync() { return Message('S', ""); }
std::string Query(const std::string& sql) { return Message('Q', sql + std::string(1, '\0')); }
std::string Parse(const std::string& name, const std::string& sql) {
  return Message('P', name + std::string(1, '\0') + sql + std::string(1, '\0') + std::string(2, '\0'));
}

// What precedes the refused message in the same write.
struct Prefix {
  const char* name;
  std::string bytes;
};
std::vector<Prefix> Prefixes() {
  return {{"Sync", Sync()}, {"Query", Query("SELECT 1")}, {"Parse", Parse("", "SELECT 1")}};
}

// The refused message, and what the proxy answers it with under transaction pooling and under
// session pooling (nullptr: it goes to PostgreSQL, whose answer is not asserted).
struct Refused {
  const char* name;
  std::string bytes;
  const char* sqlstate;
  const char* session_sqlstate;
};
std::vector<Refused> RefusedMessages() {
  // The 14-byte sequence of issue 22 without its Sync: a Close (or Describe) announcing ~620 MB.
  const std::string huge_length = "\x24\xf5\x82\x4c";
  return {
      {"Close with a huge length", "C" + huge_length + "xxxx", "08P01", "08P01"},
      {"Describe with a huge length", "D" + huge_length + "xxxx", "08P01", "08P01"},
      {"Bind with an unterminated name", Message('B', "portal-without-nul"), "08P01", nullptr},
  };
}

ProxyConfig ConfigFor(const TestDatabase& db, const std::string& pool_mode) {
  ProxyConfig config = StandardConfig(db);
  config.pool_mode = pool_mode;
  return config;
}

// Reads until ReadyForQuery; false on an error, a close or a timeout.
bool ReadUntilReady(RawClient& raw) {
  for (;;) {
    auto message = raw.Read(kAnswerTimeout);
    if (!message || message->type == 'E') return false;
    if (message->type == 'Z') return true;
  }
}

// The client that sent the refused message gets FATAL `expected_sqlstate` and is closed (nullptr:
// whatever PostgreSQL answers, but an answer, not a hang); nobody else notices, and the proxy is
// still there.
void CheckRefusedAndOthersServed(RawClient& raw, const ProxyProcess& proxy, PGconn* bystander,
                                 const char* expected_sqlstate) {
  if (expected_sqlstate != nullptr) {
    auto error = raw.ReadError(kAnswerTimeout);
    REQUIRE(error.has_value());
    CHECK((*error)['S'] == "FATAL");
    CHECK((*error)['C'] == expected_sqlstate);
    CHECK_FALSE((*error)['M'].empty());
    CHECK(raw.WaitForClose(kAnswerTimeout));
  } else {
    // PostgreSQL's own answer: an ERROR and ReadyForQuery, or a closed connection; never silence.
    bool answered = false;
    while (!answered) {
      auto message = raw.Read(kAnswerTimeout);
      if (!message) break;
      answered = message->type == 'Z';
    }
    CHECK((answered || raw.closed()));
  }
  CHECK(QueryValue(bystander, "SELECT 'bystander fine'") == "bystander fine");
  PgConn newcomer = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  CHECK(QueryValue(newcomer.get(), "SELECT 'newcomer fine'") == "newcomer fine");
}

TEST_CASE("the 14-byte Sync + huge Close sequence of issue 22 leaves the proxy serving", "[malformed][pipeline]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("pipefail");
  for (const std::string mode : {"transaction", "session"}) {
    SECTION(mode) {
      ProxyProcess proxy(ConfigFor(db, mode));
      PgConn bystander = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
      RawClient raw(proxy.port());
      REQUIRE(raw.Login("bob", kBobPassword, "app").empty());
      REQUIRE(raw.Send(std::string("\x53\x00\x00\x00\x04\x43\x24\xf5\x82\x4c\x78\x78\x78\x78", 14)));
      // A length PostgreSQL would drop the connection for never reaches it, in either mode.
      CheckRefusedAndOthersServed(raw, proxy, bystander.get(), "08P01");
    }
  }
}

TEST_CASE("a refused message after Sync, Query or Parse in the same write leaves the proxy serving",
          "[malformed][pipeline]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("pipefail");
  for (const std::string mode : {"transaction", "session"}) {
    SECTION(mode) {
      ProxyProcess proxy(ConfigFor(db, mode));
      PgConn bystander = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
      for (const Prefix& prefix : Prefixes()) {
        for (const Refused& refused : RefusedMessages()) {
          INFO(mode << ": " << prefix.name << " + " << refused.name);
          RawClient raw(proxy.port());
          REQUIRE(raw.Login("bob", kBobPassword, "app").empty());
          REQUIRE(raw.Send(prefix.bytes + refused.bytes + Sync()));
          // Session pooling hands the Bind to PostgreSQL, which answers in its own way (an ERROR):
          // there only the proxy's survival is asserted.
          CheckRefusedAndOthersServed(raw, proxy, bystander.get(),
                                      mode == "transaction" ? refused.sqlstate : refused.session_sqlstate);
        }
      }
    }
  }
}

TEST_CASE("the 10,001st prepared statement pipelined after Sync, Query or Parse is refused, the proxy serves on",
          "[malformed][pipeline][prepared]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("pipefail");
  for (const std::string mode : {"transaction", "session"}) {
    SECTION(mode) {
      ProxyProcess proxy(ConfigFor(db, mode));
      PgConn bystander = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
      std::string ten_thousand;
      for (int i = 0; i < 10000; ++i) ten_thousand += Parse("s" + std::to_string(i), "SELECT " + std::to_string(i));
      ten_thousand += Sync();
      for (const Prefix& prefix : Prefixes()) {
        INFO(mode << ": " << prefix.name << " + Parse s10000");
        RawClient raw(proxy.port());
        REQUIRE(raw.Login("bob", kBobPassword, "app").empty());
        REQUIRE(raw.Send(ten_thousand));
        REQUIRE(ReadUntilReady(raw));
        REQUIRE(raw.Send(prefix.bytes + Parse("s10000", "SELECT 10000") + Sync()));
        if (mode == "session") {
          // PostgreSQL has no such limit: the statement is prepared like the others.
          REQUIRE(ReadUntilReady(raw));
          if (prefix.name != std::string("Parse")) REQUIRE(ReadUntilReady(raw));
          continue;
        }
        CheckRefusedAndOthersServed(raw, proxy, bystander.get(), "54000");
      }
    }
  }
}

}  // namespace
}  // namespace pgtenant::integration
