// Shared RLS pools (backends.NAME.shared_pool): RLS tenants of one backend take turns on the same
// server connections, and each transaction still runs with its own tenant's context only (issue 3,
// item 5).
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <set>
#include <string>
#include <vector>

#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/tenant_world.h"

namespace pgtenant::integration {
namespace {

// The world on a shared_pool backend with one server connection, transaction pooling.
ProxyConfig SharedPoolConfig(const TenantWorld& world) {
  ProxyConfig config = world.Config();
  config.backends["app"].extra = "shared_pool: true";
  config.pool_mode = "transaction";
  config.pool_size = 1;
  config.pool_wait_timeout = "10s";
  return config;
}

struct Turn {
  std::string tenant;
  PGconn* conn;
};

TEST_CASE("two RLS tenants alternate on one shared server connection over 10,000 transactions",
          "[tenants][shared_pool][cpu]") {
  TenantWorld world = TenantWorld::Create();
  ProxyProcess proxy(SharedPoolConfig(world));
  PgConn acme = MustConnectAs(proxy, "bob.acme");
  PgConn umbrella = MustConnectAs(proxy, "uma.umbrella");
  const std::vector<Turn> turns = {{"acme", acme.get()}, {"umbrella", umbrella.get()}};

  constexpr int kTransactions = 10000;
  int wrong_context = 0;
  int foreign_rows = 0;
  int wrong_count = 0;
  int done = 0;
  std::set<std::string> pids;
  std::string first_error;
  for (int i = 0; i < kTransactions; ++i) {
    const Turn& turn = turns[i % 2];
    const std::string me = TenantWorld::IdOf(turn.tenant);
    const std::string expected_rows = std::to_string(TenantWorld::ProjectsOf(turn.tenant).size());
    try {
      if (i % 100 == 99) {
        // Now and then an explicit transaction of several statements.
        MustExec(turn.conn, "BEGIN");
        if (QueryValue(turn.conn, "SELECT current_setting('app.current_organization_id')") != me) ++wrong_context;
        for (const std::string& org : QueryColumn(turn.conn, "SELECT org_id FROM projects"))
          if (org != me) ++foreign_rows;
        pids.insert(QueryValue(turn.conn, "SELECT pg_backend_pid()"));
        MustExec(turn.conn, "COMMIT");
      } else {
        PgResult row = MustExec(turn.conn,
                                "SELECT current_setting('app.current_organization_id'), count(*) FILTER (WHERE org_id "
                                "<> '" + me + "'), count(*), pg_backend_pid() FROM projects");
        if (std::string(PQgetvalue(row.get(), 0, 0)) != me) ++wrong_context;
        foreign_rows += std::stoi(PQgetvalue(row.get(), 0, 1));
        if (std::string(PQgetvalue(row.get(), 0, 2)) != expected_rows) ++wrong_count;
        pids.insert(PQgetvalue(row.get(), 0, 3));
      }
      ++done;
    } catch (const std::exception& e) {
      if (first_error.empty()) first_error = "transaction " + std::to_string(i) + " (" + turn.tenant + "): " + e.what();
    }
  }
  INFO(first_error);
  CHECK(done == kTransactions);
  CHECK(wrong_context == 0);
  CHECK(foreign_rows == 0);
  CHECK(wrong_count == 0);
  // One server connection served both tenants.
  CHECK(pids.size() == 1);
}

TEST_CASE("on a shared connection, a tenant switch resets session state and read-only follows the role",
          "[tenants][shared_pool]") {
  TenantWorld world = TenantWorld::Create();
  ProxyConfig config = SharedPoolConfig(world);
  // Let session state and writes reach the server, to see what the switch itself guarantees.
  config.extra_yaml = "policy: { rules: { pooling.session_state: off, readonly.write: off } }\n";
  ProxyProcess proxy(config);
  PgConn vic = MustConnectAs(proxy, "vic.acme");        // acme viewer
  PgConn uma = MustConnectAs(proxy, "uma.umbrella");    // umbrella member
  PgConn globex = MustConnectAs(proxy, "gina.globex");  // schema tenant: never on the shared pool
  const std::string insert =
      "INSERT INTO projects (org_id, name) VALUES (current_setting('app.current_organization_id')::uuid, 'shared "
      "pool write')";

  const std::string shared_pid = QueryValue(vic.get(), "SELECT pg_backend_pid()");
  for (int round = 0; round < 25; ++round) {
    INFO("round " << round);
    // umbrella's member writes and leaves session state behind on the shared connection...
    CHECK(QueryValue(uma.get(), "SELECT pg_backend_pid()") == shared_pid);
    CHECK(QueryValue(uma.get(), "SHOW default_transaction_read_only") == "off");
    CHECK(QueryValue(uma.get(), "SHOW work_mem") != "7MB");
    CHECK(QueryValue(uma.get(), "SELECT current_setting('app.current_organization_id')") == kTenantWorldUmbrellaId);
    MustExec(uma.get(), insert);
    MustExec(uma.get(), "SET work_mem = '9MB'");
    MustExec(uma.get(), "CREATE TEMP TABLE IF NOT EXISTS uma_scratch (x int)");

    // ...which acme's viewer, next on the same connection, does not inherit; and it is read-only.
    CHECK(QueryValue(vic.get(), "SELECT pg_backend_pid()") == shared_pid);
    CHECK(QueryValue(vic.get(), "SELECT current_setting('app.current_organization_id')") == kAcmeId);
    CHECK(QueryValue(vic.get(), "SHOW default_transaction_read_only") == "on");
    CHECK(QueryValue(vic.get(), "SHOW work_mem") != "9MB");
    CHECK(QueryValue(vic.get(), "SELECT count(*) FROM pg_class WHERE relname = 'uma_scratch'") == "0");
    CHECK(QueryColumn(vic.get(), "SELECT name FROM projects ORDER BY name") == TenantWorld::ProjectsOf("acme"));
    PgResult refused = Exec(vic.get(), insert);
    CHECK(Sqlstate(refused.get()) == "25006");
    MustExec(vic.get(), "SET work_mem = '7MB'");
  }
  CHECK(world.ExecShared("SELECT count(*) FROM projects WHERE name = 'shared pool write' AND org_id = '" +
                         std::string(kTenantWorldUmbrellaId) + "'")
            .at(0)
            .at(0) == "25");
  CHECK(world.ExecShared("SELECT count(*) FROM projects WHERE name = 'shared pool write'").at(0).at(0) == "25");

  // The schema tenant has a connection of its own, with its search_path.
  CHECK(QueryValue(globex.get(), "SELECT pg_backend_pid()") != shared_pid);
  CHECK(QueryValue(globex.get(), "SHOW search_path") == "org_globex");
  CHECK(QueryColumn(globex.get(), "SELECT name FROM projects ORDER BY name") == TenantWorld::ProjectsOf("globex"));
}

TEST_CASE("RESET ALL and DISCARD ALL on a shared connection keep the tenant context and read-only",
          "[tenants][shared_pool]") {
  const std::string mode = GENERATE(std::string("transaction"), std::string("session"));
  INFO(mode << " pooling");
  TenantWorld world = TenantWorld::Create();
  ProxyConfig config = SharedPoolConfig(world);
  config.pool_mode = mode;
  config.pool_size = 2;  // session pooling holds one connection per client
  ProxyProcess proxy(config);
  PgConn vic = MustConnectAs(proxy, "vic.acme");      // acme viewer: read-only context
  PgConn uma = MustConnectAs(proxy, "uma.umbrella");  // umbrella member
  const std::vector<std::string> resets = {"RESET ALL", "DISCARD ALL",
                                           "SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;"};
  for (int round = 0; round < 5; ++round) {
    for (const std::string& reset : resets) {
      INFO("round " << round << ": " << reset);
      MustExec(vic.get(), "SET application_name = 'vic-app'");
      MustExec(vic.get(), reset);
      CHECK(QueryValue(vic.get(), "SELECT current_setting('app.current_organization_id')") == kAcmeId);
      CHECK(QueryValue(vic.get(), "SHOW default_transaction_read_only") == "on");
      CHECK(QueryValue(vic.get(), "SHOW application_name") != "vic-app");
      CHECK(QueryColumn(vic.get(), "SELECT name FROM projects ORDER BY name") == TenantWorld::ProjectsOf("acme"));
      MustExec(uma.get(), reset);
      CHECK(QueryValue(uma.get(), "SELECT current_setting('app.current_organization_id')") == kTenantWorldUmbrellaId);
      CHECK(QueryValue(uma.get(), "SHOW default_transaction_read_only") == "off");
      CHECK(QueryColumn(uma.get(), "SELECT name FROM projects ORDER BY name") == TenantWorld::ProjectsOf("umbrella"));
    }
  }
  // Statements after the reset in the same query would run before the context is set again: refused.
  PgResult refused = Exec(vic.get(), "RESET ALL; SELECT count(*) FROM projects");
  CHECK(Sqlstate(refused.get()) == "42501");
  CHECK(QueryValue(vic.get(), "SELECT current_setting('app.current_organization_id')") == kAcmeId);
}

}  // namespace
}  // namespace pgtenant::integration
