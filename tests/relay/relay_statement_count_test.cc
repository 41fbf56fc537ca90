// The relay's statement counts (metrics: pgtenant_statements_total, pgtenant_statement_errors_total):
// one per execution the server completed, one per error it sent for the client, none for what the
// relay sends or swallows itself, however the server's bytes are split.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "relay/relay.h"
#include "tests/relay/client_messages.h"
#include "tests/relay/relay_driver.h"

namespace pgtenant::relay::testing {
namespace {

using Mode = Relay::PoolMode;

TEST_CASE("the relay counts executions and errors once each, whatever the split", "[relay][metrics]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  const size_t server_split = GENERATE(0, 1, 2, 3, 5, 8);
  INFO((mode == Mode::kSession ? "session" : "transaction") << " pooling, server bytes split every " << server_split);
  RelayDriver driver(mode, server_split);
  // Prepared once, executed three times (in transaction pooling the relay prepares it on the server
  // itself, and swallows the answers): three executions.
  driver.ClientSends(Parse("s1", "select 1") + Sync());
  for (int i = 0; i < 3; ++i) driver.ClientSends(Bind("", "s1") + Execute() + Sync());
  // Two simple queries, one failing on the server: one execution, one error.
  driver.ClientSends(Query("select 2"));
  driver.ClientSends(Query("fail"));
  // A blocked statement's error is pgtenant's verdict, not a failed execution.
  driver.ClientSends(Query("select forbidden"));
  CHECK(driver.relay().statements_completed() == 4);
  CHECK(driver.relay().statements_failed() == 1);
  CHECK(driver.relay().requests_done() == driver.relay().requests_sent());
}

}  // namespace
}  // namespace pgtenant::relay::testing
