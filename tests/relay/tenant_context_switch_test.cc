// A shared server connection changing tenants (relay/tenant_context_switch.h): the context rides
// unsynced with the client's first message, the client sees exactly what it would without it, its
// statements never run when the context fails, and the connection's context is confirmed only when
// the transaction that carried it commits. Every scenario fed whole and split at every byte.
#include <catch2/catch.hpp>

#include <span>
#include <string>
#include <vector>

#include "protocol/message_builder.h"
#include "protocol/message_reader.h"
#include "relay/relay.h"
#include "relay/tenant_context_switch.h"
#include "tests/relay/client_messages.h"
#include "tests/relay/relay_split.h"

namespace pgtenant::relay::testing {
namespace {

using Mode = Relay::PoolMode;

const std::vector<std::string> kContext = {"set app.org = 'b'", "set default_transaction_read_only = off"};
// The Query the relay sends in CarryQuery's pieces, whole: its head, the context, the client's `body`.
// Returns the shift.
uint32_t AppendQuery(TenantContextSwitch& context, std::string& out, std::span<const uint8_t> body) {
  const TenantContextSwitch::CarriedQuery query = context.CarryQuery(body.size());
  out.append(reinterpret_cast<const char*>(query.head.data()), query.head.size())
      .append(query.statements)
      .append(query.discard)
      .append(reinterpret_cast<const char*>(body.data()), body.size());
  return query.shift;
}

// `statements` as routing::Route keeps them for TenantContextSwitch::Arm: each ended by ';'.
std::string Joined(const std::vector<std::string>& statements) {
  std::string text;
  for (const std::string& sql : statements) text.append(sql).push_back(';');
  return text;
}

RunOptions Switching(std::vector<std::string> statements = kContext) {
  RunOptions options;
  options.context_statements = std::move(statements);
  return options;
}

bool MayPipeline(const std::string& message) {
  return TenantContextSwitch::MayPipeline(static_cast<uint8_t>(message[0]), AsBytes(message).subspan(5));
}

TEST_CASE("only first statements that may run in a pipeline carry the context unsynced", "[relay][shared_pool]") {
  for (const char* sql : {"SELECT 1", "select abalance from t", "  \n\tINSERT INTO t VALUES (1)", "update t set x = 1",
                          "DELETE FROM t", "WITH x AS (SELECT 1) SELECT * FROM x", "BEGIN", "begin isolation level serializable",
                          "START TRANSACTION", "SET work_mem = '8MB'", "SHOW work_mem", "(SELECT 1)", "VALUES (1)",
                          "TABLE t", "MERGE INTO t USING s ON true WHEN MATCHED THEN DO NOTHING",
                          "-- a comment\nSELECT 1", "/* a comment */ SELECT 1", "SELECT(1)"}) {
    INFO(sql);
    CHECK(MayPipeline(Query(sql)));
    CHECK(MayPipeline(Parse("s1", sql)));
  }
  // What calls PreventInTransactionBlock ("cannot be executed within a pipeline"), what may commit
  // (CALL, DO), and whatever is not known: the round trip.
  for (const char* sql : {"VACUUM t", "vacuum", "CREATE INDEX CONCURRENTLY i ON t (x)", "CREATE DATABASE d",
                          "DROP DATABASE d", "ALTER SYSTEM SET work_mem = '1MB'", "REINDEX TABLE CONCURRENTLY t",
                          "DISCARD ALL", "CLUSTER", "COMMIT PREPARED 'x'", "ROLLBACK PREPARED 'x'", "CALL p()",
                          "DO $$ BEGIN COMMIT; END $$", "COPY t FROM STDIN", "", "   ", "/* unclosed SELECT 1",
                          "/* /* nested */ */ SELECT 1", "SELECTx 1", "select_1()", "\"SELECT\" 1"}) {
    INFO(sql);
    CHECK_FALSE(MayPipeline(Query(sql)));
    CHECK_FALSE(MayPipeline(Parse("", sql)));
  }
  CHECK_FALSE(MayPipeline(Bind("", "s1")));
  CHECK_FALSE(MayPipeline(Sync()));
}

TenantContextSwitch::FirstMessage Classify(const std::string& message) {
  return TenantContextSwitch::Classify(static_cast<uint8_t>(message[0]), AsBytes(message).subspan(5));
}

TEST_CASE("DISCARD SEQUENCES rides with the context only ahead of a first statement that takes a snapshot",
          "[relay][shared_pool]") {
  using FirstMessage = TenantContextSwitch::FirstMessage;
  for (const char* sql : {"SELECT 1", "insert into t values (1)", "UPDATE t SET x = 1", "DELETE FROM t", "WITH x AS (SELECT 1) SELECT 1",
                          "VALUES (1)", "TABLE t", "(SELECT 1)", "MERGE INTO t USING s ON true WHEN MATCHED THEN DO NOTHING"}) {
    INFO(sql);
    CHECK(Classify(Query(sql)) == FirstMessage::kTakesSnapshot);
    CHECK(Classify(Parse("s1", sql)) == FirstMessage::kTakesSnapshot);
  }
  // These may choose the isolation level or read-write mode, which a snapshot taken before them fixes.
  for (const char* sql : {"BEGIN", "begin isolation level serializable", "START TRANSACTION READ WRITE",
                          "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", "SET work_mem = '8MB'", "SHOW work_mem"}) {
    INFO(sql);
    CHECK(Classify(Query(sql)) == FirstMessage::kBeforeSnapshot);
  }
  CHECK(Classify(Query("VACUUM")) == FirstMessage::kRoundTrip);
  CHECK(Classify(Bind("", "s1")) == FirstMessage::kRoundTrip);

  // Ahead of a BEGIN: DISCARD SEQUENCES in a query (and transaction) of its own, before the context.
  RelayDriver driver(Mode::kTransaction);
  driver.context_statements = kContext;
  driver.ClientSends(Query("begin isolation level serializable"));
  const std::string& sent = driver.to_servers;
  const size_t discard = sent.find("DISCARD SEQUENCES");
  const size_t context = sent.find("set app.org = 'b'");
  const size_t client = sent.find("begin isolation level serializable");
  REQUIRE(discard != std::string::npos);
  REQUIRE(context != std::string::npos);
  CHECK(discard < context);
  CHECK(context < client);
  CHECK(sent[discard - 5] == 'Q');  // the DISCARD is a Query of its own
  CHECK(sent.find("DISCARD SEQUENCES", discard + 1) == std::string::npos);     // once
  driver.ClientSends(Query("commit"));
  CHECK(driver.server_context[0] == "tenant-b");
}

TEST_CASE("a server role that may not call currval() or lastval() gets no DISCARD SEQUENCES at a switch",
          "[relay][shared_pool]") {
  for (const char* first : {"select 1", "begin isolation level serializable"}) {
    INFO(first);
    RelayDriver driver(Mode::kTransaction);
    driver.context_statements = kContext;
    driver.sequences_readable = false;
    driver.ClientSends(Query(first));
    CHECK(driver.to_servers.find("set app.org = 'b'") != std::string::npos);
    CHECK(driver.to_servers.find("DISCARD") == std::string::npos);
  }
}

TEST_CASE("the context goes as Parse, Bind and Execute of each statement, unnamed, unsynced", "[relay][shared_pool]") {
  std::string no_parameters;  // Bind of the unnamed portal and statement: no formats, no parameters
  protocol::MessageBuilder(no_parameters).Begin(FrontendTag::kBind).CString("").CString("").Int16(0).Int16(0).Int16(0).End();
  auto expected = [&](const std::vector<std::string>& statements) {
    std::string out;
    for (const std::string& sql : statements) out += Parse("", sql) + no_parameters + Execute();
    return out;
  };
  TenantContextSwitch context;
  std::string sent;
  const std::string all = Joined(kContext), first = Joined({kContext[0]});  // the switch views them
  context.Arm(all, TenantContextSwitch::SequenceReset::kOwnQuery);
  CHECK(context.armed());
  context.AppendMessages(sent);
  CHECK(sent == expected(kContext));
  CHECK(context.awaiting());

  // Armed again (the next transaction, the buffer reused): the tenant alone, then DISCARD SEQUENCES.
  context.Reset();
  sent.clear();
  context.Arm(first, TenantContextSwitch::SequenceReset::kWithContext);
  context.AppendMessages(sent);
  CHECK(sent == expected({kContext[0], "DISCARD SEQUENCES"}));
  // Two statements answer: nothing reaches the client until the second CommandComplete.
  CHECK(context.OnAnswer('1') == TenantContextSwitch::Answer::kSwallow);
  CHECK(context.OnAnswer('2') == TenantContextSwitch::Answer::kSwallow);
  CHECK(context.OnAnswer('C') == TenantContextSwitch::Answer::kSwallow);
  CHECK(context.OnAnswer('1') == TenantContextSwitch::Answer::kSwallow);
  CHECK(context.OnAnswer('2') == TenantContextSwitch::Answer::kSwallow);
  CHECK(context.OnAnswer('C') == TenantContextSwitch::Answer::kExecuted);
  CHECK(context.watching());

  // A NUL cannot cut a message short or start another: the statements end there. Nor is text past
  // the last ';' a statement.
  for (const std::string& text :
       {std::string("set app.org = 'b';\0set x = 1;", 29), std::string("set app.org = 'b';set")}) {
    context.Reset();
    sent.clear();
    context.Arm(text, TenantContextSwitch::SequenceReset::kNone);
    context.AppendMessages(sent);
    CHECK(sent == expected({"set app.org = 'b'"}));
    CHECK(context.OnAnswer('C') == TenantContextSwitch::Answer::kExecuted);
  }

  // Each ';' ends a statement, in either form: both run the statements counted.
  for (bool query : {false, true}) {
    context.Reset();
    sent.clear();
    context.Arm("set app.org = 'b';set x = 1;", TenantContextSwitch::SequenceReset::kNone);
    if (query) {
      const std::string client = Query("select 1");
      AppendQuery(context, sent, AsBytes(client).subspan(5));
      CHECK(sent == Query("set app.org = 'b';set x = 1;select 1"));
    } else {
      context.AppendMessages(sent);
      CHECK(sent == expected({"set app.org = 'b'", "set x = 1"}));
    }
    CHECK(context.OnAnswer('C') == TenantContextSwitch::Answer::kSwallow);
    CHECK(context.OnAnswer('C') == TenantContextSwitch::Answer::kExecuted);
  }
}

TEST_CASE("a tenant switch costs the client nothing it can see, simple or extended", "[relay][shared_pool]") {
  const std::vector<std::vector<std::string>> scenarios = {
      {Query("select 1")},
      {Query("select 1;fail")},  // the server's error position counts the context ahead of the client's text
      {Query("select 1;fail"), Query("select 2;fail")},
      {Query("select 1;select 2"), Query("begin;fail"), Query("rollback")},
      {Query("select 1"), Query("select 2")},
      {Query("select 1") + Query("select 2") + Query("select 3")},  // pipelined: the rest waits for the context
      {Parse("", "select 1") + Bind("", "") + Execute() + Sync()},
      {Parse("s", "select 1") + Bind("", "s") + Execute() + Sync() + Bind("", "s") + Execute() + Sync()},
      {Parse("s", "select 1") + Flush(), Bind("", "s") + Execute() + Sync()},
      {Query("begin"), Query("select 1"), Query("commit")},
  };
  for (const std::vector<std::string>& writes : scenarios) {
    const RunResult plain = RunEverySplit(Mode::kTransaction, writes);
    const RunResult switched = RunEverySplit(Mode::kTransaction, writes, true, Switching());
    INFO(Tags(plain.to_client));
    CHECK(switched.to_client == plain.to_client);
    REQUIRE_FALSE(switched.events.empty());
    // A first transaction that failed undid the context with it.
    const bool failed = writes.front().find("fail") != std::string::npos;
    CHECK(switched.events.front() == (failed ? "context-unknown" : "context-held"));
  }
}

TEST_CASE("ahead of a Query that takes a snapshot, the context goes inside it, ahead of the client's text",
          "[relay][shared_pool]") {
  RelayDriver driver(Mode::kTransaction);
  driver.context_statements = kContext;
  driver.ClientSends(Query("select 1") + Query("select 2"));
  // One Query: the context statements, DISCARD SEQUENCES (the Query takes a snapshot anyway), the
  // client's text. The client's second Query waits for the context's answers, then follows.
  CHECK(driver.to_servers ==
        Query("set app.org = 'b';set default_transaction_read_only = off;DISCARD SEQUENCES;select 1") +
            Query("select 2"));
  CHECK(driver.server_context[0] == "tenant-b");
  CHECK(driver.backend(0).setting("app.org") == "b");
  RelayDriver plain(Mode::kTransaction);
  plain.ClientSends(Query("select 1") + Query("select 2"));
  CHECK(driver.to_client == plain.to_client);

  // Armed for a Query, sent as one: the answers the client does not see, then the client's.
  TenantContextSwitch context;
  const std::string first = Joined({kContext[0]});  // the switch views it
  context.Arm(first, TenantContextSwitch::SequenceReset::kNone);
  std::string sent;
  const std::string client = Query("select 1");
  CHECK(AppendQuery(context, sent, AsBytes(client).subspan(5)) == std::string("set app.org = 'b';").size());
  CHECK(sent == Query("set app.org = 'b';select 1"));
  CHECK(context.carried_by_query());
  CHECK(context.OnAnswer('C') == TenantContextSwitch::Answer::kExecuted);
  CHECK(context.watching());
  // Which first messages carry it: a simple Query whose first statement takes a snapshot.
  for (const char* sql : {"select 1", "INSERT INTO t VALUES (1)", "with x as (select 1) select 1", "(select 1)"})
    CHECK(TenantContextSwitch::QueryMayCarry('Q', AsBytes(Query(sql)).subspan(5)));
  for (const char* sql : {"begin", "set x = 1", "show x", "vacuum"})
    CHECK_FALSE(TenantContextSwitch::QueryMayCarry('Q', AsBytes(Query(sql)).subspan(5)));
  CHECK_FALSE(TenantContextSwitch::QueryMayCarry('P', AsBytes(Parse("", "select 1")).subspan(5)));
}

TEST_CASE("an armed switch keeps the text its host let go of until it is sent", "[relay][shared_pool]") {
  // The session's route was replaced (a reload) between arming and sending: the switch views the old
  // route's text, and the first owner handed over keeps it (ASan sees a use after free otherwise).
  auto text = std::make_shared<const std::string>("set app.org = 'b';");
  TenantContextSwitch context;
  context.Arm(*text, TenantContextSwitch::SequenceReset::kNone);
  context.KeepText(text);
  context.KeepText(std::make_shared<const std::string>("set app.org = 'c';"));  // a later route: not this switch's
  text.reset();
  std::string sent;
  const std::string client = Query("select 1");
  AppendQuery(context, sent, AsBytes(client).subspan(5));
  CHECK(sent == Query("set app.org = 'b';select 1"));
  // Not armed: nothing is kept.
  auto later = std::make_shared<const std::string>("x");
  context.KeepText(later);
  CHECK(later.use_count() == 1);
}

TEST_CASE("the context reaches the server ahead of the client's first message, in the same write",
          "[relay][shared_pool]") {
  RelayDriver driver(Mode::kTransaction);
  driver.context_statements = kContext;
  driver.ClientSends(Parse("", "select 1") + Bind("", "") + Execute() + Sync());
  const std::string& sent = driver.to_servers;
  const size_t discard = sent.find("DISCARD SEQUENCES");
  const size_t context = sent.find("set app.org = 'b'");
  const size_t read_only = sent.find("set default_transaction_read_only = off");
  const size_t client = sent.find("select 1");
  REQUIRE(discard != std::string::npos);
  REQUIRE(context != std::string::npos);
  REQUIRE(client != std::string::npos);
  // The first statement takes a snapshot anyway: DISCARD SEQUENCES joins the context, after the
  // SETs (once it took a snapshot, SET transaction_read_only = off would fail), in no query of its own.
  CHECK(context < read_only);
  CHECK(read_only < discard);
  CHECK(discard < client);
  CHECK(sent.find("DISCARD SEQUENCES", discard + 1) == std::string::npos);
  CHECK(sent[discard - 6] == 'P');  // a Parse of the context, not a Query of its own
  CHECK(sent.front() == 'P');        // nothing ahead of the context
  // No Sync between the context and the client's message: an error in the context skips it.
  CHECK(sent.substr(context, client - context).find(std::string("S\0\0\0\4", 5)) == std::string::npos);
  CHECK(driver.server_context[0] == "tenant-b");
  CHECK(driver.backend(0).setting("app.org") == "b");
}

TEST_CASE("when the context fails, no statement of the client's runs and the session ends", "[relay][shared_pool]") {
  const std::vector<std::vector<std::string>> scenarios = {
      {Query("set x = 1")},
      {Query("set x = 1") + Query("set y = 2")},
      {Parse("", "set x = 1") + Bind("", "") + Execute() + Sync() + Query("set y = 2")},
      {Query("begin") + Query("set x = 1"), Query("set y = 2")},
  };
  for (const std::vector<std::string>& writes : scenarios) {
    const RunResult r = RunEverySplit(Mode::kTransaction, writes, false, Switching({"set app.org = 'b'", "fail"}));
    CHECK(r.events == std::vector<std::string>{"server-broken"});
    // Driven once more to look at the server: nothing of the client's ran there.
    RelayDriver driver(Mode::kTransaction);
    driver.context_statements = {"set app.org = 'b'", "fail"};
    for (const std::string& w : writes) driver.ClientSends(w);
    CHECK(driver.backend(0).setting("x") == "default");
    CHECK(driver.backend(0).setting("y") == "default");
    CHECK(driver.to_servers.find("set y = 2") == std::string::npos);  // never even sent
    CHECK(driver.server_context[0] == "");                            // unknown: the next client sets it
    CHECK(driver.to_client.empty());  // the session sends its FATAL (ClientSession::Terminate)
  }
}

TEST_CASE("when the context inside the client's Query fails, none of the Query runs and the client gets the error",
          "[relay][shared_pool]") {
  // The failing statement is the context's own: its position points at no text of the client's.
  const std::vector<std::string> failing = {"set app.org = 'b'", "fail"};
  const RunResult r =
      RunEverySplit(Mode::kTransaction, {Query("select 1"), Query("select 2")}, true, Switching(failing));
  INFO(Tags(r.to_client));
  // Each transaction tries the context again (it never held), and each Query ends for the client.
  CHECK(r.events == std::vector<std::string>{"context-unknown", "context-unknown"});
  CHECK(Tags(r.to_client) == "E(22012) Z(I) E(22012) Z(I)");
  RelayDriver driver(Mode::kTransaction);
  driver.context_statements = failing;
  driver.ClientSends(Query("select 1"));
  REQUIRE(driver.to_client.size() > 5);
  REQUIRE(driver.to_client[0] == 'E');
  const auto d = protocol::DecodeFrameHeader(AsBytes(driver.to_client), protocol::kMaxMessageLength);
  REQUIRE(d.status == protocol::DecodeStatus::kReady);
  const auto fields = protocol::ParseErrorResponse(AsBytes(driver.to_client).subspan(5, d.header.body_size()));
  REQUIRE(fields.ok());
  CHECK(fields->sqlstate == "22012");
  CHECK(fields->position == 0);  // the server's position (19) was in the context
  CHECK(driver.server_context[0] == "");  // unknown: the next transaction sets it again
  CHECK_FALSE(driver.ended);
}

TEST_CASE("the context is confirmed only when the transaction that carried it commits", "[relay][shared_pool]") {
  struct Case {
    std::vector<std::string> writes;
    const char* settled;
  };
  const std::vector<Case> cases = {
      {{Query("select 1")}, "context-held"},
      {{Query("begin"), Query("select 1"), Query("commit")}, "context-held"},
      {{Query("begin"), Query("select 1"), Query("rollback")}, "context-unknown"},  // ROLLBACK undoes the SET
      {{Query("begin;select 1;rollback")}, "context-unknown"},
      {{Query("begin"), Query("abort")}, "context-unknown"},
      {{Query("begin"), Query("fail"), Query("commit")}, "context-unknown"},  // COMMIT of an aborted transaction
      {{Query("select 1;fail")}, "context-unknown"},  // an implicit transaction that failed
      {{Parse("", "select 1") + Bind("", "") + Execute() + Parse("", "fail") + Bind("", "") + Execute() + Sync()},
       "context-unknown"},
  };
  for (const Case& c : cases) {
    const RunResult r = RunEverySplit(Mode::kTransaction, c.writes, true, Switching());
    INFO(Tags(r.to_client));
    REQUIRE_FALSE(r.events.empty());
    CHECK(r.events.front() == c.settled);
    // Once confirmed, the next transaction switches nothing; once unknown, it sets the context again.
    RelayDriver driver(Mode::kTransaction);
    driver.context_statements = kContext;
    for (const std::string& w : c.writes) driver.ClientSends(w);
    const bool held = std::string(c.settled) == "context-held";
    CHECK(driver.server_context[0] == (held ? "tenant-b" : ""));
  }
}

TEST_CASE("a first statement that cannot run in a pipeline takes the round trip", "[relay][shared_pool]") {
  const RunResult r = RunEverySplit(Mode::kTransaction, {Query("vacuum"), Query("select 1")}, true, Switching());
  CHECK(r.events == std::vector<std::string>{"context-round-trip"});
  RelayDriver driver(Mode::kTransaction);
  driver.context_statements = kContext;
  driver.ClientSends(Query("vacuum"));
  CHECK(driver.to_servers.find("set app.org") == std::string::npos);
}

}  // namespace
}  // namespace pgtenant::relay::testing
