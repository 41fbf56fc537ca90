// The tenant switch on a shared server connection (issue 26 item 1): the context rides with the
// client's first message (relay/tenant_context_switch.h), is confirmed only when that transaction
// commits, and, with no DISCARD ALL between tenants in transaction pooling, nothing of one tenant's
// session reaches the next (README: "What a shared server connection keeps"). Pool size 1: every
// client gets the same server connection, so every turn of another tenant is a switch.
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <tuple>
#include <string>
#include <vector>

#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/tenant_world.h"

namespace pgtenant::integration {
namespace {

ProxyConfig OneSharedConnection(const TenantWorld& world) {
  ProxyConfig config = world.Config();
  config.backends["app"].extra = "shared_pool: true";
  config.pool_mode = "transaction";
  config.pool_size = 1;
  config.pool_wait_timeout = "10s";
  return config;
}

std::string Setting(PGconn* conn) { return QueryValue(conn, "SELECT current_setting('app.current_organization_id')"); }

// What `conn` of `tenant` reads: only its own rows, under its own context.
void ExpectOwnRows(PGconn* conn, const std::string& tenant) {
  CHECK(Setting(conn) == TenantWorld::IdOf(tenant));
  CHECK(QueryColumn(conn, "SELECT name FROM projects ORDER BY name") == TenantWorld::ProjectsOf(tenant));
}

TEST_CASE("an error in the client's first Query after a switch points where PostgreSQL would",
          "[tenants][shared_pool][switch]") {
  // The context rides inside that Query's text; PostgreSQL counts its positions from the start of
  // the text it got, and the client gets them counted from the start of its own.
  TenantWorld world = TenantWorld::Create();
  ProxyProcess proxy(OneSharedConnection(world));
  PgConn direct = Connect(PostgresServer::Shared().ConnString(world.shared.role, world.shared.password,
                                                              world.shared.database));
  PgConn alice = MustConnectAs(proxy, "alice.acme");
  PgConn uma = MustConnectAs(proxy, "uma.umbrella");
  for (const char* sql : {"SELECT * FROM no_such_table", "SELECT 1; SELECT no_such_column FROM projects",
                          "SELECT 'caf\u00e9', nonexistent_function(1)"}) {
    INFO(sql);
    PgResult expected = Exec(direct.get(), sql);
    const char* position = PQresultErrorField(expected.get(), PG_DIAG_STATEMENT_POSITION);
    REQUIRE(position != nullptr);
    for (int round = 0; round < 2; ++round) {
      MustExec(uma.get(), "SELECT 1");  // the connection carries umbrella: alice's Query switches it
      PgResult got = Exec(alice.get(), sql);
      CHECK(Sqlstate(got.get()) == Sqlstate(expected.get()));
      const char* got_position = PQresultErrorField(got.get(), PG_DIAG_STATEMENT_POSITION);
      REQUIRE(got_position != nullptr);
      CHECK(std::string(got_position) == position);
    }
  }
  // The failed Query undid the switch with it; the next one sets the context again.
  ExpectOwnRows(alice.get(), "acme");
  ExpectOwnRows(uma.get(), "umbrella");
}

TEST_CASE("a switch undone by ROLLBACK leaves no tenant on another's context", "[tenants][shared_pool][switch]") {
  TenantWorld world = TenantWorld::Create();
  ProxyProcess proxy(OneSharedConnection(world));
  PgConn acme = MustConnectAs(proxy, "bob.acme");
  PgConn umbrella = MustConnectAs(proxy, "uma.umbrella");
  const std::string pid = QueryValue(acme.get(), "SELECT pg_backend_pid()");
  // Each switch to umbrella is carried by a transaction that does not commit it; each time the next
  // umbrella transaction must set the context again rather than trust it, and acme's must too.
  const std::vector<std::vector<std::string>> undoing = {
      {"BEGIN", "SELECT count(*) FROM projects", "ROLLBACK"},
      {"BEGIN; SELECT count(*) FROM projects; ROLLBACK"},
      {"BEGIN", "SELECT 1/0", "COMMIT"},  // COMMIT of an aborted transaction: ROLLBACK
      {"SELECT 1/0"},                      // an implicit transaction that failed
      {"BEGIN", "SAVEPOINT s", "SELECT 1/0", "ROLLBACK TO s", "COMMIT"},
      {"START TRANSACTION READ ONLY", "ABORT"},
  };
  for (int round = 0; round < 3; ++round) {
    for (const std::vector<std::string>& transaction : undoing) {
      INFO("round " << round << ", " << transaction.front() << " ... " << transaction.back());
      ExpectOwnRows(acme.get(), "acme");  // the connection carries acme's context
      for (const std::string& sql : transaction) {
        PgResult r = Exec(umbrella.get(), sql);
        if (sql == "SELECT count(*) FROM projects" || sql.find("; SELECT count") != std::string::npos) {
          // Inside the transaction that carried the switch: umbrella's context already.
          if (PQresultStatus(r.get()) == PGRES_TUPLES_OK) CHECK(std::string(PQgetvalue(r.get(), 0, 0)) == "2");
        }
      }
      CHECK(QueryValue(umbrella.get(), "SELECT pg_backend_pid()") == pid);
      ExpectOwnRows(umbrella.get(), "umbrella");
      ExpectOwnRows(umbrella.get(), "umbrella");
    }
  }
  ExpectOwnRows(acme.get(), "acme");
}

TEST_CASE("the switch holds inside the client's first statement, whatever it is", "[tenants][shared_pool][switch]") {
  TenantWorld world = TenantWorld::Create();
  ProxyConfig config = OneSharedConnection(world);
  config.extra_yaml = "policy: { rules: { readonly.write: off } }\n";  // the database refuses the viewer's write
  ProxyProcess proxy(config);
  PgConn vic = MustConnectAs(proxy, "vic.acme");  // acme viewer: read-only
  PgConn uma = MustConnectAs(proxy, "uma.umbrella");
  const std::string insert =
      "INSERT INTO projects (org_id, name) VALUES (current_setting('app.current_organization_id')::uuid, 'x')";
  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    // The viewer's first statement after a member used the connection runs read-only already.
    MustExec(uma.get(), "SELECT 1");
    PgResult refused = Exec(vic.get(), insert);
    CHECK(Sqlstate(refused.get()) == "25006");
    // And the member's first statement after the viewer is read-write.
    MustExec(uma.get(), "DELETE FROM projects WHERE name = 'x'");  // nothing: the context switches with it
    MustExec(vic.get(), "SELECT 1");
    MustExec(uma.get(), insert);
    MustExec(uma.get(), "DELETE FROM projects WHERE name = 'x'");
    // A transaction's isolation is chosen by its BEGIN even right after a switch: the context
    // statements take no snapshot.
    MustExec(vic.get(), "SELECT 1");
    MustExec(uma.get(), "BEGIN ISOLATION LEVEL REPEATABLE READ");
    CHECK(QueryValue(uma.get(), "SHOW transaction_isolation") == "repeatable read");
    MustExec(uma.get(), "COMMIT");
    MustExec(vic.get(), "SELECT 1");
    MustExec(uma.get(), "BEGIN");
    MustExec(uma.get(), "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE");
    CHECK(QueryValue(uma.get(), "SHOW transaction_isolation") == "serializable");
    MustExec(uma.get(), "COMMIT");
  }
  CHECK(world.ExecShared("SELECT count(*) FROM projects WHERE name = 'x'").at(0).at(0) == "0");
}

TEST_CASE("nothing of one tenant's session reaches the next on a shared connection without DISCARD ALL",
          "[tenants][shared_pool][switch]") {
  TenantWorld world = TenantWorld::Create();
  ProxyConfig config = OneSharedConnection(world);
  config.extra_yaml = "session_parameters: [work_mem, statement_timeout]\n";
  ProxyProcess proxy(config);
  PgConn acme = MustConnectAs(proxy, "bob.acme");
  PgConn umbrella = MustConnectAs(proxy, "uma.umbrella");
  const std::string pid = QueryValue(acme.get(), "SELECT pg_backend_pid()");

  // What the policy refuses in transaction pooling never reaches the server.
  for (const char* sql : {"CREATE TEMP TABLE acme_scratch (x int)", "SELECT pg_advisory_lock(42)", "LISTEN acme_channel",
                          "DECLARE c CURSOR WITH HOLD FOR SELECT 1", "PREPARE p AS SELECT 1",
                          "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"}) {
    INFO(sql);
    PgResult r = Exec(acme.get(), sql);
    CHECK(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
  }
  // What it lets through is the client's alone.
  PgResult unlisted = Exec(acme.get(), "SET enable_seqscan = off");  // not in session_parameters
  CHECK(Sqlstate(unlisted.get()) == "42501");
  MustExec(acme.get(), "SET work_mem = '9MB'");
  MustExec(acme.get(), "SET statement_timeout = 12345");
  MustExec(acme.get(), "INSERT INTO projects (org_id, name) VALUES ('" + TenantWorld::IdOf("acme") + "', 'seq')");
  CHECK_FALSE(QueryValue(acme.get(), "SELECT currval('projects_id_seq')").empty());
  MustExec(acme.get(), "BEGIN");
  MustExec(acme.get(), "SELECT pg_advisory_xact_lock(7)");  // released at COMMIT
  MustExec(acme.get(), "COMMIT");

  CHECK(QueryValue(umbrella.get(), "SELECT pg_backend_pid()") == pid);
  CHECK(QueryValue(umbrella.get(), "SHOW work_mem") != "9MB");
  CHECK(QueryValue(umbrella.get(), "SHOW statement_timeout") != "12345ms");
  PgResult currval = Exec(umbrella.get(), "SELECT currval('projects_id_seq')");
  CHECK(Sqlstate(currval.get()) == "55000");  // not yet defined in this session: DISCARD SEQUENCES ran
  PgResult lastval = Exec(umbrella.get(), "SELECT lastval()");
  CHECK(Sqlstate(lastval.get()) == "55000");
  CHECK(world.ExecShared("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = " + pid).at(0).at(0) == "0");
  CHECK(QueryValue(umbrella.get(), "SELECT count(*) FROM pg_cursors") == "0");
  CHECK(QueryValue(umbrella.get(), "SELECT count(*) FROM pg_listening_channels()") == "0");
  CHECK(QueryValue(umbrella.get(), "SELECT count(*) FROM pg_class WHERE relname = 'acme_scratch'") == "0");
  // The server's prepared statements are named by their text: none is the client's by name.
  PgResult foreign(PQexecPrepared(umbrella.get(), "pgt_1", 0, nullptr, nullptr, nullptr, 0));
  CHECK(PQresultStatus(foreign.get()) == PGRES_FATAL_ERROR);
  ExpectOwnRows(umbrella.get(), "umbrella");
  // acme's own parameters come back with it.
  CHECK(QueryValue(acme.get(), "SHOW work_mem") == "9MB");
  world.ExecShared("DELETE FROM projects WHERE name = 'seq'");
  ExpectOwnRows(acme.get(), "acme");
}

TEST_CASE("with currval() and lastval() revoked from the server role a switch resets no sequences, and no client "
          "can read what another left",
          "[tenants][shared_pool][switch]") {
  TenantWorld world = TenantWorld::Create();
  // As the README suggests for shared pools. A function that runs as its owner can still call
  // them: this one shows what DISCARD SEQUENCES would have cleared (README: "What a shared connection keeps").
  world.ExecShared(
      "REVOKE EXECUTE ON FUNCTION pg_catalog.lastval(), pg_catalog.currval(pg_catalog.regclass) FROM PUBLIC;"
      "CREATE FUNCTION public.peek_lastval() RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER AS $$"
      " BEGIN RETURN pg_catalog.lastval(); EXCEPTION WHEN object_not_in_prerequisite_state THEN RETURN NULL; END $$;"
      "GRANT EXECUTE ON FUNCTION public.peek_lastval() TO PUBLIC");
  ProxyProcess proxy(OneSharedConnection(world));
  PgConn acme = MustConnectAs(proxy, "bob.acme");
  PgConn umbrella = MustConnectAs(proxy, "uma.umbrella");
  const std::string pid = QueryValue(acme.get(), "SELECT pg_backend_pid()");

  const std::string id = QueryValue(acme.get(), "INSERT INTO projects (org_id, name) VALUES ('" +
                                                    TenantWorld::IdOf("acme") + "', 'seq') RETURNING id");
  CHECK(QueryValue(umbrella.get(), "SELECT pg_backend_pid()") == pid);  // the same server session
  for (const char* sql : {"SELECT lastval()", "SELECT currval('projects_id_seq')"}) {
    INFO(sql);
    PgResult r = Exec(umbrella.get(), sql);
    CHECK(Sqlstate(r.get()) == "42501");  // permission denied: nobody reads the session's sequence state
  }
  // The state is still there (no DISCARD SEQUENCES ran), out of the clients' reach.
  CHECK(QueryValue(umbrella.get(), "SELECT public.peek_lastval()") == id);
  ExpectOwnRows(umbrella.get(), "umbrella");
  world.ExecShared("DELETE FROM projects WHERE name = 'seq'");
  ExpectOwnRows(acme.get(), "acme");
}

TEST_CASE("a statement prepared under one tenant and executed under another sees the other's rows only",
          "[tenants][shared_pool][switch][prepared]") {
  TenantWorld world = TenantWorld::Create();
  ProxyConfig config = OneSharedConnection(world);
  config.extra_yaml = "session_parameters: [plan_cache_mode]\n";
  ProxyProcess proxy(config);
  PgConn acme = MustConnectAs(proxy, "bob.acme");
  PgConn umbrella = MustConnectAs(proxy, "uma.umbrella");
  const std::string plan_mode = GENERATE(std::string("auto"), std::string("force_generic_plan"));
  INFO("plan_cache_mode " << plan_mode);
  for (PGconn* conn : {acme.get(), umbrella.get()}) MustExec(conn, "SET plan_cache_mode = " + plan_mode);
  const char* sql = "SELECT org_id::text, name FROM projects WHERE id > $1 ORDER BY name";
  PgResult prepared(PQprepare(acme.get(), "by_id", sql, 1, nullptr));
  REQUIRE(PQresultStatus(prepared.get()) == PGRES_COMMAND_OK);
  PgResult prepared_too(PQprepare(umbrella.get(), "other_name", sql, 1, nullptr));
  REQUIRE(PQresultStatus(prepared_too.get()) == PGRES_COMMAND_OK);
  const char* zero[] = {"0"};
  // More than five executions: PostgreSQL's plan cache may go generic (and must, when forced).
  for (int i = 0; i < 12; ++i) {
    INFO("execution " << i);
    for (const auto& [conn, name, tenant] :
         {std::tuple{acme.get(), "by_id", "acme"}, std::tuple{umbrella.get(), "other_name", "umbrella"}}) {
      PgResult rows(PQexecPrepared(conn, name, 1, zero, nullptr, nullptr, 0));
      REQUIRE(PQresultStatus(rows.get()) == PGRES_TUPLES_OK);
      std::vector<std::string> names;
      for (int r = 0; r < PQntuples(rows.get()); ++r) {
        CHECK(std::string(PQgetvalue(rows.get(), r, 0)) == TenantWorld::IdOf(tenant));
        names.emplace_back(PQgetvalue(rows.get(), r, 1));
      }
      CHECK(names == TenantWorld::ProjectsOf(tenant));
    }
  }
  // One server statement served both tenants (content-named, per server role).
  CHECK(QueryValue(acme.get(), "SELECT count(*) FROM pg_prepared_statements WHERE statement = '" + std::string(sql) +
                                   "'") == "1");
  if (plan_mode == "force_generic_plan")
    CHECK(QueryValue(acme.get(), "SELECT generic_plans > 0 FROM pg_prepared_statements WHERE statement = '" +
                                     std::string(sql) + "'") == "t");
}

// Two tenants alternating on one shared connection: transactions per second, printed. Not a test of
// a bound (the machine is shared); run by hand: integration_tests "[.switch_bench]".
TEST_CASE("tenant switch throughput on one shared connection", "[.switch_bench]") {
  TenantWorld world = TenantWorld::Create();
  ProxyProcess proxy(OneSharedConnection(world));
  PgConn acme = MustConnectAs(proxy, "bob.acme");
  PgConn umbrella = MustConnectAs(proxy, "uma.umbrella");
  PgConn acme2 = MustConnectAs(proxy, "bob.acme");
  const char* env = std::getenv("SWITCH_BENCH_SECONDS");
  const double seconds = env != nullptr ? std::atof(env) : 3.0;
  auto run = [&](const std::vector<PGconn*>& turns) {
    const auto start = std::chrono::steady_clock::now();
    int n = 0;
    while (std::chrono::steady_clock::now() - start < std::chrono::duration<double>(seconds)) {
      PGconn* conn = turns[static_cast<size_t>(n) % turns.size()];
      PgResult r(PQexec(conn, "SELECT count(*) FROM projects"));
      REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
      ++n;
    }
    return n / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const double same = run({acme.get(), acme2.get()});
  const double alternating = run({acme.get(), umbrella.get()});
  std::printf("switch_bench: same tenant %.0f tps, alternating tenants %.0f tps (%.2f)\n", same, alternating,
              alternating / same);
  CHECK(alternating > 0);
}

}  // namespace
}  // namespace pgtenant::integration
