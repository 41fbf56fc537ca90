// The relay's size limits and notification PIDs, in both pool modes, fed whole and split at every
// byte (relay_split.h): a message over its limit is skipped unread and answered with ERROR 54000 where
// its answer belongs, and the session goes on; a notification of the client's own server session
// carries the client's PID.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "protocol/message_builder.h"
#include "protocol/message_reader.h"
#include "protocol/wire.h"
#include "relay/relay.h"
#include "tests/relay/client_messages.h"
#include "tests/relay/relay_split.h"

namespace pgtenant::relay::testing {
namespace {

using Mode = Relay::PoolMode;

const char* Name(Mode mode) { return mode == Mode::kSession ? "session pooling" : "transaction pooling"; }

// Small limits, so that splitting at every byte stays quick.
constexpr Relay::Limits kSmall{/*max_query_size=*/64, /*max_function_call_size=*/60};

RunOptions Small() {
  RunOptions options;
  options.limits = kSmall;
  return options;
}

std::string BigQuery() { return Query("select '" + std::string(100, 'x') + "'"); }

// A FunctionCall with one text argument of `size` bytes (libpq's lo_write sends one like it).
std::string FunctionCallWith(size_t size) {
  std::string out;
  protocol::MessageBuilder(out)
      .Begin(FrontendTag::kFunctionCall)
      .Int32(955)  // lowrite
      .Int16(0)    // argument formats
      .Int16(1)    // one argument
      .Int32(static_cast<int32_t>(size))
      .Bytes(std::string(size, 'b'))
      .Int16(1)  // binary result
      .End();
  return out;
}

// The message field of the first ErrorResponse in `bytes`.
std::string FirstErrorMessage(const std::string& bytes) {
  size_t pos = 0;
  while (pos + protocol::kHeaderSize <= bytes.size()) {
    auto d = protocol::DecodeFrameHeader(AsBytes(std::string_view(bytes).substr(pos)), protocol::kMaxMessageLength);
    if (d.status != protocol::DecodeStatus::kReady) break;
    if (d.header.tag == 'E') {
      auto fields = protocol::ParseErrorResponse(AsBytes(bytes).subspan(pos + protocol::kHeaderSize, d.header.body_size()));
      return fields.ok() ? fields->message + " / " + fields->hint : "<bad error>";
    }
    pos += d.header.total();
  }
  return "";
}

TEST_CASE("a Query over max_query_size gets ERROR 54000 and the next query on the session works", "[relay][limits]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  RunResult r = RunEverySplit(mode, {BigQuery(), Query("select 1")}, true, Small());
  CHECK(Tags(r.to_client) == "E(54000) Z(I) T D D C Z(I)");
  CHECK(r.events.empty());
  CHECK(FirstErrorMessage(r.to_client) ==
        "pgtenant: a Query message of 110 bytes exceeds limits.max_query_size (64 bytes) / Send large values as "
        "parameters (PQexecParams), or raise limits.max_query_size.");
}

TEST_CASE("an oversize Query between pipelined ones is answered in its place", "[relay][limits]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  RunResult r = RunEverySplit(mode, {Query("select 1") + BigQuery() + Query("select 2")}, true, Small());
  CHECK(Tags(r.to_client) == "T D D C Z(I) E(54000) Z(I) T D D C Z(I)");
  CHECK(r.events.empty());
}

TEST_CASE("an oversize Query inside a transaction fails it as an error does", "[relay][limits]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  RunResult r = RunEverySplit(mode, {Query("begin"), BigQuery(), Query("select 1"), Query("rollback"), Query("select 2")},
                              true, Small());
  CHECK(Tags(r.to_client) == "C Z(T) E(54000) Z(E) E(25P02) Z(E) C Z(I) T D D C Z(I)");
  CHECK(r.events.empty());
}

TEST_CASE("an oversize Parse gets ERROR 54000 and the rest of its segment is skipped up to Sync", "[relay][limits]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  RunResult r = RunEverySplit(mode,
                              {Parse("s1", std::string(80, 'y')) + Bind("", "s1") + Execute() + Sync(),
                               Parse("s1", "select 1") + Bind("", "s1") + Execute() + Sync()},
                              true, Small());
  CHECK(Tags(r.to_client) == "E(54000) Z(I) 1 2 D D C Z(I)");
  CHECK(r.events.empty());
}

TEST_CASE("an oversize FunctionCall gets ERROR 54000 naming max_function_call_size", "[relay][limits]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  RunResult r = RunEverySplit(mode, {FunctionCallWith(40), FunctionCallWith(60), Query("select 1")}, true, Small());
  CHECK(Tags(r.to_client) == "V Z(I) E(54000) Z(I) T D D C Z(I)");
  CHECK(r.events.empty());
  const std::string second = r.to_client.substr(r.to_client.find('E'));
  CHECK(FirstErrorMessage(second) ==
        "pgtenant: a FunctionCall message of 74 bytes exceeds limits.max_function_call_size (60 bytes) / Write large "
        "objects in smaller pieces, or raise limits.max_function_call_size.");
}

TEST_CASE("an oversize message is skipped as it arrives, never buffered nor judged", "[relay][limits]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  RelayDriver driver(mode, 0, kSmall);
  const std::string big = Query("select '" + std::string(10000, 'z') + "'");
  driver.ClientSends(big.substr(0, 10));
  CHECK(driver.carry().empty());
  CHECK(Tags(driver.to_client) == "E(54000) Z(I)");  // the answer need not wait for the rest
  CHECK(driver.holds_server());                       // held until the message has passed
  driver.ClientSends(big.substr(10, 5000));
  CHECK(driver.carry().empty());
  driver.ClientSends(big.substr(5010));
  CHECK(driver.holds_server() == (mode == Mode::kSession));
  CHECK(driver.judged.empty());
  driver.ClientSends(Query("select 1"));
  CHECK(Tags(driver.to_client) == "E(54000) Z(I) T D D C Z(I)");
  CHECK(driver.events.size() == (mode == Mode::kSession ? 2u : 4u));  // end-of-transaction (and release) twice
  CHECK(driver.relay().Quiescent());
}

TEST_CASE("a length beyond PostgreSQL's 1 GB message limit still ends the session", "[relay][limits]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  RunResult r = RunEverySplit(mode, {Query("select 1") + std::string("Q\x40\x00\x00\x04", 5)}, false, Small());
  CHECK(r.events == std::vector<std::string>{"terminate 08P01"});
}

// A message header: `tag` and the length field `length`.
std::string Header(char tag, uint32_t length) {
  return std::string{tag, static_cast<char>(length >> 24), static_cast<char>(length >> 16), static_cast<char>(length >> 8),
                     static_cast<char>(length)};
}

TEST_CASE("a Flush, Sync, Describe, Close, Execute or Copy message longer than PostgreSQL takes ends the session "
          "before it reaches the server",
          "[relay][limits]") {
  // A backend drops the connection without a word on such a length; after a Query's ReadyForQuery
  // the server would already be back in the pool when it did.
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  const char tag = GENERATE('H', 'S', 'D', 'C', 'E', 'c', 'f');
  INFO(Name(mode) << ", tag " << tag);
  const std::string too_long = Header(tag, protocol::kMaxSmallMessageLength + 1) + std::string(100, 'x');
  RunResult r = RunEverySplit(mode, {Query("select 1") + too_long}, false, Small());
  CHECK(r.events == std::vector<std::string>{"terminate 08P01"});
  // At the limit itself, the message passes (and the server answers what it answers).
  const std::string at_limit =
      Header('H', protocol::kMaxSmallMessageLength) + std::string(protocol::kMaxSmallMessageLength - 4, 'x');
  RunResult fine = RunScenario(mode, {Query("select 1") + at_limit + Query("select 2")}, Small());
  CHECK(fine.events.empty());
}

// A NotificationResponse as the server sends it.
std::string Notification(int32_t pid, std::string_view channel, std::string_view payload) {
  std::string out;
  protocol::MessageBuilder(out)
      .Begin(protocol::BackendTag::kNotificationResponse)
      .Int32(pid)
      .CString(channel)
      .CString(payload)
      .End();
  return out;
}

// Feeds the server bytes in pieces of `piece` bytes, keeping what the relay leaves unconsumed.
void ServerSendsInPieces(RelayDriver& driver, const std::string& bytes, size_t piece) {
  std::string carry;
  for (size_t offset = 0; offset < bytes.size(); offset += piece) {
    carry += bytes.substr(offset, piece);
    Relay::Step step = driver.relay().OnServerBytes(AsBytes(carry));
    REQUIRE(step.outcome == Relay::Outcome::kNeedMore);
    carry.erase(0, step.consumed);
  }
  CHECK(carry.empty());
}

TEST_CASE("a notification of the client's own server session carries the client's PID; others keep theirs",
          "[relay][notify]") {
  const std::string own = Notification(RelayDriver::kServerPid, "events", "mine");
  const std::string other = Notification(5555, "events", "theirs");
  const std::string own_as_seen = Notification(RelayDriver::kClientPid, "events", "mine");
  for (size_t piece = 1; piece <= own.size() + other.size(); ++piece) {
    INFO("server bytes in pieces of " << piece);
    RelayDriver driver(Mode::kSession);
    REQUIRE(driver.holds_server());
    ServerSendsInPieces(driver, own + other, piece);
    CHECK(driver.to_client == own_as_seen + other);
  }
}

TEST_CASE("under transaction pooling a notification raised in the client's transaction carries its PID",
          "[relay][notify]") {
  RelayDriver driver(Mode::kTransaction);
  driver.ClientSends(Query("begin"));
  REQUIRE(driver.holds_server());
  const size_t before = driver.to_client.size();
  // Server connection 0 or 1, whichever the transaction got: try both PIDs, one is the client's own.
  ServerSendsInPieces(driver, Notification(RelayDriver::kServerPid, "c", "p"), 3);
  ServerSendsInPieces(driver, Notification(RelayDriver::kServerPid + 1, "c", "p"), 3);
  const std::string seen = driver.to_client.substr(before);
  const std::string mine = Notification(RelayDriver::kClientPid, "c", "p");
  const bool first_is_mine = seen.substr(0, mine.size()) == mine;
  const bool second_is_mine = seen.substr(mine.size()) == mine;
  CHECK(first_is_mine != second_is_mine);
}

TEST_CASE("a statement the host rewrites reaches the server rewritten, in a Query or a named Parse, in both modes",
          "[relay][notify]") {
  for (const Mode mode : {Mode::kSession, Mode::kTransaction}) {
    INFO(Name(mode));
    RelayDriver driver(mode);
    driver.rewrite_from = "select 41";
    driver.rewrite_to = "select 42";
    driver.ClientSends(Query("select 41") + Parse("s1", "select 41") + Bind("", "s1") + Execute() + Sync());
    CHECK(driver.to_servers.find("select 41") == std::string::npos);
    CHECK(driver.to_servers.find(Query("select 42")) != std::string::npos);
    CHECK(driver.to_servers.find("select 42") != driver.to_servers.rfind("select 42"));  // the Parse too
    CHECK(Tags(driver.to_client) == "T D D C Z(I) 1 2 D D C Z(I)");
    // The prepared statement runs again without a Parse from the client (transaction pooling
    // prepares it anew on whatever server the next transaction gets).
    driver.ClientSends(Bind("", "s1") + Execute() + Sync());
    CHECK(Tags(driver.to_client) == "T D D C Z(I) 1 2 D D C Z(I) 2 D D C Z(I)");
    CHECK_FALSE(driver.ended);
  }
}

TEST_CASE("with a channel namespace a notification loses it, and one outside it never reaches the client",
          "[relay][notify]") {
  const std::string ours = Notification(5555, "tabc.orders", "p1");
  const std::string outside = Notification(5555, "orders", "p2");
  const std::string other_tenant = Notification(5555, "tdef.orders", "p3");
  const std::string own = Notification(RelayDriver::kServerPid, "tabc.orders", "p4");
  const std::string all = ours + outside + other_tenant + own;
  for (size_t piece = 1; piece <= all.size(); piece += 7) {
    INFO("server bytes in pieces of " << piece);
    RelayDriver driver(Mode::kSession);
    driver.channel_namespace = "tabc.";
    ServerSendsInPieces(driver, all, piece);
    CHECK(driver.to_client ==
          Notification(5555, "orders", "p1") + Notification(RelayDriver::kClientPid, "orders", "p4"));
  }
}

}  // namespace
}  // namespace pgtenant::relay::testing
