// Hostile SQL through the real proxy: every attack is refused with its rule, written to the audit
// log without its literals, and the session stays usable (issue 4).
#include <catch2/catch.hpp>
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/poll.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/temp_dir.h"

namespace pgtenant::integration {
namespace {

constexpr char kGlobexId[] = "9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d";
constexpr char kViewerPassword[] = "viewer-secret";

struct Attack {
  const char* sql;
  std::set<std::string> rules;  // the rule that may report it (a few statements match two)
};

// Every category of issue 4, as a tenant member would send them.
const std::vector<Attack> kAttacks = {
    {"SET app.current_organization_id = '9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d'", {"context.tenant_setting"}},
    {"RESET app.current_organization_id", {"context.tenant_setting"}},
    {"SET LOCAL app.current_organization_id = 'x'", {"context.tenant_setting"}},
    {"SELECT set_config('app.current_organization_id', 'x', false)", {"context.set_config"}},
    {"SELECT name FROM projects WHERE name = (SELECT pg_catalog.set_config('a.b', 'c', true))", {"context.set_config"}},
    {"SET ROLE postgres", {"context.role"}},
    {"SET SESSION AUTHORIZATION postgres", {"context.role"}},
    {"ALTER ROLE CURRENT_USER SET app.current_organization_id = 'x'", {"context.persistent_defaults"}},
    {"CREATE ROLE intruder SUPERUSER", {"escalation.role"}},
    {"GRANT ALL ON projects TO PUBLIC", {"escalation.role"}},
    {"ALTER TABLE projects DISABLE ROW LEVEL SECURITY", {"rls.bypass"}},
    {"TRUNCATE projects", {"rls.bypass"}},
    {"DO $$ BEGIN PERFORM 1; END $$", {"dynamic_sql.do"}},
    {"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1'", {"dynamic_sql.function"}},
    {"SELECT query_to_xml('select 1', true, true, '')", {"dynamic_sql.executor"}},
    {"SELECT * FROM org_globex.projects", {"cross_tenant.schema"}},
    {"SELECT 'org_globex.projects'::regclass", {"cross_tenant.schema"}},
    {"SELECT pg_read_file('/etc/passwd')", {"server.files"}},
    {"COPY projects TO PROGRAM 'cat > /tmp/pgtenant-stolen'", {"server.programs"}},
    {"SELECT lo_import('/etc/passwd')", {"server.files", "server.large_objects"}},
    {"SELECT * FROM pg_stat_activity", {"server.other_sessions"}},
    {"SELECT pg_terminate_backend(1)", {"server.other_sessions"}},
    {"EXPLAIN ANALYZE SELECT 1", {"server.explain_analyze"}},
    {"CREATE EXTENSION dblink", {"server.foreign"}},
    {"CREATE TEMP TABLE scratch (x int)", {"pooling.session_state"}},
    {"PREPARE p AS SELECT 1", {"pooling.session_state"}},
    {"LISTEN everything", {"pooling.session_state"}},
    {"SELECT pg_advisory_lock(42)", {"pooling.session_state"}},
    {"SET work_mem = '64MB'", {"pooling.session_state"}},
    {"SET client_encoding = 'SJIS'", {"protocol.encoding", "pooling.session_state"}},
    {"SET standard_conforming_strings = off", {"protocol.encoding", "pooling.session_state"}},
    {"SELECT 1; SELECT 2; SELECT pg_read_file('/etc/shadow')", {"server.files"}},
};

std::string RuleOf(const std::string& message) {
  const std::string marker = "blocked by rule ";
  size_t at = message.find(marker);
  if (at == std::string::npos) return "";
  size_t start = at + marker.size();
  return message.substr(start, message.find(':', start) - start);
}

std::vector<std::string> AuditLines(const std::string& path, const std::string& type) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line))
    if (line.find("\"type\":\"" + type + "\"") != std::string::npos) lines.push_back(line);
  return lines;
}

std::vector<std::string> WaitForAuditLines(const std::string& path, const std::string& type, size_t count) {
  std::vector<std::string> lines;
  PollUntil([&] { return (lines = AuditLines(path, type)).size() >= count; }, std::chrono::seconds(5),
            std::chrono::milliseconds(50));
  return lines;
}

struct PolicyFixture {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("policy");
  TempDir dir{"pgtenant-audit-"};
  std::string audit_path = dir.File("audit.jsonl");
  ProxyConfig config;

  PolicyFixture() {
    PostgresServer::Shared().Exec(
        "CREATE SCHEMA org_globex AUTHORIZATION " + db.role + ";"
        "CREATE TABLE public.projects (org_id uuid, name text); ALTER TABLE public.projects OWNER TO " + db.role + ";"
        "CREATE TABLE org_globex.projects (name text); ALTER TABLE org_globex.projects OWNER TO " + db.role + ";",
        db.database);
    BackendConfig backend;
    backend.port = PostgresServer::Shared().port();
    backend.database = db.database;
    backend.user = db.role;
    backend.password = db.password;
    config.backends["app"] = backend;
    config.pool_mode = "transaction";
    config.tenants["acme"] = TenantSpec{kAcmeId, "rls", "app", ""};
    config.tenants["globex"] = TenantSpec{kGlobexId, "schema", "app", "org_globex"};
    config.users["alice"] = kAlicePassword;
    config.memberships["alice"]["acme"] = "member";
    config.users["vic"] = kViewerPassword;
    config.memberships["vic"]["acme"] = "viewer";
    config.extra_yaml = "audit: { sinks: [ { type: file, path: " + audit_path + " } ] }\n";
  }
};

TEST_CASE("attacks of every category are refused with their rule, audited, and the session goes on", "[policy]") {
  PolicyFixture fixture;
  ProxyProcess proxy(fixture.config);
  PgConn conn = MustConnectProxy(proxy, "alice.acme", kAlicePassword, "app");

  for (const Attack& attack : kAttacks) {
    INFO("attack: " << attack.sql);
    PgResult result = Exec(conn.get(), attack.sql);
    REQUIRE(PQresultStatus(result.get()) == PGRES_FATAL_ERROR);
    CHECK(Sqlstate(result.get()) == "42501");
    std::string message = ErrorMessage(result.get());
    CHECK(message.rfind("pgtenant: blocked by rule ", 0) == 0);
    CHECK(attack.rules.count(RuleOf(message)) == 1);
    // The session stays usable and in sync.
    CHECK(QueryValue(conn.get(), "SELECT 'still here'") == "still here");
  }

  // SQL the parser cannot read is refused, never forwarded, with PostgreSQL's own error (its rule,
  // parse.error, is in the audit event: parse_error_test.cc).
  PgResult garbled = Exec(conn.get(), "SELEC 1 FROM");
  CHECK(Sqlstate(garbled.get()) == "42601");
  CHECK(ErrorMessage(garbled.get()) == "syntax error at or near \"SELEC\"");

  // Nothing of a blocked multi-statement text ran: the first statements were not executed either.
  CHECK(QueryValue(conn.get(), "SELECT count(*) FROM pg_roles WHERE rolname = 'intruder'") == "0");

  // One statement_blocked event per refusal, with the rule and without the literals.
  std::vector<std::string> lines = WaitForAuditLines(fixture.audit_path, "statement_blocked", kAttacks.size() + 1);
  REQUIRE(lines.size() == kAttacks.size() + 1);
  sockaddr_in local{};
  socklen_t local_length = sizeof local;
  REQUIRE(getsockname(PQsocket(conn.get()), reinterpret_cast<sockaddr*>(&local), &local_length) == 0);
  const std::string client_address = "\"client_address\":\"127.0.0.1:" + std::to_string(ntohs(local.sin_port)) + "\"";
  for (const std::string& line : lines) {
    CHECK(line.find(client_address) != std::string::npos);
    CHECK(line.find("\"tenant\":\"acme\"") != std::string::npos);
    CHECK(line.find("\"user\":\"alice\"") != std::string::npos);
    CHECK(line.find("/etc/passwd") == std::string::npos);
    CHECK(line.find("\"rule\":\"") != std::string::npos);
  }
}

TEST_CASE("a blocked statement in the extended protocol fails its request and nothing else", "[policy]") {
  PolicyFixture fixture;
  ProxyProcess proxy(fixture.config);
  PgConn conn = MustConnectProxy(proxy, "alice.acme", kAlicePassword, "app");

  PgResult prepared = PgResult(PQprepare(conn.get(), "steal", "SELECT pg_read_file($1)", 1, nullptr));
  CHECK(Sqlstate(prepared.get()) == "42501");
  CHECK(RuleOf(ErrorMessage(prepared.get())) == "server.files");
  const char* value = "41";
  PgResult params = PgResult(PQexecParams(conn.get(), "SELECT $1::int + 1", 1, nullptr, &value, nullptr, nullptr, 0));
  REQUIRE(PQresultStatus(params.get()) == PGRES_TUPLES_OK);
  CHECK(std::string(PQgetvalue(params.get(), 0, 0)) == "42");

  // Pipeline: the statement before the blocked one answers, the blocked one errors, the one after
  // is skipped up to the sync; then the session carries on.
  REQUIRE(PQenterPipelineMode(conn.get()) == 1);
  REQUIRE(PQsendQueryParams(conn.get(), "SELECT 1", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1);
  REQUIRE(PQsendQueryParams(conn.get(), "SELECT pg_read_file('/etc/passwd')", 0, nullptr, nullptr, nullptr, nullptr,
                            0) == 1);
  REQUIRE(PQsendQueryParams(conn.get(), "SELECT 3", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1);
  REQUIRE(PQpipelineSync(conn.get()) == 1);
  std::vector<ExecStatusType> statuses;
  std::string blocked_sqlstate;
  for (int guard = 0; guard < 20; ++guard) {
    PGresult* r = PQgetResult(conn.get());
    if (r == nullptr) continue;
    ExecStatusType status = PQresultStatus(r);
    statuses.push_back(status);
    if (status == PGRES_FATAL_ERROR) blocked_sqlstate = Sqlstate(r);
    PQclear(r);
    if (status == PGRES_PIPELINE_SYNC) break;
  }
  REQUIRE(statuses.size() == 4);
  CHECK(statuses[0] == PGRES_TUPLES_OK);
  CHECK(statuses[1] == PGRES_FATAL_ERROR);
  CHECK(blocked_sqlstate == "42501");
  CHECK(statuses[2] == PGRES_PIPELINE_ABORTED);
  CHECK(statuses[3] == PGRES_PIPELINE_SYNC);
  REQUIRE(PQexitPipelineMode(conn.get()) == 1);
  CHECK(QueryValue(conn.get(), "SELECT 'after the pipeline'") == "after the pipeline");
}

TEST_CASE("a FunctionCall message is refused: it calls functions around the parser", "[policy]") {
  PolicyFixture fixture;
  ProxyProcess proxy(fixture.config);
  PgConn conn = MustConnectProxy(proxy, "alice.acme", kAlicePassword, "app");
  int result_buffer = 0;
  int result_length = 0;
  PQArgBlock arg{};
  arg.len = 4;
  arg.isint = 1;
  arg.u.integer = 1;
  // 2171 is pg_cancel_backend(int4) in PostgreSQL 15.
  PgResult result = PgResult(PQfn(conn.get(), 2171, &result_buffer, &result_length, 1, &arg, 1));
  REQUIRE(PQresultStatus(result.get()) == PGRES_FATAL_ERROR);
  CHECK(Sqlstate(result.get()) == "42501");
  CHECK(RuleOf(ErrorMessage(result.get())) == "protocol.function_call");
  CHECK(QueryValue(conn.get(), "SELECT 'fine'") == "fine");
}

TEST_CASE("a viewer cannot write, nor lift its read-only session", "[policy]") {
  PolicyFixture fixture;
  ProxyProcess proxy(fixture.config);
  PgConn conn = MustConnectProxy(proxy, "vic.acme", kViewerPassword, "app");
  for (const char* sql : {"INSERT INTO projects VALUES (NULL, 'x')", "UPDATE projects SET name = 'y'",
                          "SET default_transaction_read_only = off", "BEGIN READ WRITE",
                          "SELECT nextval('some_sequence')"}) {
    INFO(sql);
    PgResult result = Exec(conn.get(), sql);
    CHECK(Sqlstate(result.get()) == "42501");
    CHECK(RuleOf(ErrorMessage(result.get())) == "readonly.write");
  }
  CHECK(QueryValue(conn.get(), "SELECT count(*) FROM projects") == "0");
  // Even what the parser let through meets a read-only server session.
  CHECK(QueryValue(conn.get(), "SHOW default_transaction_read_only") == "on");
}

TEST_CASE("realistic application SQL passes untouched", "[policy]") {
  PolicyFixture fixture;
  ProxyProcess proxy(fixture.config);
  PgConn conn = MustConnectProxy(proxy, "alice.acme", kAlicePassword, "app");
  for (const char* sql :
       {"INSERT INTO projects VALUES ('7c9e6679-7425-40de-944b-e07fc1f90ae7', 'alpha') RETURNING name",
        "WITH p AS (SELECT name FROM projects) SELECT count(*) FROM p",
        "SELECT name, row_number() OVER (ORDER BY name) FROM projects",
        "SELECT '{\"a\": 1}'::jsonb ->> 'a'", "BEGIN", "SET LOCAL statement_timeout = '5s'",
        "SELECT current_setting('app.current_organization_id')", "COMMIT",
        "SELECT p.name FROM projects p JOIN LATERAL (SELECT 1 AS one) x ON true WHERE p.name LIKE 'a%'"}) {
    INFO(sql);
    PgResult result = Exec(conn.get(), sql);
    CHECK((PQresultStatus(result.get()) == PGRES_TUPLES_OK || PQresultStatus(result.get()) == PGRES_COMMAND_OK));
  }
  CHECK(AuditLines(fixture.audit_path, "statement_blocked").empty());
}

}  // namespace
}  // namespace pgtenant::integration
