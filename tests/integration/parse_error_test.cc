// SQL the parser cannot read (rule parse.error, never forwarded): the client gets what PostgreSQL
// itself answers for the same text, field for field (message, SQLSTATE, hint, Position), in the simple
// and the extended protocol, so that psql prints the same "LINE 1:" and caret (issue 23, item 4).
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/harness/client_programs.h"
#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/poll.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/temp_dir.h"

namespace pgtenant::integration {
namespace {

// Texts PostgreSQL 15's parser refuses: plain syntax errors, scanner errors, several statements,
// multibyte text, and every message whose SQLSTATE or hint pgtenant restores (policy/sql_parser.cc).
const std::vector<std::string> kUnparseable = {
    "SELECT 1 FROM WHERE",
    "SELEC 1",
    "SELECT * FROM t WHERE a = 1 COLLATE",
    "SELECT 1 +",
    "SELECT 1; SELECT 2; SELEC 3",
    "SELECT 1;\nSELECT 2 FROM\n  WHERE x",
    "SELECT '\xC3\xA9\xC3\xA9', '\xC3\xBC\xC3\xBC' FROM WHERE",
    "SELECT '\xF0\x9F\x98\x80' AS \"\xE2\x82\xAC\" FROM WHERE",
    "SELECT 'unterminated",
    "/* unterminated",
    "SELECT \"\"",
    // Not "SELECT 123abc": libpg_query's scanner (15.1) quotes "123a" where the server's (15.2 on)
    // quotes "123abc" in `trailing junk after numeric literal at or near ...` (same code and Position).
    "SELECT sum(1) OVER (ROWS UNBOUNDED FOLLOWING)",
    "SELECT sum(1) OVER (ROWS BETWEEN 1 FOLLOWING AND CURRENT ROW)",
    "SELECT sum(1) OVER (ROWS BETWEEN CURRENT ROW AND UNBOUNDED PRECEDING)",
    "SELECT sum(1) OVER (ROWS BETWEEN CURRENT ROW AND 1 PRECEDING)",
    "SELECT 1::float(0)",
    "SELECT 1::float(60)",
    "CREATE TABLE t (a int, CHECK (a > 0) DEFERRABLE)",
    "CREATE TABLE t (a int, UNIQUE (a) NOT VALID)",
    "CREATE TABLE t (a int, UNIQUE (a) NO INHERIT)",
    "CREATE RECURSIVE VIEW v (a) AS SELECT 1 WITH CHECK OPTION",
    "CREATE ASSERTION a CHECK (true)",
    "SELECT UNIQUE (SELECT 1)",
    "CREATE AGGREGATE a(OUT int) (sfunc = f, stype = int)",
    "CREATE ROLE current_user",
    "CREATE ROLE none",
    "CREATE POLICY p ON t AS foo",
    "SELECT * FROM (SELECT 1)",
    "SELECT * FROM (VALUES (1))",
    "SELECT 1 LIMIT 1, 2",
    "DROP OPERATOR + (int)",
    "SELECT E'\\u12'",
    "SELECT U&'\\12'",
    "SELECT E'\\uD800'",
    "SELECT U&'\\D800'",
    "SELECT U&'\\+FFFFFF'",
    "SELECT E'\\U00110000'",
    "SELECT U&'a' UESCAPE 'xy'",
    "SELECT * FROM t FETCH FIRST 1 ROWS WITH TIES",
};

// The fields a client sees of an error, as libpq reports them ("" for an absent one).
struct Seen {
  std::string sqlstate, message, hint, detail, position;
  bool operator==(const Seen&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Seen& s) {
  return out << s.sqlstate << " \"" << s.message << "\" hint \"" << s.hint << "\" detail \"" << s.detail
             << "\" position " << s.position;
}

std::string Field(const PGresult* result, int code) {
  const char* value = PQresultErrorField(result, code);
  return value != nullptr ? value : "";
}

Seen SeenIn(const PGresult* result) {
  return Seen{Field(result, PG_DIAG_SQLSTATE), Field(result, PG_DIAG_MESSAGE_PRIMARY), Field(result, PG_DIAG_MESSAGE_HINT),
              Field(result, PG_DIAG_MESSAGE_DETAIL), Field(result, PG_DIAG_STATEMENT_POSITION)};
}

Seen QueryError(PGconn* conn, const std::string& sql) {
  PgResult result = Exec(conn, sql);
  REQUIRE(PQresultStatus(result.get()) == PGRES_FATAL_ERROR);
  return SeenIn(result.get());
}

Seen ParseError(PGconn* conn, const std::string& sql) {
  PgResult result(PQprepare(conn, "", sql.c_str(), 0, nullptr));
  REQUIRE(result != nullptr);
  REQUIRE(PQresultStatus(result.get()) == PGRES_FATAL_ERROR);
  return SeenIn(result.get());
}

struct DirectAndProxied {
  PostgresServer& server = PostgresServer::Shared();
  TestDatabase db = server.CreateTestDatabase("parse_error");
  TempDir audit_dir{"pgtenant-audit-"};
  std::string audit_path = audit_dir.File("audit.jsonl");
  ProxyProcess proxy{[&] {
    ProxyConfig config = StandardConfig(db);
    config.extra_yaml = "audit: { sinks: [ { type: file, path: " + audit_path + " } ] }\n";
    return config;
  }()};
  PgConn direct = Connect(server.ConnString(db.role, db.password, db.database));
  PgConn proxied = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
};

TEST_CASE("SQL the parser refuses gets PostgreSQL's own error through pgtenant: message, SQLSTATE, hint, Position",
          "[policy][parse_error]") {
  DirectAndProxied both;
  REQUIRE(PQstatus(both.direct.get()) == CONNECTION_OK);
  for (const std::string& sql : kUnparseable) {
    INFO("statement: " << sql);
    const Seen expected = QueryError(both.direct.get(), sql);
    const Seen got = QueryError(both.proxied.get(), sql);
    CHECK(got == expected);
    // The session goes on after each refusal.
    CHECK(QueryValue(both.proxied.get(), "SELECT 'still here'") == "still here");
  }
}

TEST_CASE("in the extended protocol a Parse the parser refuses gets PostgreSQL's error and Position too",
          "[policy][parse_error]") {
  DirectAndProxied both;
  REQUIRE(PQstatus(both.direct.get()) == CONNECTION_OK);
  for (const std::string& sql : kUnparseable) {
    INFO("statement: " << sql);
    const Seen expected = ParseError(both.direct.get(), sql);
    const Seen got = ParseError(both.proxied.get(), sql);
    CHECK(got == expected);
  }
  CHECK(QueryValue(both.proxied.get(), "SELECT 'still here'") == "still here");
}

TEST_CASE("an operator chain too long to inspect gets 54001 in both protocols, and pgtenant and the session go on",
          "[policy][parse_error]") {
  DirectAndProxied both;
  std::string chain = "SELECT ";
  for (int i = 0; i < 100000; ++i) chain += "1+";  // 200 KB: libpg_query's output overflowed its stack
  chain += "1";
  PgConn other = MustConnectProxy(both.proxy, "alice", kAlicePassword, "app");
  PgResult simple = Exec(both.proxied.get(), chain);
  CHECK(Sqlstate(simple.get()) == "54001");
  CHECK(std::string(PQresultErrorField(simple.get(), PG_DIAG_MESSAGE_PRIMARY)) == "stack depth limit exceeded");
  CHECK(QueryValue(both.proxied.get(), "SELECT 'still here'") == "still here");
  PgResult prepared(PQprepare(both.proxied.get(), "", chain.c_str(), 0, nullptr));
  CHECK(Sqlstate(prepared.get()) == "54001");
  CHECK(QueryValue(both.proxied.get(), "SELECT 'still here'") == "still here");
  CHECK(QueryValue(other.get(), "SELECT 'and so is the other client'") == "and so is the other client");
}

TEST_CASE("with ulimit -s at 256 KB the deepest statements pgtenant inspects leave it running", "[policy][parse_error]") {
  // Worker 0 ran on the main thread, whose stack follows ulimit -s: libpg_query overflowed it.
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("parseerror");
  ProxyConfig config = StandardConfig(db);
  config.stack_limit = 256 << 10;
  ProxyProcess proxy(config);
  PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  std::string chain = "SELECT 1";
  for (int i = 0; i < 3990; ++i) chain += "+1";  // under the operator-chain limit: parsed and inspected
  const std::string nested = "SELECT " + std::string(900, '(') + "1" + std::string(900, ')');
  for (const std::string& sql : {chain, nested}) {
    PgResult result = Exec(conn.get(), sql);  // an answer or a refusal, whichever: not a crash
    CHECK(QueryValue(conn.get(), "SELECT 'still here'") == "still here");
  }
  CHECK_FALSE(proxy.WaitForExit(std::chrono::milliseconds(0)).has_value());
}

TEST_CASE("a multibyte syntax error has the same character Position through pgtenant as from PostgreSQL",
          "[policy][parse_error]") {
  DirectAndProxied both;
  const std::string sql = "SELECT '\xC3\xA9\xC3\xA9\xC3\xA9' FROM WHERE";  // 'ééé': 3 characters, 6 bytes
  const Seen expected = QueryError(both.direct.get(), sql);
  CHECK(expected.position == "19");  // counted in characters: WHERE is the 19th
  CHECK(QueryError(both.proxied.get(), sql) == expected);
}

TEST_CASE("psql prints the same error, LINE and caret through pgtenant as from PostgreSQL", "[policy][parse_error][tools]") {
  DirectAndProxied both;
  const std::string sql = "SELECT 1;\nSELECT a,\n       b FROM t WHERE a = 1 COLLATE \"C\" ORDER";
  auto run_psql = [&](const std::string& target, const std::string& password) {
    CommandResult ran = RunCommand({both.server.bindir() + "/psql", "-X", "-q", "-c", sql, target}, ClientEnv(password));
    INFO(ran.output);
    CHECK(ran.exit_code == 1);
    return ran.output;
  };
  const std::string direct = run_psql("host=127.0.0.1 port=" + std::to_string(both.server.port()) + " user=" +
                                          both.db.role + " dbname=" + both.db.database,
                                      both.db.password);
  const std::string proxied =
      run_psql("host=127.0.0.1 port=" + std::to_string(both.proxy.port()) + " user=alice dbname=app", kAlicePassword);
  CHECK_THAT(direct, Catch::Contains("LINE 3:") && Catch::Contains("^"));
  CHECK(proxied == direct);
}

TEST_CASE("a refused text is audited with rule parse.error and without the text it quotes", "[policy][parse_error]") {
  DirectAndProxied both;
  const Seen got = QueryError(both.proxied.get(), "SELECT 'top-secret-literal' 'x'");
  CHECK(got.message == "syntax error at or near \"'x'\"");
  const std::string& audit_path = both.audit_path;
  std::string line;
  REQUIRE(PollUntil(
      [&] {
        std::ifstream in(audit_path);
        std::string candidate;
        while (std::getline(in, candidate)) {
          if (candidate.find("statement_blocked") != std::string::npos) {
            line = candidate;
            return true;
          }
        }
        return false;
      },
      std::chrono::seconds(10)));
  CHECK_THAT(line, Catch::Contains("\"rule\":\"parse.error\""));
  CHECK_THAT(line, Catch::Contains("syntax error"));
  CHECK(line.find("top-secret-literal") == std::string::npos);
}

}  // namespace
}  // namespace pgtenant::integration
