// What one database shares between its tenants, through the real proxy (issue 24, items 2, 4, 5):
// prepared transactions and the statistics views are refused to tenants that share a database (rls,
// schema), with 42501, their rule and an audit event, and the session goes on; a tenant with a database
// of its own keeps them. And no audit event or log line ever holds a literal of a blocked statement.
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/poll.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/temp_dir.h"
#include "tests/support/marker_statements.h"

namespace pgtenant::integration {
namespace {

constexpr char kGlobexId[] = "9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d";
constexpr char kUmbrellaId[] = "5f0c9a7e-1b2d-4c3e-8f4a-6b7c8d9e0f1a";
constexpr char kInitechId[] = "3d1a7b2c-8e9f-4a0b-b1c2-d3e4f5a6b7c8";
constexpr char kViewerPassword[] = "viewer-secret";
constexpr char kSecretValue[] = "umbrella-secret-value";

std::string RuleOf(const std::string& message) {
  const std::string marker = "pgtenant: blocked by rule ";
  if (message.rfind(marker, 0) != 0) return "";
  return message.substr(marker.size(), message.find(':', marker.size()) - marker.size());
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
  PollUntil([&] { return (lines = AuditLines(path, type)).size() >= count; }, std::chrono::seconds(10),
            std::chrono::milliseconds(50));
  return lines;
}

// One backend database shared by acme (rls), globex and umbrella (schema), and initech with a database
// of its own. alice is a member of all four; vic is acme's viewer. Transaction pooling.
struct CatalogFixture {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("catalog");
  TestDatabase own = PostgresServer::Shared().CreateTestDatabase("catalog");
  TempDir dir{"pgtenant-catalog-"};
  std::string audit_path = dir.File("audit.jsonl");
  ProxyConfig config;

  CatalogFixture() {
    PostgresServer::Shared().Exec(
        "CREATE SCHEMA org_globex AUTHORIZATION " + db.role + "; CREATE SCHEMA org_umbrella AUTHORIZATION " +
            db.role + ";"
            "CREATE TABLE public.projects (org_id uuid, name text); ALTER TABLE public.projects OWNER TO " + db.role +
            ";"
            "CREATE TABLE org_globex.projects (name text); ALTER TABLE org_globex.projects OWNER TO " + db.role + ";"
            "CREATE TABLE org_umbrella.secrets (code text); ALTER TABLE org_umbrella.secrets OWNER TO " + db.role +
            ";",
        db.database);
    PostgresServer::Shared().Exec("CREATE TABLE notes (body text); ALTER TABLE notes OWNER TO " + own.role + ";",
                                  own.database);
    for (const auto& [name, database] : {std::pair{"app", &db}, std::pair{"initech_db", &own}}) {
      BackendConfig backend;
      backend.port = PostgresServer::Shared().port();
      backend.database = database->database;
      backend.user = database->role;
      backend.password = database->password;
      config.backends[name] = backend;
    }
    config.pool_mode = "transaction";
    config.tenants["acme"] = TenantSpec{kAcmeId, "rls", "app", ""};
    config.tenants["globex"] = TenantSpec{kGlobexId, "schema", "app", "org_globex"};
    config.tenants["umbrella"] = TenantSpec{kUmbrellaId, "schema", "app", "org_umbrella"};
    config.tenants["initech"] = TenantSpec{kInitechId, "database", "initech_db", ""};
    config.users["alice"] = kAlicePassword;
    config.memberships["alice"] = {{"acme", "member"}, {"globex", "member"}, {"umbrella", "member"},
                                   {"initech", "member"}};
    config.users["vic"] = kViewerPassword;
    config.memberships["vic"]["acme"] = "viewer";
    config.extra_yaml = "audit: { sinks: [ { type: file, path: " + audit_path +
                        " } ] }\n"
                        "policy: { deny_tables: [public.audit_log], deny_functions: [pg_sleep] }\n";
  }
};

// The statement is refused by pgtenant with 42501 and `rule`, and the session answers afterwards.
void CheckRefused(PGconn* conn, const std::string& sql, const std::string& rule) {
  INFO(sql);
  PgResult result = Exec(conn, sql);
  REQUIRE(PQresultStatus(result.get()) == PGRES_FATAL_ERROR);
  CHECK(Sqlstate(result.get()) == "42501");
  CHECK(RuleOf(ErrorMessage(result.get())) == rule);
  CHECK(QueryValue(conn, "SELECT 'still here'") == "still here");
}

TEST_CASE("two-phase commit is refused to tenants that share a database, and the session goes on",
          "[policy][catalog]") {
  CatalogFixture fixture;
  ProxyProcess proxy(fixture.config);
  const std::string rule = "two_phase.prepared_transactions";
  for (const std::string login : {"alice.acme", "alice.globex"}) {
    INFO(login);
    PgConn conn = MustConnectProxy(proxy, login, kAlicePassword, "app");
    CheckRefused(conn.get(), "PREPARE TRANSACTION 'pgtenant-gid'", rule);
    CheckRefused(conn.get(), "COMMIT PREPARED 'pgtenant-gid'", rule);
    CheckRefused(conn.get(), "ROLLBACK PREPARED 'pgtenant-gid'", rule);
    CheckRefused(conn.get(), "SELECT gid, owner FROM pg_prepared_xacts", rule);

    // Inside a transaction block: the blocked PREPARE TRANSACTION aborts the transaction, as any
    // error does. Nothing is prepared, nothing written is kept, and ROLLBACK ends the block.
    MustExec(conn.get(), "BEGIN");
    MustExec(conn.get(), "INSERT INTO projects (name) VALUES ('two-phase')");
    PgResult prepare = Exec(conn.get(), "PREPARE TRANSACTION 'pgtenant-in-block'");
    REQUIRE(PQresultStatus(prepare.get()) == PGRES_FATAL_ERROR);
    CHECK(Sqlstate(prepare.get()) == "42501");
    CHECK(RuleOf(ErrorMessage(prepare.get())) == rule);
    CHECK(PQtransactionStatus(conn.get()) == PQTRANS_INERROR);
    PgResult in_failed = Exec(conn.get(), "SELECT 1");
    CHECK(Sqlstate(in_failed.get()) == "25P02");  // current transaction is aborted
    MustExec(conn.get(), "ROLLBACK");
    CHECK(PQtransactionStatus(conn.get()) == PQTRANS_IDLE);
    CHECK(QueryValue(conn.get(), "SELECT count(*) FROM projects WHERE name = 'two-phase'") == "0");
  }
  CHECK(PostgresServer::Shared()
            .Exec("SELECT count(*) FROM pg_prepared_xacts WHERE database = '" + fixture.db.database + "'")
            .at(0)
            .at(0) == "0");
  // 4 refusals and the one in the block, for each of the two tenants.
  std::vector<std::string> events = WaitForAuditLines(fixture.audit_path, "statement_blocked", 10);
  CHECK(events.size() == 10);
  for (const std::string& event : events) CHECK(event.find("\"rule\":\"" + rule + "\"") != std::string::npos);

  // A tenant with a database of its own keeps two-phase commit: the server answers, not pgtenant.
  PgConn own = MustConnectProxy(proxy, "alice.initech", kAlicePassword, "initech_db");
  const bool enabled = QueryValue(own.get(), "SHOW max_prepared_transactions") != "0";
  MustExec(own.get(), "BEGIN");
  PgResult prepared = Exec(own.get(), "PREPARE TRANSACTION 'pgtenant-own'");
  INFO(ErrorMessage(prepared.get()));
  if (enabled) {
    CHECK(PQresultStatus(prepared.get()) == PGRES_COMMAND_OK);
    CHECK(QueryValue(own.get(), "SELECT count(*) FROM pg_prepared_xacts WHERE gid = 'pgtenant-own'") == "1");
    MustExec(own.get(), "ROLLBACK PREPARED 'pgtenant-own'");
  } else {
    CHECK(Sqlstate(prepared.get()) == "55000");  // prepared transactions are disabled: PostgreSQL's answer
    MustExec(own.get(), "ROLLBACK");
  }
  CHECK(QueryValue(own.get(), "SELECT count(*) FROM pg_prepared_xacts") == "0");
}

TEST_CASE("after ANALYZE, a schema tenant cannot read another schema tenant's pg_stats values", "[policy][catalog]") {
  CatalogFixture fixture;
  PostgresServer& server = PostgresServer::Shared();
  server.Exec("INSERT INTO org_umbrella.secrets SELECT '" + std::string(kSecretValue) +
                  "' FROM generate_series(1, 200); ANALYZE org_umbrella.secrets",
              fixture.db.database);
  // The channel is there: the statistics hold umbrella's value, for any role that can read the table.
  REQUIRE(server
              .Exec("SELECT count(*) FROM pg_stats WHERE schemaname = 'org_umbrella' AND most_common_vals::text LIKE "
                    "'%" + std::string(kSecretValue) + "%'",
                    fixture.db.database)
              .at(0)
              .at(0) == "1");

  ProxyProcess proxy(fixture.config);
  for (const std::string login : {"alice.globex", "alice.acme"}) {
    INFO(login);
    PgConn conn = MustConnectProxy(proxy, login, kAlicePassword, "app");
    CheckRefused(conn.get(), "SELECT most_common_vals FROM pg_stats WHERE schemaname = 'org_umbrella'",
                 "catalog.statistics");
    CheckRefused(conn.get(), "SELECT s.most_common_vals FROM pg_catalog.pg_stats s", "catalog.statistics");
    CheckRefused(conn.get(), "SELECT * FROM pg_stats_ext", "catalog.statistics");
    CheckRefused(conn.get(), "SELECT n_live_tup FROM pg_stat_user_tables WHERE schemaname = 'org_umbrella'",
                 "catalog.activity_counts");
    CheckRefused(conn.get(), "SELECT xact_commit FROM pg_stat_database", "catalog.activity_counts");
    CheckRefused(conn.get(), "SELECT column_name FROM information_schema.columns WHERE table_schema = 'org_umbrella'",
                 "catalog.information_schema");
  }
  std::vector<std::string> events = WaitForAuditLines(fixture.audit_path, "statement_blocked", 12);
  CHECK(events.size() == 12);
  for (const std::string& event : events) CHECK(event.find(kSecretValue) == std::string::npos);

  // In a database of its own, the statistics are the tenant's own.
  server.Exec("INSERT INTO notes SELECT 'own note' FROM generate_series(1, 50); ANALYZE notes", fixture.own.database);
  PgConn own = MustConnectProxy(proxy, "alice.initech", kAlicePassword, "initech_db");
  CHECK(QueryValue(own.get(), "SELECT count(*) FROM pg_stats WHERE tablename = 'notes'") == "1");
}

TEST_CASE("no audit event or log line of a blocked statement holds its literals, for every rule",
          "[policy][catalog][audit]") {
  CatalogFixture fixture;
  ProxyProcess proxy(fixture.config);
  PgConn member = MustConnectProxy(proxy, "alice.acme", kAlicePassword, "app");
  PgConn viewer = MustConnectProxy(proxy, "vic.acme", kViewerPassword, "app");
  PgConn schema = MustConnectProxy(proxy, "alice.globex", kAlicePassword, "app");
  const auto& statements = testing::MarkerStatements();
  for (const testing::MarkerStatement& statement : statements) {
    PGconn* conn = statement.who == testing::MarkerSession::kViewer   ? viewer.get()
                   : statement.who == testing::MarkerSession::kSchema ? schema.get()
                                                                       : member.get();
    const std::string sql(statement.sql);
    INFO(std::string(statement.rule) << ": " << sql);
    PgResult result = Exec(conn, sql);
    REQUIRE(PQresultStatus(result.get()) == PGRES_FATAL_ERROR);
    if (statement.rule == "parse.error") {
      CHECK(Sqlstate(result.get()) == "42601");
    } else {
      CHECK(Sqlstate(result.get()) == "42501");
      CHECK(RuleOf(ErrorMessage(result.get())) == statement.rule);
    }
  }
  std::vector<std::string> events = WaitForAuditLines(fixture.audit_path, "statement_blocked", statements.size());
  CHECK(events.size() == statements.size());
  REQUIRE(proxy.AwaitLog("blocked by rule", statements.size()));
  const std::string log = proxy.Log();
  std::ifstream in(fixture.audit_path);
  const std::string audit((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (std::string_view marker : {testing::kMarkerString, testing::kMarkerNumber}) {
    INFO("marker " << std::string(marker));
    CHECK(audit.find(marker) == std::string::npos);
    CHECK(log.find(marker) == std::string::npos);
  }
}

}  // namespace
}  // namespace pgtenant::integration
