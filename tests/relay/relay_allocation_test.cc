// The relay's hot path allocates nothing per message: Query, Sync, Bind of a prepared statement,
// DataRow and ReadyForQuery forwarded in both pool modes, once its buffers have grown. Counted with
// a replaced global operator new (this executable only).
#include <catch2/catch.hpp>

#include <string>

#include "protocol/message_builder.h"
#include "relay/relay.h"
#include "tests/relay/client_messages.h"
#include "tests/relay/relay_driver.h"
#include "tests/support/allocation_counter.h"

#if PGTENANT_COUNT_ALLOCATIONS

namespace pgtenant::relay::testing {
namespace {

// A host that forwards nowhere and allows everything, allocating nothing itself.
class CountingHost final : public RelayHost {
 public:
  size_t to_server = 0;
  size_t to_client = 0;
  bool ForwardToServer(std::span<const uint8_t> bytes) override { return Count(to_server, bytes); }
  bool SendToServer(std::span<const uint8_t> bytes) override { return Count(to_server, bytes); }
  bool ForwardToClient(std::span<const uint8_t> bytes) override { return Count(to_client, bytes); }
  bool SendToClient(std::span<const uint8_t> bytes) override { return Count(to_client, bytes); }
  bool JudgeStatement(uint8_t, std::span<const uint8_t>, std::string&, SessionEffects&, std::string&) override {
    return true;
  }
  Admission AdmitTransaction(bool, bool) override { return Admission(); }
  Status OnTransactionEnd() override { return Status(); }
  void OnServerParameterStatus(std::span<const uint8_t>) override {}
  int32_t NotifierPidForClient(int32_t server_pid) override { return server_pid; }
  std::string_view SharedContextSql() const override { return {}; }
  void OnContextSettled(bool) override {}
  std::string ChannelNamespace() const override { return {}; }

 private:
  static bool Count(size_t& total, std::span<const uint8_t> bytes) {
    total += bytes.size();
    return true;
  }
};

std::string Answers(bool bind) {
  std::string out = bind ? std::string("2\0\0\0\4", 5) : std::string();
  protocol::AppendDataRow(out, {std::string("42")});
  protocol::AppendCommandComplete(out, "SELECT 1");
  protocol::AppendReadyForQuery(out, protocol::TransactionStatus::kIdle);
  return out;
}

// One request and its answers; under transaction pooling the server is given back and taken again.
// No Catch assertion inside: only the relay's allocations are counted.
bool RoundTrip(Relay& relay, ServerWire& server, const std::string& request, const std::string& answers,
               bool transaction) {
  if (transaction) relay.AttachServer(server);
  const Relay::Step sent = relay.OnClientBytes(AsBytes(request));
  const Relay::Step answered = relay.OnServerBytes(AsBytes(answers));
  if (transaction) relay.DetachServer();
  return sent.consumed == request.size() && answered.consumed == answers.size() &&
         answered.outcome == (transaction ? Relay::Outcome::kReleaseServer : Relay::Outcome::kNeedMore);
}

TEST_CASE("forwarding Query, Bind, DataRow and ReadyForQuery allocates nothing per message", "[relay][allocation]") {
  const bool transaction = GENERATE(false, true);
  INFO((transaction ? "transaction pooling" : "session pooling"));
  CountingHost host;
  ServerWire server;
  Relay relay(host, transaction ? Relay::PoolMode::kTransaction : Relay::PoolMode::kSession, Relay::Limits{});
  if (!transaction) relay.AttachServer(server);
  // Warm-up: the statement is prepared (and, under transaction pooling, renamed) once; buffers grow.
  const std::string prepare = Parse("s1", "select $1") + Sync();
  const std::string prepared = std::string("1\0\0\0\4", 5) + Answers(false).substr(Answers(false).size() - 6);
  if (transaction) relay.AttachServer(server);
  const size_t at_start = pgtenant::testing::AllocationCount();
  REQUIRE(relay.OnClientBytes(AsBytes(prepare)).consumed == prepare.size());
  if (transaction) CHECK(pgtenant::testing::AllocationCount() > at_start);  // the counter counts: a definition allocates
  std::string prepare_answers = transaction ? std::string("3\0\0\0\4", 5) + prepared : prepared;
  REQUIRE(relay.OnServerBytes(AsBytes(prepare_answers)).consumed == prepare_answers.size());
  if (transaction) relay.DetachServer();
  const std::string query = Query("select 1");
  const std::string execute = Bind("", "s1", "42") + Execute() + Sync();
  const std::string query_answers = Answers(false);
  const std::string execute_answers = Answers(true);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(RoundTrip(relay, server, query, query_answers, transaction));
    REQUIRE(RoundTrip(relay, server, execute, execute_answers, transaction));
  }

  int failed = 0;
  const size_t before = pgtenant::testing::AllocationCount();
  for (int i = 0; i < 1000; ++i) {
    failed += RoundTrip(relay, server, query, query_answers, transaction) ? 0 : 1;
    failed += RoundTrip(relay, server, execute, execute_answers, transaction) ? 0 : 1;
  }
  const size_t allocated = pgtenant::testing::AllocationCount() - before;
  CHECK(failed == 0);
  CHECK(allocated == 0);
  CHECK(host.to_client > 0);
}

}  // namespace
}  // namespace pgtenant::relay::testing

#endif  // PGTENANT_COUNT_ALLOCATIONS
