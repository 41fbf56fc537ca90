// The relay in both pool modes against a well-formed fake server: every scenario fed whole and
// again split at every byte (relay_split.h).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "protocol/wire.h"
#include "relay/relay.h"
#include "tests/relay/client_messages.h"
#include "tests/relay/relay_split.h"

namespace pgtenant::relay::testing {
namespace {

using Mode = Relay::PoolMode;

const char* Name(Mode mode) { return mode == Mode::kSession ? "session pooling" : "transaction pooling"; }

TEST_CASE("a simple query is answered with its rows and one ReadyForQuery", "[relay]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  RunResult r = RunEverySplit(mode, {Query("select 1")});
  CHECK(Tags(r.to_client) == "T D D C Z(I)");
  CHECK(r.events.empty());
}

TEST_CASE("the extended protocol with the unnamed statement passes through in order", "[relay]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  RunResult r = RunEverySplit(mode, {Parse("", "select 1") + Bind("", "") + Describe('P', "") + Execute() + Sync()});
  CHECK(Tags(r.to_client) == "1 2 T D D C Z(I)");
}

TEST_CASE("a pipeline of named statements, binds and queries gets every answer in order", "[relay]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  RunResult r = RunEverySplit(mode, {Parse("s1", "select a") + Parse("s2", "select b") + Describe('S', "s1") + Sync() +
                                         Bind("", "s1") + Execute() + Bind("", "s2") + Execute() + Sync() +
                                         Query("select c") + Bind("", "s2", "w") + Execute() + Sync()});
  CHECK(Tags(r.to_client) == "1 1 t T Z(I) 2 D D C 2 D D C Z(I) T D D C Z(I) 2 D D C Z(I)");
}

TEST_CASE("an error mid-pipeline skips to Sync, and the statements after it still work", "[relay]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  RunResult r = RunEverySplit(mode, {Parse("ok", "select 1") + Parse("bad", "fail now") + Sync(),
                                     Bind("", "bad") + Execute() + Bind("", "ok") + Execute() + Sync() +
                                         Bind("", "ok") + Execute() + Sync()});
  CHECK(Tags(r.to_client) == "1 1 Z(I) 2 E(22012) Z(I) 2 D D C Z(I)");
}

TEST_CASE("a Parse that fails skips the rest of its segment; the name is prepared again later", "[relay]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  // The first Parse fails on the server (the blocked marker does not parse), so s1's Parse after it
  // is skipped: s1 must not be believed to exist on that server.
  RunResult r = RunEverySplit(mode, {Parse("", "select forbidden") + Parse("s1", "select 1") + Sync(),
                                     Parse("s1", "select 1") + Bind("", "s1") + Execute() + Sync()});
  CHECK(Tags(r.to_client) == "E(42501) Z(I) 1 2 D D C Z(I)");
}

TEST_CASE("COPY in and COPY out stream through", "[relay][copy]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  RunResult in = RunEverySplit(mode, {Query("copy t in"), CopyData("1\n") + CopyData("2\n") + CopyDone()});
  CHECK(Tags(in.to_client) == "G C Z(I)");
  RunResult failed = RunEverySplit(mode, {Query("copy t in"), CopyData("1\n") + CopyFail("no")});
  CHECK(Tags(failed.to_client) == "G E(57014) Z(I)");
  RunResult out = RunEverySplit(mode, {Query("copy t out")});
  CHECK(Tags(out.to_client) == "H d d c C Z(I)");
}

TEST_CASE("a transaction holds its server until ReadyForQuery says idle", "[relay]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  RunResult r = RunEverySplit(mode, {Query("begin"), Query("select 1"), Query("fail"), Query("select 2"),
                                     Query("rollback"), Query("select 3")});
  CHECK(Tags(r.to_client) == "C Z(T) T D D C Z(T) E(22012) Z(E) E(25P02) Z(E) C Z(I) T D D C Z(I)");
  RelayDriver driver(mode);
  driver.ClientSends(Query("begin"));
  CHECK(driver.relay().in_transaction());
  CHECK(driver.holds_server());
  driver.ClientSends(Query("commit"));
  CHECK_FALSE(driver.relay().in_transaction());
  CHECK(driver.holds_server() == (mode == Mode::kSession));
}

TEST_CASE("transaction pooling gives the server back after each transaction", "[relay][pool]") {
  RelayDriver driver(Mode::kTransaction);
  driver.ClientSends(Query("select 1"));
  CHECK_FALSE(driver.holds_server());
  driver.ClientSends(Query("select 2"));
  CHECK(driver.servers_acquired == 2);
  CHECK(driver.events == std::vector<std::string>{"end-of-transaction", "release", "end-of-transaction", "release"});
}

TEST_CASE("prepared statements are renamed and prepared again on another server connection", "[relay][pool]") {
  RunResult r = RunEverySplit(Mode::kTransaction, {Parse("s1", "select 1") + Sync(), Bind("", "s1") + Execute() + Sync(),
                                                   Bind("", "s1") + Execute() + Sync(), Describe('S', "s1") + Sync(),
                                                   Close('S', "s1") + Sync(), Bind("", "s1") + Execute() + Sync()});
  // Every Bind lands on whichever server is free; the client never sees the re-preparation. After its
  // Close, s1 is unknown again: the server says so.
  CHECK(Tags(r.to_client) == "1 Z(I) 2 D D C Z(I) 2 D D C Z(I) t T Z(I) 3 Z(I) E(26000) Z(I)");

  RelayDriver driver(Mode::kTransaction);
  driver.ClientSends(Parse("s1", "select 1") + Sync());
  driver.ClientSends(Bind("", "s1") + Execute() + Sync());
  CHECK(driver.servers_acquired == 2);
}

TEST_CASE("a Parse of a statement the server already has is answered by pgtenant, in order", "[relay][pool]") {
  RunResult r = RunEverySplit(Mode::kTransaction, {Parse("a", "select 1") + Sync(), Parse("b", "select 2") + Sync(),
                                                   Parse("c", "select 1") + Parse("d", "select 2") + Bind("", "c") +
                                                       Execute() + Sync()});
  CHECK(Tags(r.to_client) == "1 Z(I) 1 Z(I) 1 1 2 D D C Z(I)");
}

TEST_CASE("a blocked statement gets pgtenant's error in place of the server's", "[relay][policy]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  RunResult simple = RunEverySplit(mode, {Query("select forbidden"), Query("select 1")});
  CHECK(Tags(simple.to_client) == "E(42501) Z(I) T D D C Z(I)");
  RunResult extended = RunEverySplit(mode, {Parse("s", "select forbidden") + Bind("", "s") + Execute() + Sync() +
                                            Query("select 2")});
  CHECK(Tags(extended.to_client) == "E(42501) Z(I) T D D C Z(I)");
  RunResult function = RunEverySplit(mode, {FunctionCall() + Query("select 3")});
  CHECK(Tags(function.to_client) == "V Z(I) T D D C Z(I)");
}

TEST_CASE("a blocked statement inside a transaction aborts it as the server would", "[relay][policy]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  RunResult r = RunEverySplit(mode, {Query("begin"), Query("select forbidden"), Query("select 1"), Query("rollback")});
  CHECK(Tags(r.to_client) == "C Z(T) E(42501) Z(E) E(25P02) Z(E) C Z(I)");
}

TEST_CASE("a rejected request (no server, or canceled while waiting) is skipped up to its end", "[relay][cancel]") {
  for (const std::string& request :
       {Query("select 1"), Parse("", "select 1") + Bind("", "") + Execute() + Sync(), FunctionCall()}) {
    RelayDriver driver(Mode::kTransaction);
    REQUIRE(driver.relay().Reject(Status::Error("57014", "canceling statement due to user request")));
    for (size_t split = 0; split <= request.size(); ++split) {
      RelayDriver d(Mode::kTransaction);
      REQUIRE(d.relay().Reject(Status::Error("57014", "canceling statement due to user request")));
      d.ClientSends(request.substr(0, split));
      d.ClientSends(request.substr(split) + Query("select 2"));
      INFO("split at " << split);
      CHECK(Tags(d.to_client) == "E(57014) Z(I) T D D C Z(I)");
    }
  }
}

TEST_CASE("Terminate closes the session; nothing after it is forwarded", "[relay]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  RunResult r = RunEverySplit(mode, {Query("select 1"), Terminate() + Query("select 2")});
  CHECK(Tags(r.to_client) == "T D D C Z(I)");
  CHECK(r.events == std::vector<std::string>{"close"});
}

TEST_CASE("a shutdown waits for the end of the transaction", "[relay]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  RunOptions options;
  options.shutdown_requested = true;
  RunResult r = RunScenario(mode, {Query("begin") + Query("select 1") + Query("commit")}, options);
  CHECK(Tags(r.to_client) == "C Z(T) T D D C Z(T) C Z(I)");
  CHECK(r.events == std::vector<std::string>{"terminate 57P01"});
}

TEST_CASE("an unknown frontend message ends the session with 08P01 after what came before it", "[relay]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  RunResult r = RunEverySplit(mode, {Query("select 1") + std::string("p\0\0\0\4", 5)}, /*same_client_bytes=*/false);
  CHECK(r.events == std::vector<std::string>{"terminate 08P01"});
}

TEST_CASE("a hold keeps the transaction's bytes until the host resumes", "[relay]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  RelayDriver driver(mode);
  driver.hold_transactions = 1;
  driver.ClientSends(Query("select 1"));
  CHECK(driver.events == std::vector<std::string>{"hold"});
  CHECK(driver.to_client.empty());
  CHECK(driver.carry() == Query("select 1"));
  driver.Resume();
  CHECK(Tags(driver.to_client) == "T D D C Z(I)");
}

TEST_CASE("the server's FATAL reaches the client and ends the session; a server that breaks framing ends it too",
          "[relay][server]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  RelayDriver driver(mode);
  driver.ClientSends(Query("begin"));
  REQUIRE(driver.holds_server());
  protocol::ErrorFields e;
  e.severity = "FATAL";
  e.sqlstate = "57P01";
  e.message = "terminating connection due to administrator command";
  std::string fatal;
  protocol::AppendErrorResponse(fatal, e);
  const size_t before = driver.to_client.size();
  Relay::Step step = driver.relay().OnServerBytes(AsBytes(fatal));
  CHECK(step.outcome == Relay::Outcome::kServerEnded);
  CHECK(step.consumed == fatal.size());
  CHECK(Tags(driver.to_client.substr(before)) == "E(57P01)");

  RelayDriver other(mode);
  other.ClientSends(Query("begin"));
  REQUIRE(other.holds_server());
  Relay::Step broken = other.relay().OnServerBytes(AsBytes(std::string("D\0\0\0\1", 5)));
  CHECK(broken.outcome == Relay::Outcome::kServerBroken);
  CHECK(other.relay().end_status().sqlstate() == "08P01");
}

TEST_CASE("a server's FATAL is the last the client gets, whatever was in flight", "[relay][server]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  SECTION("between simple queries") {
    RunResult r = RunEverySplit(mode, {Query("select 1") + Query("die") + Query("select 2")});
    CHECK(Tags(r.to_client) == "T D D C Z(I) E(57P01)");
    CHECK(r.events == std::vector<std::string>{"server-ended"});
  }
  SECTION("inside a transaction") {
    RunResult r = RunEverySplit(mode, {Query("begin"), Query("die"), Query("commit")});
    CHECK(Tags(r.to_client) == "C Z(T) E(57P01)");
    CHECK(r.events == std::vector<std::string>{"server-ended"});
  }
  SECTION("in the middle of a pipeline") {
    RunResult r = RunEverySplit(mode, {Parse("s", "select 1") + Bind("", "s") + Execute() + Sync() + Parse("d", "die") +
                                       Bind("", "d") + Execute() + Sync() + Bind("", "s") + Execute() + Sync()});
    CHECK(Tags(r.to_client) == "1 2 D D C Z(I) 1 2 E(57P01)");
    CHECK(r.events == std::vector<std::string>{"server-ended"});
  }
  SECTION("in the middle of a COPY") {
    RunResult r = RunEverySplit(mode, {Query("copy out die") + Query("select 2")});
    CHECK(Tags(r.to_client) == "H d E(57P01)");
    CHECK(r.events == std::vector<std::string>{"server-ended"});
  }
  SECTION("after a blocked statement") {
    RunResult r = RunEverySplit(mode, {Query("select forbidden") + Query("die") + Query("select 2")});
    CHECK(Tags(r.to_client) == "E(42501) Z(I) E(57P01)");
    CHECK(r.events == std::vector<std::string>{"server-ended"});
  }
}

TEST_CASE("a FATAL where a blocked statement's error belongs reaches the client as it is", "[relay][server]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  RelayDriver driver(mode);
  driver.ClientSends(Query("begin"));
  REQUIRE(driver.holds_server());
  // The marker goes to the server; the answer fed below stands in for the fake server's own.
  Relay::Step sent = driver.relay().OnClientBytes(AsBytes(Query("select forbidden")));
  REQUIRE(sent.outcome == Relay::Outcome::kNeedMore);
  protocol::ErrorFields e;
  e.severity = "FATAL";
  e.sqlstate = "57P01";
  e.message = "terminating connection due to administrator command";
  std::string fatal;
  protocol::AppendErrorResponse(fatal, e);
  const size_t before = driver.to_client.size();
  Relay::Step step = driver.relay().OnServerBytes(AsBytes(fatal));
  CHECK(step.outcome == Relay::Outcome::kServerEnded);
  CHECK(Tags(driver.to_client.substr(before)) == "E(57P01)");
}

TEST_CASE("an ERROR of the server larger than 64 KiB streams through as it comes", "[relay][server]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  RelayDriver driver(mode);
  driver.ClientSends(Query("begin"));
  REQUIRE(driver.holds_server());
  protocol::ErrorFields e;
  e.severity = "ERROR";
  e.sqlstate = "22P02";
  e.message = "invalid input syntax for type integer: \"" + std::string(100 * 1024, 'x') + "\"";
  std::string error;
  protocol::AppendErrorResponse(error, e);
  const size_t before = driver.to_client.size();
  const size_t half = error.size() / 2;
  Relay::Step first = driver.relay().OnServerBytes(AsBytes(std::string_view(error).substr(0, half)));
  CHECK(first.outcome == Relay::Outcome::kNeedMore);
  CHECK(first.consumed == half);  // not held back until the rest arrives
  Relay::Step rest = driver.relay().OnServerBytes(AsBytes(std::string_view(error).substr(half)));
  CHECK(rest.outcome == Relay::Outcome::kNeedMore);
  CHECK(driver.to_client.substr(before) == error);
}

TEST_CASE("an ERROR from the server is forwarded and the session goes on", "[relay][server]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  RunResult r = RunEverySplit(mode, {Query("fail now") + Query("select 2")});
  CHECK(Tags(r.to_client) == "E(22012) Z(I) T D D C Z(I)");
  CHECK(r.events.empty());
}

}  // namespace
}  // namespace pgtenant::relay::testing
