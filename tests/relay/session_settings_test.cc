// The client's virtual session (relay/session_settings.h) through the relay, in both pool modes,
// against the fake server: parameters follow the client from one server connection to the next,
// RESET returns to the startup value, what a failed or rolled-back transaction set is undone, and
// prepared statements are the client's own. Every scenario fed whole and split at every byte.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "protocol/sql_quote.h"
#include "relay/prepared_statements.h"
#include "relay/relay.h"
#include "relay/session_settings.h"
#include "tests/relay/client_messages.h"
#include "tests/relay/relay_split.h"

namespace pgtenant::relay::testing {
namespace {

using Mode = Relay::PoolMode;
using Strings = std::vector<std::string>;

const char* Name(Mode mode) { return mode == Mode::kSession ? "session pooling" : "transaction pooling"; }

TEST_CASE("a client's SET follows it to the next server connection, set in the same write", "[relay][settings]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  RunResult r = RunEverySplit(mode, {Query("set timezone to 'Asia/Tokyo'"), Query("show timezone"),
                                     Query("show timezone")});
  // The relay's own SET on the second connection is not seen: no second ParameterStatus.
  CHECK(Tags(r.to_client) == "S(timezone=Asia/Tokyo) C Z(I) T D C Z(I) T D C Z(I)");
  CHECK(FirstColumns(r.to_client) == Strings{"Asia/Tokyo", "Asia/Tokyo"});
}

TEST_CASE("both server connections carry the client's value once it has used them", "[relay][settings]") {
  RelayDriver driver(Mode::kTransaction);
  driver.ClientSends(Query("set extra_float_digits = 3"));
  driver.ClientSends(Query("show extra_float_digits"));
  CHECK(driver.backend(0).setting("extra_float_digits") == "3");
  CHECK(driver.backend(1).setting("extra_float_digits") == "3");
  CHECK(FirstColumns(driver.to_client) == Strings{"3"});
}

TEST_CASE("RESET returns to the client's startup value, not the server's default", "[relay][settings]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  RunResult r = RunEverySplit(mode, {Query("set timezone to 'UTC'"), Query("reset timezone"), Query("show timezone")},
                              true, WithStartup({{"TimeZone", "Europe/Paris"}}));
  // The server resets to its default; the relay sets the startup value right after and the client
  // hears of it, as PostgreSQL would have reported the startup value.
  CHECK(Tags(r.to_client) ==
        "S(timezone=UTC) C Z(I) S(timezone=default) C Z(I) S(timezone=Europe/Paris) T D C Z(I)");
  CHECK(FirstColumns(r.to_client) == Strings{"Europe/Paris"});
}

TEST_CASE("RESET ALL, DISCARD ALL and asyncpg's reset query return every parameter to its startup value",
          "[relay][settings]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  const std::string reset = GENERATE(std::string("reset all"), std::string("discard all"),
                                     std::string("select pg_advisory_unlock_all();close all;unlisten *;reset all"));
  INFO(Name(mode) << ": " << reset);
  RunResult r = RunEverySplit(mode,
                              {Query("set timezone to 'UTC'"), Query("set application_name to 'other'"),
                               Query("set extra_float_digits to '2'"), Query(reset), Query("show timezone"),
                               Query("show application_name"), Query("show extra_float_digits")},
                              true, WithStartup({{"TimeZone", "Europe/Paris"}, {"application_name", "app"}}));
  Strings shown = FirstColumns(r.to_client);
  shown.erase(shown.begin(), shown.end() - 3);  // the asyncpg query's own rows first
  CHECK(shown == Strings{"Europe/Paris", "app", "default"});
}

TEST_CASE("what a failed request set is undone", "[relay][settings]") {
  RunResult r = RunEverySplit(Mode::kTransaction, {Query("set timezone to 'UTC';fail now"), Query("show timezone")});
  CHECK(Tags(r.to_client) == "S(timezone=UTC) C E(22012) Z(I) T D C Z(I)");
  CHECK(FirstColumns(r.to_client) == Strings{"default"});
}

TEST_CASE("what a rolled-back transaction set is undone; a committed one keeps it", "[relay][settings]") {
  RunResult r = RunEverySplit(Mode::kTransaction,
                              {Query("begin"), Query("set timezone to 'UTC'"), Query("rollback"), Query("show timezone"),
                               Query("begin"), Query("set timezone to 'Asia/Tokyo'"), Query("commit"),
                               Query("show timezone"), Query("show timezone")});
  CHECK(FirstColumns(r.to_client) == Strings{"default", "Asia/Tokyo", "Asia/Tokyo"});
}

TEST_CASE("startup parameters are set on each server connection before the client's first statement",
          "[relay][settings]") {
  RunResult r = RunEverySplit(Mode::kTransaction, {Query("show timezone"), Query("show timezone")}, true,
                              WithStartup({{"TimeZone", "America/Sao_Paulo"}}));
  CHECK(Tags(r.to_client) == "T D C Z(I) T D C Z(I)");
  CHECK(FirstColumns(r.to_client) == Strings{"America/Sao_Paulo", "America/Sao_Paulo"});
}

TEST_CASE("a client that sets nothing costs nothing: the servers get exactly its bytes", "[relay][settings]") {
  const Mode mode = GENERATE(Mode::kSession, Mode::kTransaction);
  INFO(Name(mode));
  RelayDriver driver(mode);
  const std::string bytes = Query("select 1") + Query("show timezone") + Parse("s1", "select 2") + Sync();
  driver.ClientSends(Query("select 1"));
  driver.ClientSends(Query("show timezone"));
  driver.ClientSends(Parse("s1", "select 2") + Sync());
  if (mode == Mode::kSession) CHECK(driver.to_servers == bytes);
  // Transaction pooling renames the statement (Close + Parse pgt_...), and adds nothing else.
  if (mode == Mode::kTransaction) CHECK(driver.to_servers.find("SET") == std::string::npos);
  CHECK(driver.to_servers.rfind(Query("select 1") + Query("show timezone"), 0) == 0);
}

TEST_CASE("SyncServer resets what another client left and sets only what differs", "[relay][settings]") {
  ServerSettings server;
  const StartupSettings tokyo_login = {{{"TimeZone", "Asia/Tokyo"}, {"application_name", "leaky"}},
                                       StartupSettings::NextSerial()};
  SessionSettings tokyo;
  tokyo.SetStartup(&tokyo_login);
  SessionSettings plain;
  const Settings reported = {{"TimeZone", "UTC"}, {"application_name", ""}};
  CHECK(plain.SyncServer(server, reported).empty());  // nothing set anywhere: no SQL at all
  CHECK(tokyo.SyncServer(server, reported) == "SET timezone TO 'Asia/Tokyo';SET application_name TO 'leaky';");
  CHECK(tokyo.SyncServer(server, reported).empty());
  CHECK(plain.SyncServer(server, reported) == "RESET timezone;RESET application_name;");
  CHECK(plain.SyncServer(server, reported).empty());
  const StartupSettings utc_login = {{{"timezone", "UTC"}}, StartupSettings::NextSerial()};
  SessionSettings utc;
  utc.SetStartup(&utc_login);
  CHECK(utc.SyncServer(server, reported).empty());  // the server's default is the value already
  server.MarkUnknown("timezone");                     // another client's SET went out
  CHECK(utc.SyncServer(server, reported) == "SET timezone TO 'UTC';");
  CHECK(protocol::QuoteLiteral("it's a\\b") == "E'it''s a\\\\b'");
}

TEST_CASE("a server connection remembers the login it was last brought to; any change there, a new default "
          "or another login makes the next client compared in full", "[relay][settings]") {
  ServerSettings server;
  Settings reported = {{"TimeZone", "UTC"}, {"application_name", ""}};
  const StartupSettings tokyo_login = {{{"TimeZone", "Asia/Tokyo"}}, StartupSettings::NextSerial()};
  const StartupSettings paris_login = {{{"TimeZone", "Europe/Paris"}}, StartupSettings::NextSerial()};
  SessionSettings tokyo;
  tokyo.SetStartup(&tokyo_login);
  SessionSettings tokyo_again;  // another session of the same (interned) login
  tokyo_again.SetStartup(&tokyo_login);
  SessionSettings paris;
  paris.SetStartup(&paris_login);

  CHECK(tokyo.SyncServer(server, reported) == "SET timezone TO 'Asia/Tokyo';");
  CHECK(tokyo_again.SyncServer(server, reported).empty());
  CHECK(paris.SyncServer(server, reported) == "SET timezone TO 'Europe/Paris';");
  CHECK(tokyo_again.SyncServer(server, reported) == "SET timezone TO 'Asia/Tokyo';");

  // What a client's statement may have changed, what it committed, what it reset.
  server.MarkUnknown("timezone");
  CHECK(tokyo.SyncServer(server, reported) == "SET timezone TO 'Asia/Tokyo';");
  server.Set("timezone", "America/Lima");
  CHECK(tokyo.SyncServer(server, reported) == "SET timezone TO 'Asia/Tokyo';");
  server.Set("application_name", "left over");
  CHECK(tokyo.SyncServer(server, reported) == "RESET application_name;");
  server.Clear();  // DISCARD ALL
  CHECK(tokyo.SyncServer(server, reported) == "SET timezone TO 'Asia/Tokyo';");

  // A client whose startup value is the server's default needs nothing, until the default changes.
  const StartupSettings utc_login = {{{"TimeZone", "UTC"}}, StartupSettings::NextSerial()};
  SessionSettings utc;
  utc.SetStartup(&utc_login);
  server.Clear();
  CHECK(utc.SyncServer(server, reported).empty());
  reported[0].second = "Asia/Kolkata";  // postgresql.conf changed and reloaded: a ParameterStatus came
  server.ForgetSync();
  CHECK(utc.SyncServer(server, reported) == "SET timezone TO 'UTC';");

  // A client with SETs of its own is compared in full every time.
  SessionSettings own;
  own.SetStartup(&tokyo_login);
  own.Commit(SessionEffect{SessionEffect::Kind::kSet, "TimeZone", "Africa/Cairo"}, server);
  CHECK(tokyo.SyncServer(server, reported) == "SET timezone TO 'Asia/Tokyo';");
  CHECK(own.SyncServer(server, reported) == "SET timezone TO 'Africa/Cairo';");
  CHECK(own.SyncServer(server, reported).empty());
  CHECK(tokyo_again.SyncServer(server, reported) == "SET timezone TO 'Asia/Tokyo';");

  // Serials are never given twice.
  CHECK(StartupSettings::NextSerial() != StartupSettings::NextSerial());
}

TEST_CASE("startup values have one serial whatever login sends them, and a serial names one list of values",
          "[relay][settings]") {
  const Settings tokyo = {{"TimeZone", "Asia/Tokyo"}, {"application_name", "app"}};
  const uint64_t serial = StartupSettings::SerialOf(tokyo);
  CHECK(serial != 0);
  CHECK(StartupSettings::SerialOf(Settings(tokyo)) == serial);  // another login of the same application
  CHECK(StartupSettings::SerialOf({{"TimeZone", "Asia/Tokyo"}, {"application_name", "ap"}}) != serial);
  CHECK(StartupSettings::SerialOf({{"application_name", "app"}, {"TimeZone", "Asia/Tokyo"}}) != serial);
  // Lengths keep names and values apart: "a"="bc" is not "ab"="c".
  CHECK(StartupSettings::SerialOf({{"a", "bc"}}) != StartupSettings::SerialOf({{"ab", "c"}}));
  CHECK(StartupSettings::SerialOf({}) == StartupSettings::SerialOf({}));

  // A server brought to one login's values needs nothing for another login with the same values.
  ServerSettings server;
  const Settings reported = {{"TimeZone", "UTC"}, {"application_name", ""}};
  const StartupSettings first_login = {tokyo, StartupSettings::SerialOf(tokyo)};
  const StartupSettings second_login = {tokyo, StartupSettings::SerialOf(tokyo)};
  SessionSettings first, second;
  first.SetStartup(&first_login);
  second.SetStartup(&second_login);
  CHECK(first.SyncServer(server, reported) == "SET timezone TO 'Asia/Tokyo';SET application_name TO 'app';");
  CHECK(second.SyncServer(server, reported).empty());

  // Past kMaxRemembered lists the table starts again: a list seen before gets a new serial, and no
  // serial ever names two different lists.
  std::map<uint64_t, Settings> named = {{serial, tokyo}};
  for (size_t i = 0; i <= StartupSettings::kMaxRemembered; ++i) {
    Settings values = {{"application_name", "client " + std::to_string(i)}};
    auto [it, fresh] = named.emplace(StartupSettings::SerialOf(values), values);
    CHECK((fresh || it->second == values));
  }
  const uint64_t again = StartupSettings::SerialOf(tokyo);
  CHECK(again != serial);
  CHECK(named.count(again) == 0);
}

TEST_CASE("DEALLOCATE ALL drops the client's statements; the server's are prepared again", "[relay][settings]") {
  RunResult r = RunEverySplit(Mode::kTransaction,
                              {Parse("s1", "select 1") + Sync(), Query("deallocate all"),
                               Bind("", "s1") + Execute() + Sync(),
                               Parse("s1", "select 1") + Bind("", "s1") + Execute() + Sync()});
  CHECK(Tags(r.to_client) == "1 Z(I) T D D C Z(I) E(26000) Z(I) 1 2 D D C Z(I)");
}

TEST_CASE("Close of a statement the client never prepared does not reach the server", "[relay][settings]") {
  // The server's content-named statement is shared by every client preparing the same text.
  const std::string query_and_types = std::string("select 1\0\0\0", 11);
  const std::string server_name = ServerStatementName(AsBytes(query_and_types));
  RunResult r = RunEverySplit(Mode::kTransaction,
                              {Query("begin"), Parse("s1", "select 1") + Sync(), Close('S', server_name) + Sync(),
                               Bind("", "s1") + Execute() + Sync(), Query("commit")});
  CHECK(Tags(r.to_client) == "C Z(T) 1 Z(T) 3 Z(T) 2 D D C Z(T) C Z(I)");
}

TEST_CASE("DEALLOCATE name drops the client's statement only; the server keeps its shared one", "[relay][settings]") {
  RunResult r = RunEverySplit(Mode::kTransaction,
                              {Query("begin"), Parse("s1", "select 1") + Sync(), Query("deallocate s1"),
                               Bind("", "s1") + Execute() + Sync(), Query("deallocate s1"), Query("rollback"),
                               Parse("", "deallocate s2") + Bind("", "") + Execute() + Sync()});
  // The stand-in's rows are the fake server's; PostgreSQL answers DEALLOCATE with a tag alone.
  CHECK(Tags(r.to_client) == "C Z(T) 1 Z(T) T D D C Z(T) E(26000) Z(E) E(26000) Z(E) C Z(I) E(26000) Z(I)");
}

TEST_CASE("what of a transaction's effects commits: ROLLBACK and ROLLBACK TO undo, RELEASE keeps", "[relay][settings]") {
  using Kind = SessionEffect::Kind;
  auto set = [](std::string value) { return SessionEffect{Kind::kSet, "timezone", std::move(value)}; };
  auto mark = [](Kind kind, std::string name) { return SessionEffect{kind, std::move(name), ""}; };
  CHECK(CommittedEffects({set("A"), mark(Kind::kSavepoint, "s"), set("B"), mark(Kind::kRollbackTo, "s")}) ==
        SessionEffects{set("A")});
  // ROLLBACK TO keeps the savepoint: a second ROLLBACK TO it undoes what came after the first.
  CHECK(CommittedEffects({mark(Kind::kSavepoint, "s"), set("B"), mark(Kind::kRollbackTo, "s"), set("C"),
                          mark(Kind::kRollbackTo, "s"), set("D")}) == SessionEffects{set("D")});
  // RELEASE keeps what was set since, and releases the savepoints made after it.
  CHECK(CommittedEffects({mark(Kind::kSavepoint, "s"), set("B"), mark(Kind::kSavepoint, "t"), set("C"),
                          mark(Kind::kRelease, "s"), mark(Kind::kRollbackTo, "t")}) ==
        SessionEffects{set("B"), set("C")});
  // A repeated name: the newest savepoint of that name wins; RELEASE uncovers the older one.
  CHECK(CommittedEffects({mark(Kind::kSavepoint, "s"), set("B"), mark(Kind::kSavepoint, "s"), set("C"),
                          mark(Kind::kRollbackTo, "s"), mark(Kind::kRelease, "s"), mark(Kind::kRollbackTo, "s")})
            .empty());
  CHECK(CommittedEffects({set("A"), mark(Kind::kRollback, ""), set("B")}) == SessionEffects{set("B")});
  // An unknown savepoint failed on the server: nothing to undo here.
  CHECK(CommittedEffects({set("A"), mark(Kind::kRollbackTo, "nope")}) == SessionEffects{set("A")});
}

}  // namespace
}  // namespace pgtenant::relay::testing
