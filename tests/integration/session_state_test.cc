// The client's virtual session (issue 23): session parameters SET, RESET and SHOWn as in PostgreSQL in
// transaction pooling, kept per client and laid onto whichever server connection it gets; RESET
// returning to the startup value and RESET ALL / DISCARD ALL / asyncpg's reset query in both pool
// modes; DEALLOCATE ALL acting on the client's own statements; no value ever crossing from one client
// to another on a shared server connection.
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

using namespace std::chrono_literals;

ProxyConfig Config(const TestDatabase& db, const std::string& mode, int size) {
  ProxyConfig config = StandardConfig(db);
  config.pool_mode = mode;
  config.pool_size = size;
  config.pool_wait_timeout = "30s";
  return config;
}

std::string ParameterStatus(PGconn* conn, const char* name) {
  const char* value = PQparameterStatus(conn, name);
  return value == nullptr ? "<none>" : value;
}

std::string CommandTag(PGconn* conn, const std::string& sql) {
  PgResult result = MustExec(conn, sql);
  return PQcmdStatus(result.get());
}

// How the client sees its own session: the parameters, and values rendered with them.
struct SessionView {
  std::string timezone, application_name, extra_float_digits, timestamp, third, reported_timezone, reported_name;
  bool operator==(const SessionView&) const = default;
};

SessionView ViewOf(PGconn* conn) {
  SessionView v;
  v.timezone = QueryValue(conn, "SHOW TimeZone");
  v.application_name = QueryValue(conn, "SHOW application_name");
  v.extra_float_digits = QueryValue(conn, "SHOW extra_float_digits");
  v.timestamp = QueryValue(conn, "SELECT '2024-06-01 12:00:00+00'::timestamptz::text");
  v.third = QueryValue(conn, "SELECT (1 / 3::float8)::text");
  v.reported_timezone = ParameterStatus(conn, "TimeZone");
  v.reported_name = ParameterStatus(conn, "application_name");
  return v;
}

std::ostream& operator<<(std::ostream& out, const SessionView& v) {
  return out << "{" << v.timezone << " | " << v.application_name << " | " << v.extra_float_digits << " | "
             << v.timestamp << " | " << v.third << " | reported " << v.reported_timezone << ", " << v.reported_name
             << "}";
}

TEST_CASE("in transaction pooling SET, RESET and SHOW of session parameters work as in PostgreSQL",
          "[session_state][transaction]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("vstate");
  ProxyProcess proxy(Config(db, "transaction", 1));  // one server connection: both clients use it
  PgConn a = MustConnectProxy(proxy, "alice", kAlicePassword, "app", "options='-c TimeZone=America/Sao_Paulo'");
  PgConn b = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  const std::string b_zone = QueryValue(b.get(), "SHOW TimeZone");
  const std::string b_digits = QueryValue(b.get(), "SHOW extra_float_digits");
  REQUIRE(b_zone != "Asia/Tokyo");
  CHECK(QueryValue(a.get(), "SHOW TimeZone") == "America/Sao_Paulo");

  CHECK(CommandTag(a.get(), "SET TimeZone = 'Asia/Tokyo'") == "SET");
  CHECK(ParameterStatus(a.get(), "TimeZone") == "Asia/Tokyo");
  CHECK(QueryValue(b.get(), "SHOW TimeZone") == b_zone);
  CHECK(ParameterStatus(b.get(), "TimeZone") == b_zone);
  CHECK(QueryValue(a.get(), "SHOW TimeZone") == "Asia/Tokyo");

  CHECK(CommandTag(a.get(), "SET SESSION TIME ZONE 'Europe/Paris'") == "SET");
  CHECK(QueryValue(b.get(), "SHOW TimeZone") == b_zone);
  CHECK(QueryValue(a.get(), "SHOW TimeZone") == "Europe/Paris");

  // PostgreSQL's own error for an invalid value; the session and its value go on.
  PgResult invalid = Exec(a.get(), "SET TimeZone = 'No/Such_Zone'");
  CHECK(Sqlstate(invalid.get()) == "22023");
  CHECK(QueryValue(a.get(), "SHOW TimeZone") == "Europe/Paris");

  // pgjdbc's connection setup.
  CHECK(CommandTag(a.get(), "SET extra_float_digits = 3") == "SET");
  CHECK(CommandTag(a.get(), "SET application_name = 'PostgreSQL JDBC Driver'") == "SET");
  CHECK(QueryValue(b.get(), "SHOW extra_float_digits") == b_digits);
  CHECK(QueryValue(a.get(), "SHOW extra_float_digits") == "3");
  CHECK(ParameterStatus(a.get(), "application_name") == "PostgreSQL JDBC Driver");

  // RESET goes back to the startup value (options -c), not to the server's default.
  CHECK(CommandTag(a.get(), "RESET TimeZone") == "RESET");
  CHECK(QueryValue(a.get(), "SHOW TimeZone") == "America/Sao_Paulo");
  CHECK(ParameterStatus(a.get(), "TimeZone") == "America/Sao_Paulo");
  CHECK(QueryValue(b.get(), "SHOW TimeZone") == b_zone);
  CHECK(CommandTag(a.get(), "SET TimeZone TO DEFAULT") == "SET");
  CHECK(QueryValue(a.get(), "SHOW TimeZone") == "America/Sao_Paulo");

  // A SET in a transaction that rolls back is undone; SET LOCAL lasts for its transaction.
  MustExec(a.get(), "BEGIN");
  MustExec(a.get(), "SET TimeZone = 'Asia/Tokyo'");
  MustExec(a.get(), "ROLLBACK");
  CHECK(QueryValue(b.get(), "SHOW TimeZone") == b_zone);
  CHECK(QueryValue(a.get(), "SHOW TimeZone") == "America/Sao_Paulo");
  MustExec(a.get(), "BEGIN");
  MustExec(a.get(), "SET LOCAL TimeZone = 'Asia/Tokyo'");
  CHECK(QueryValue(a.get(), "SHOW TimeZone") == "Asia/Tokyo");
  MustExec(a.get(), "COMMIT");
  CHECK(QueryValue(a.get(), "SHOW TimeZone") == "America/Sao_Paulo");

  // A setting to the value the server has already is no change: allowed.
  CHECK(CommandTag(a.get(), "SET standard_conforming_strings = on") == "SET");
  // What stays refused.
  CHECK(Sqlstate(Exec(a.get(), "SET app.current_organization_id = '00000000-0000-0000-0000-000000000000'").get()) ==
        "42501");
  CHECK(Sqlstate(Exec(a.get(), "SET ROLE postgres").get()) == "42501");
  CHECK(Sqlstate(Exec(a.get(), "SET SESSION AUTHORIZATION postgres").get()) == "42501");
  CHECK(Sqlstate(Exec(a.get(), "SET work_mem = '7MB'").get()) == "42501");
  CHECK(Sqlstate(Exec(a.get(), "SET standard_conforming_strings = off").get()) == "42501");
  CHECK(QueryValue(a.get(), "SELECT current_setting('app.current_organization_id')") == kAcmeId);
  CHECK(QueryValue(b.get(), "SELECT current_setting('app.current_organization_id')") == kAcmeId);
}

TEST_CASE("set_config(name, value, false) in transaction pooling goes through the same rules as SET",
          "[session_state][transaction]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("vstate");
  ProxyConfig config = Config(db, "transaction", 1);
  config.extra_yaml = "policy:\n  rules:\n    context.set_config: off\n";
  ProxyProcess proxy(config);
  PgConn a = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  PgConn b = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  const std::string b_zone = QueryValue(b.get(), "SHOW TimeZone");
  REQUIRE(b_zone != "Asia/Kolkata");
  CHECK(QueryValue(a.get(), "SELECT set_config('TimeZone', 'Asia/Kolkata', false)") == "Asia/Kolkata");
  CHECK(QueryValue(b.get(), "SHOW TimeZone") == b_zone);
  CHECK(QueryValue(a.get(), "SHOW TimeZone") == "Asia/Kolkata");
  // Not a session parameter: it would stay on the shared connection.
  CHECK(Sqlstate(Exec(a.get(), "SELECT set_config('work_mem', '7MB', false)").get()) == "42501");
  CHECK(QueryValue(a.get(), "SELECT set_config('work_mem', '7MB', true)") == "7MB");
  CHECK(QueryValue(b.get(), "SHOW work_mem") != "7MB");
}

TEST_CASE("clients with different parameters alternating on one server connection each see only their own",
          "[session_state][transaction]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("vstate");
  ProxyProcess proxy(Config(db, "transaction", 1));
  // The plain client first sees the server's defaults; it must keep seeing them.
  PgConn plain = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  const SessionView defaults = ViewOf(plain.get());
  REQUIRE(defaults.timezone != "Asia/Tokyo");
  PgConn tokyo = MustConnectProxy(proxy, "alice", kAlicePassword, "app",
                                  "options='-c TimeZone=Asia/Tokyo -c extra_float_digits=-3' application_name=leaky");
  const SessionView tokyo_view = ViewOf(tokyo.get());
  CHECK(tokyo_view.timezone == "Asia/Tokyo");
  CHECK(tokyo_view.application_name == "leaky");
  CHECK(tokyo_view.timestamp == "2024-06-01 21:00:00+09");
  CHECK(tokyo_view.third == "0.333333333333");
  CHECK(tokyo_view.reported_timezone == "Asia/Tokyo");
  // The case: a plain client connecting after the Tokyo one got its connection.
  PgConn late = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  CHECK(ViewOf(late.get()) == defaults);
  PgConn setter = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  MustExec(setter.get(), "SET TIME ZONE 'America/New_York'");
  MustExec(setter.get(), "SET application_name = 'setter'");
  MustExec(setter.get(), "SET extra_float_digits = 0");
  const SessionView setter_view = ViewOf(setter.get());
  CHECK(setter_view.timestamp == "2024-06-01 08:00:00-04");
  CHECK(setter_view.third == "0.333333333333333");
  CHECK(setter_view.reported_name == "setter");
  for (int round = 0; round < 20; ++round) {
    INFO("round " << round);
    REQUIRE(ViewOf(plain.get()) == defaults);
    REQUIRE(ViewOf(tokyo.get()) == tokyo_view);
    REQUIRE(ViewOf(late.get()) == defaults);
    REQUIRE(ViewOf(setter.get()) == setter_view);
  }
}

TEST_CASE("savepoints: ROLLBACK TO undoes what was SET since, RELEASE keeps it, an aborted COMMIT keeps nothing",
          "[session_state][transaction]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("vstate");
  ProxyProcess proxy(Config(db, "transaction", 1));  // one server connection: b's turns force a's values back
  PgConn a = MustConnectProxy(proxy, "alice", kAlicePassword, "app", "options='-c TimeZone=America/Sao_Paulo'");
  PgConn b = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  const std::string b_zone = QueryValue(b.get(), "SHOW TimeZone");
  REQUIRE(b_zone != "America/Sao_Paulo");
  struct Case {
    std::vector<std::string> statements;  // each sent alone (some fail, as they would directly)
    std::string zone;                      // a's TimeZone afterwards, in its next transaction
  };
  const std::vector<Case> cases = {
      {{"BEGIN", "SET TimeZone = 'Asia/Tokyo'", "SAVEPOINT s", "SET TimeZone = 'Europe/Paris'", "ROLLBACK TO s",
        "COMMIT"},
       "Asia/Tokyo"},
      {{"BEGIN", "SET TimeZone = 'Asia/Kolkata'", "SAVEPOINT s", "SELECT 1/0", "ROLLBACK TO SAVEPOINT s", "COMMIT"},
       "Asia/Kolkata"},
      {{"BEGIN", "SAVEPOINT s", "SET TimeZone = 'Europe/Oslo'", "SAVEPOINT t", "RELEASE SAVEPOINT s", "COMMIT"},
       "Europe/Oslo"},
      {{"BEGIN", "SET TimeZone = 'Europe/Lisbon'", "SELECT 1/0", "COMMIT"}, "Europe/Oslo"},
      {{"BEGIN; SET TimeZone = 'Asia/Seoul'; SAVEPOINT s; SET TimeZone = 'Asia/Dubai'; ROLLBACK TO s; COMMIT"},
       "Asia/Seoul"},
      {{"BEGIN", "SAVEPOINT s", "SET TimeZone = 'Africa/Cairo'", "SAVEPOINT s", "SET TimeZone = 'Asia/Dubai'",
        "ROLLBACK TO s", "RELEASE s", "ROLLBACK TO s", "COMMIT"},
       "Asia/Seoul"},
  };
  for (const Case& c : cases) {
    INFO(c.statements.front() << " ... " << c.statements.back());
    for (const std::string& statement : c.statements) (void)Exec(a.get(), statement);
    CHECK(QueryValue(b.get(), "SHOW TimeZone") == b_zone);
    CHECK(QueryValue(a.get(), "SHOW TimeZone") == c.zone);
    CHECK(QueryValue(b.get(), "SHOW TimeZone") == b_zone);
    CHECK(QueryValue(a.get(), "SELECT current_setting('TimeZone')") == c.zone);
  }
}

TEST_CASE("RESET, RESET ALL, DISCARD ALL and asyncpg's reset query return to the startup values in both pool modes",
          "[session_state]") {
  const std::string mode = GENERATE(std::string("session"), std::string("transaction"));
  INFO(mode << " pooling");
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("vstate");
  ProxyProcess proxy(Config(db, mode, 1));
  PgConn a = MustConnectProxy(proxy, "alice", kAlicePassword, "app",
                              "options='-c TimeZone=Asia/Tokyo -c DateStyle=ISO,DMY' application_name=app");
  const std::string digits = QueryValue(a.get(), "SHOW extra_float_digits");
  CHECK(QueryValue(a.get(), "SHOW DateStyle") == "ISO, DMY");
  MustExec(a.get(), "SET DateStyle = 'German'");
  CHECK(CommandTag(a.get(), "RESET DateStyle") == "RESET");
  CHECK(QueryValue(a.get(), "SHOW DateStyle") == "ISO, DMY");
  CHECK(ParameterStatus(a.get(), "DateStyle") == "ISO, DMY");
  for (const std::string reset : {"RESET ALL", "DISCARD ALL", "SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;"}) {
    INFO(reset);
    MustExec(a.get(), "SET TimeZone = 'UTC'");
    MustExec(a.get(), "SET application_name = 'other'");
    MustExec(a.get(), "SET extra_float_digits = 0");
    std::optional<std::vector<PgResult>> results = ExecWithTimeout(a.get(), reset, 10s);
    REQUIRE(results.has_value());
    for (const PgResult& r : *results) CHECK(Sqlstate(r.get()) == "");
    CHECK(QueryValue(a.get(), "SHOW TimeZone") == "Asia/Tokyo");
    CHECK(QueryValue(a.get(), "SHOW application_name") == "app");
    CHECK(QueryValue(a.get(), "SHOW extra_float_digits") == digits);
    CHECK(QueryValue(a.get(), "SHOW DateStyle") == "ISO, DMY");
    CHECK(ParameterStatus(a.get(), "TimeZone") == "Asia/Tokyo");
    CHECK(ParameterStatus(a.get(), "application_name") == "app");
    // The tenant context is the server session's default: untouched.
    CHECK(QueryValue(a.get(), "SELECT current_setting('app.current_organization_id')") == kAcmeId);
  }
}

TEST_CASE("DEALLOCATE ALL and DEALLOCATE name in transaction pooling act on the client's statements only",
          "[session_state][transaction]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("vstate");
  ProxyProcess proxy(Config(db, "transaction", 1));
  PgConn a = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  PgConn b = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  auto exec_prepared = [](PGconn* conn, const char* name) {
    return PgResult(PQexecPrepared(conn, name, 0, nullptr, nullptr, nullptr, 0));
  };
  auto prepare = [](PGconn* conn, const char* name) {
    PgResult r(PQprepare(conn, name, "SELECT 41 + 1", 0, nullptr));
    REQUIRE(PQresultStatus(r.get()) == PGRES_COMMAND_OK);
  };
  prepare(a.get(), "s1");
  prepare(b.get(), "b1");  // the same text: the same statement on the server connection
  CHECK(std::string(PQgetvalue(exec_prepared(a.get(), "s1").get(), 0, 0)) == "42");
  CHECK(CommandTag(a.get(), "DEALLOCATE ALL") == "DEALLOCATE ALL");
  CHECK(Sqlstate(exec_prepared(a.get(), "s1").get()) == "26000");
  PgResult other = exec_prepared(b.get(), "b1");
  REQUIRE(PQresultStatus(other.get()) == PGRES_TUPLES_OK);
  CHECK(std::string(PQgetvalue(other.get(), 0, 0)) == "42");
  prepare(a.get(), "s1");
  CHECK(std::string(PQgetvalue(exec_prepared(a.get(), "s1").get(), 0, 0)) == "42");
  // psycopg 3 sends it with the extended protocol, after a rollback.
  MustExec(a.get(), "BEGIN");
  MustExec(a.get(), "ROLLBACK");
  PgResult extended(PQexecParams(a.get(), "DEALLOCATE ALL", 0, nullptr, nullptr, nullptr, nullptr, 0));
  CHECK(PQresultStatus(extended.get()) == PGRES_COMMAND_OK);
  CHECK(Sqlstate(exec_prepared(a.get(), "s1").get()) == "26000");
  CHECK(std::string(PQgetvalue(exec_prepared(b.get(), "b1").get(), 0, 0)) == "42");

  // DEALLOCATE name, as psycopg 3 sends it when its cache evicts a statement.
  prepare(a.get(), "s1");
  CHECK(CommandTag(a.get(), "DEALLOCATE s1") == "DEALLOCATE");
  CHECK(Sqlstate(exec_prepared(a.get(), "s1").get()) == "26000");
  CHECK(Sqlstate(Exec(a.get(), "DEALLOCATE s1").get()) == "26000");
  CHECK(std::string(PQgetvalue(exec_prepared(b.get(), "b1").get(), 0, 0)) == "42");
  prepare(a.get(), "s2");
  PgResult extended_name(PQexecParams(a.get(), "DEALLOCATE s2", 0, nullptr, nullptr, nullptr, nullptr, 0));
  CHECK(PQresultStatus(extended_name.get()) == PGRES_COMMAND_OK);
  CHECK(Sqlstate(exec_prepared(a.get(), "s2").get()) == "26000");
  // The server's statements are not the client's to drop.
  const std::string server_name = QueryValue(b.get(), "SELECT name FROM pg_prepared_statements LIMIT 1");
  REQUIRE(server_name.rfind("pgt_", 0) == 0);
  CHECK(Sqlstate(Exec(a.get(), "DEALLOCATE " + server_name).get()) == "26000");
  CHECK(std::string(PQgetvalue(exec_prepared(b.get(), "b1").get(), 0, 0)) == "42");
}

TEST_CASE("session parameters are accepted at startup and in PGOPTIONS; other settings are still refused",
          "[session_state]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("vstate");
  ProxyProcess proxy(Config(db, "transaction", 2));
  PgConn a = MustConnectProxy(proxy, "alice", kAlicePassword, "app",
                              "options='-c statement_timeout=5s --lock-timeout=3s -c pgtenant.tenant=acme'");
  CHECK(QueryValue(a.get(), "SHOW statement_timeout") == "5s");
  CHECK(QueryValue(a.get(), "SHOW lock_timeout") == "3s");
  PgConn refused = ConnectProxy(proxy, "alice", kAlicePassword, "app", "options='-c work_mem=7MB'");
  CHECK(PQstatus(refused.get()) == CONNECTION_BAD);
  CHECK(StartupSqlstate(refused.get()) == "0A000");
}

}  // namespace
}  // namespace pgtenant::integration
