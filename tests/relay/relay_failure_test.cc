// The three ways a client's messages end a session under transaction pooling (a Describe/Close
// name over 1,024 bytes while not whole, a Bind with an unterminated name, a Parse past the
// 10,000-statement limit), each after earlier messages of the same read: what came before reaches
// the server that is still held, then the session ends. Under session pooling a bad Bind is the
// server's to judge. (These once crashed pgtenant: issue 22.)
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "relay/prepared_statements.h"
#include "tests/relay/client_messages.h"
#include "tests/relay/relay_split.h"

namespace pgtenant::relay::testing {
namespace {

using Mode = Relay::PoolMode;

// A Close whose length field claims 0x24f5824c bytes: the 14 bytes of the report.
const std::string kHugeClose("C\x24\xf5\x82\x4c" "xxxx", 9);
// A whole Bind whose portal and statement names never end.
std::string UnterminatedBind() { return std::string("B\0\0\0\x0c", 5) + std::string(8, 'n'); }

std::vector<std::string> Earlier() { return {Sync(), Query("select 1"), Parse("p", "select 1")}; }

TEST_CASE("a Describe or Close name over 1,024 bytes ends the session after the messages before it", "[relay][failure]") {
  for (const std::string& earlier : Earlier()) {
    for (const std::string& bad : {kHugeClose, std::string("D") + kHugeClose.substr(1)}) {
      RunResult r = RunEverySplit(Mode::kTransaction, {earlier + bad}, /*same_client_bytes=*/false);
      CHECK(r.events == std::vector<std::string>{"terminate 08P01"});
      RelayDriver driver(Mode::kTransaction);
      driver.ClientSends(earlier + bad);
      CHECK_FALSE(driver.forwarded_without_server);
      CHECK(driver.ended);
    }
  }
}

TEST_CASE("a Bind with an unterminated name ends the session after the messages before it", "[relay][failure]") {
  for (const std::string& earlier : Earlier()) {
    RunResult r = RunEverySplit(Mode::kTransaction, {earlier + UnterminatedBind()}, /*same_client_bytes=*/false);
    CHECK(r.events == std::vector<std::string>{"terminate 08P01"});
  }
  // A name prefix past 1,024 bytes is refused before the message is whole.
  RelayDriver driver(Mode::kTransaction);
  driver.ClientSends(Sync() + std::string("B\0\0\x10\0", 5) + std::string(1100, 'n'));
  CHECK(driver.events.back() == "terminate 08P01");
  CHECK_FALSE(driver.forwarded_without_server);
}

TEST_CASE("a Parse past the 10,000-statement limit ends the session with 54000 after the messages before it",
          "[relay][failure]") {
  RelayDriver driver(Mode::kTransaction);
  std::string batch;
  for (size_t i = 0; i < ClientStatements::kMaxStatements; ++i) {
    batch += Parse("s" + std::to_string(i), "select 1");
    if (batch.size() > 64 * 1024) {
      driver.ClientSends(batch + Sync());
      batch.clear();
    }
  }
  driver.ClientSends(batch + Sync());
  REQUIRE_FALSE(driver.ended);
  REQUIRE(driver.relay().requests_sent() == driver.relay().requests_done());
  driver.ClientSends(Sync() + Parse("s10000", "select 1") + Sync());
  CHECK(driver.events.back() == "terminate 54000");
  CHECK_FALSE(driver.forwarded_without_server);
}

TEST_CASE("under session pooling a bad Bind goes to the server to judge; a Close longer than PostgreSQL takes ends "
          "the session",
          "[relay][failure]") {
  // PostgreSQL itself drops a connection announcing such a Close ("invalid message length").
  RelayDriver driver(Mode::kSession);
  driver.ClientSends(Sync() + kHugeClose);
  CHECK(driver.ended);
  CHECK(driver.events.back() == "terminate 08P01");
  RelayDriver bind(Mode::kSession);
  bind.ClientSends(Query("select 1") + UnterminatedBind() + Sync());
  CHECK_FALSE(bind.ended);
  CHECK(Tags(bind.to_client) == "T D D C Z(I) E(26000) Z(I)");
}

TEST_CASE("a client gone halfway through a message leaves its server connection to no one else", "[relay][failure]") {
  // PostgreSQL reads the rest of the message from whatever comes next: the next client's first
  // message, which it never answers. (Random blobs found it: a login waited 10 s for its server.)
  const std::string copy_data = CopyData(std::string(100, 'x'));
  const std::string copy_fail = CopyFail(std::string(100, 'y'));
  for (Mode mode : {Mode::kTransaction, Mode::kSession}) {
    for (const std::string& message : {copy_data, copy_fail}) {
      for (size_t cut : {size_t{1}, size_t{5}, size_t{6}, message.size() - 1}) {
        INFO("mode " << (mode == Mode::kTransaction ? "transaction" : "session") << ", tag " << message[0] << ", cut "
                     << cut);
        RelayDriver driver(mode);
        driver.ClientSends(Query("select 1") + message.substr(0, cut));
        driver.ClientDisconnects();
        CHECK_FALSE(driver.released_mid_message);
        const bool one_unfit = !driver.server_clean(0) || !driver.server_clean(1);
        CHECK(one_unfit == (cut >= 5));  // from the whole header on, part of it reached the server
        // Whole, the same message leaves the server fit for the next client.
        RelayDriver whole(mode);
        whole.ClientSends(Query("select 1") + message);
        whole.ClientDisconnects();
        CHECK(whole.server_clean(0));
        CHECK(whole.server_clean(1));
      }
    }
  }
}

}  // namespace
}  // namespace pgtenant::relay::testing
