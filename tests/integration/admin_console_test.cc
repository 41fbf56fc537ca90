// The admin console (issue 5): an admin user opens database "pgtenant" with psql and runs SHOW,
// RELOAD, PAUSE/RESUME, DISABLE/ENABLE, KILL and SHUTDOWN; everyone else is refused.
#include <catch2/catch.hpp>
#include <libpq-fe.h>
#include <sys/wait.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "tests/integration/harness/net.h"
#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/poll.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/temp_dir.h"

namespace pgtenant::integration {
namespace {

constexpr char kOpsPassword[] = "ops-secret";
constexpr char kCarolPassword[] = "carol-secret";
constexpr char kBetaId[] = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

// The standard config plus ops, an admin-only user (no tenant), and optionally tenant beta (rls,
// on a second backend to the same database) with carol.
ProxyConfig AdminConfig(const TestDatabase& db, bool with_beta = false) {
  ProxyConfig config = StandardConfig(db);
  config.users["ops"] = kOpsPassword;
  config.admins = {"ops"};
  if (with_beta) {
    config.backends["app2"] = config.backends["app"];
    config.tenants["beta"] = TenantSpec{kBetaId, "rls", "app2", ""};
    config.users["carol"] = kCarolPassword;
    config.memberships["carol"]["beta"] = "member";
  }
  return config;
}

// psql against the console: unaligned, '|' between fields, errors with their SQLSTATE.
CommandResult Psql(const ProxyProcess& proxy, const std::string& sql, const std::string& user = "ops",
                   const std::string& password = kOpsPassword) {
  const std::string target =
      "host=127.0.0.1 port=" + std::to_string(proxy.port()) + " user=" + user + " dbname=pgtenant sslmode=disable";
  return RunCommand({PostgresServer::Shared().bindir() + "/psql", "-X", "-A", "-v", "ON_ERROR_STOP=1", "-v",
                     "VERBOSITY=verbose", "-c", sql, target},
                    {{"PGPASSWORD", password}, {"PGCONNECT_TIMEOUT", "10"}, {"PGGSSENCMODE", "disable"}}, "",
                    std::chrono::seconds(30));
}

PgConn Console(const ProxyProcess& proxy) { return MustConnectProxy(proxy, "ops", kOpsPassword, "pgtenant"); }

// The value of `column` in the row whose first column is `key`; "<no row>" / "<no column>" otherwise.
std::string Cell(const PGresult* result, const std::string& key, const std::string& column) {
  int c = PQfnumber(result, column.c_str());
  if (c < 0) return "<no column>";
  for (int row = 0; row < PQntuples(result); ++row)
    if (key == PQgetvalue(result, row, 0)) return PQgetvalue(result, row, c);
  return "<no row>";
}

TEST_CASE("an admin reads SHOW TENANTS, POOLS, CLIENTS, SERVERS, BACKENDS, STATS, CONFIG, VERSION and HELP with psql",
          "[admin]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("adminshow");
  ProxyProcess proxy(AdminConfig(db));
  PgConn alice = MustConnectProxy(proxy, "alice", kAlicePassword, "app", "application_name=shop");
  CHECK(QueryValue(alice.get(), "SELECT 'busy'") == "busy");

  CommandResult tenants = Psql(proxy, "SHOW TENANTS");
  INFO(tenants.output);
  REQUIRE(tenants.exit_code == 0);
  CHECK_THAT(tenants.output, Catch::StartsWith("name|id|isolation|schema|backend|pool_mode|pool_size|"));
  CHECK_THAT(tenants.output, Catch::Contains("acme|" + std::string(kAcmeId) + "|database||app|session|10|0|0|1|0|0"));

  CommandResult pools = Psql(proxy, "show pools");  // keywords are case-insensitive
  INFO(pools.output);
  REQUIRE(pools.exit_code == 0);
  // PgBouncer's columns first; "database" is the tenant (admin_show.h), the PostgreSQL database is further on.
  CHECK_THAT(pools.output, Catch::StartsWith("database|user|cl_active|cl_waiting|cl_active_cancel_req|"
                                             "cl_waiting_cancel_req|sv_active|sv_active_cancel|sv_being_canceled|"
                                             "sv_idle|sv_used|sv_tested|sv_login|maxwait|maxwait_us|pool_mode|"
                                             "pool_size|paused|backend|backend_database|pools\n"));
  CHECK_THAT(pools.output,
             Catch::Contains("acme|" + db.role + "|1|0|0|0|1|0|0|0|0|0|0|0|0|session|10|0|app|" + db.database + "|1\n"));

  CommandResult clients = Psql(proxy, "SHOW CLIENTS");
  INFO(clients.output);
  REQUIRE(clients.exit_code == 0);
  CHECK_THAT(clients.output, Catch::StartsWith("type|user|database|state|addr|port|local_addr|local_port|"
                                               "connect_time|request_time|wait|wait_us|close_needed|ptr|link|"
                                               "remote_pid|tls|application_name|prepared_statements|id|"
                                               "client_database|in_transaction|pool|session_id|worker\n"));
  // local_addr/local_port: pgtenant's end of the connection, its listening port.
  CHECK_THAT(clients.output, Catch::Contains("C|alice|acme|idle|127.0.0.1|"));
  CHECK_THAT(clients.output, Catch::Contains("|127.0.0.1|" + std::to_string(proxy.port()) + "|"));
  CHECK_THAT(clients.output, Catch::Contains("|shop|0|"));
  CHECK_THAT(clients.output, Catch::Contains("A|ops|pgtenant|admin|127.0.0.1|"));  // the console itself

  CommandResult servers = Psql(proxy, "SHOW SERVERS");
  INFO(servers.output);
  REQUIRE(servers.exit_code == 0);
  CHECK_THAT(servers.output, Catch::StartsWith("type|user|database|state|addr|port|local_addr|local_port|"
                                               "connect_time|request_time|wait|wait_us|close_needed|ptr|link|"
                                               "remote_pid|tls|application_name|prepared_statements|backend|"
                                               "backend_database|idle_since|pool\n"));
  CHECK_THAT(servers.output, Catch::Contains("S|" + db.role + "|acme|active|127.0.0.1|"));
  CHECK_THAT(servers.output, Catch::Contains("|shop|0|app|" + db.database + "||acme/"));  // the holder's application
  {
    // link: the client's ptr on the server's row, the server's ptr on the client's row.
    PgConn console = Console(proxy);
    PgResult client_rows = MustExec(console.get(), "SHOW CLIENTS");
    PgResult server_rows = MustExec(console.get(), "SHOW SERVERS");
    REQUIRE(PQntuples(server_rows.get()) == 1);
    std::string alice_ptr, alice_link;
    for (int row = 0; row < PQntuples(client_rows.get()); ++row) {
      if (std::string(PQgetvalue(client_rows.get(), row, 1)) != "alice") continue;
      alice_ptr = PQgetvalue(client_rows.get(), row, PQfnumber(client_rows.get(), "ptr"));
      alice_link = PQgetvalue(client_rows.get(), row, PQfnumber(client_rows.get(), "link"));
    }
    CHECK(!alice_ptr.empty());
    CHECK(alice_link == PQgetvalue(server_rows.get(), 0, PQfnumber(server_rows.get(), "ptr")));
    CHECK(alice_ptr == PQgetvalue(server_rows.get(), 0, PQfnumber(server_rows.get(), "link")));
    CHECK(std::string(PQgetvalue(server_rows.get(), 0, PQfnumber(server_rows.get(), "local_addr"))) == "127.0.0.1");
  }

  CommandResult backends = Psql(proxy, "SHOW BACKENDS");
  INFO(backends.output);
  REQUIRE(backends.exit_code == 0);
  CHECK_THAT(backends.output, Catch::StartsWith("backend|host|role|state|down_since|reason|current|health_checks|"
                                                "sv_open|max_connections\n"));
  // No health checks here: the host is up because alice's server connection logged in there.
  CHECK_THAT(backends.output, Catch::Contains("app|127.0.0.1:" + std::to_string(PostgresServer::Shared().port()) +
                                              "|primary|up|||1|0|1|"));

  CommandResult stats = Psql(proxy, "SHOW STATS");
  INFO(stats.output);
  REQUIRE(stats.exit_code == 0);
  CHECK_THAT(stats.output, Catch::StartsWith("database|total_xact_count|total_query_count|total_received|total_sent|"
                                             "total_xact_time|total_query_time|total_wait_time|avg_xact_count|"
                                             "avg_query_count|avg_recv|avg_sent|avg_xact_time|avg_query_time|"
                                             "avg_wait_time|total_requests|auth_failures\n"));
  CHECK_THAT(stats.output, Catch::Contains("acme|1|1|"));

  CommandResult config = Psql(proxy, "SHOW CONFIG");
  INFO(config.output);
  REQUIRE(config.exit_code == 0);
  CHECK_THAT(config.output, Catch::Contains("admin.users|ops\n"));
  CHECK_THAT(config.output, Catch::Contains("listen.port|" + std::to_string(proxy.port()) + "\n"));
  CHECK_THAT(config.output, !Catch::Contains("SCRAM-SHA-256$"));  // no secrets
  CHECK_THAT(config.output, !Catch::Contains(db.password));

  CommandResult version = Psql(proxy, "SHOW VERSION");
  INFO(version.output);
  CHECK(version.output == "version\npgtenant 0.1.0\n(1 row)\n");

  CommandResult help = Psql(proxy, "SHOW HELP");
  INFO(help.output);
  CHECK_THAT(help.output, Catch::Contains("PAUSE [tenant]|"));
  CHECK_THAT(help.output, Catch::Contains("KILL tenant|"));

  // Several commands in one query, as psql sends them: every result comes back.
  PgConn console = Console(proxy);
  auto results = ExecWithTimeout(console.get(), "SHOW VERSION; SHOW POOLS", std::chrono::seconds(5));
  REQUIRE(results.has_value());
  REQUIRE(results->size() == 2);
  CHECK(PQgetvalue((*results)[0].get(), 0, 0) == std::string("pgtenant 0.1.0"));
  CHECK(PQftype((*results)[1].get(), PQfnumber((*results)[1].get(), "cl_active")) == 20);  // int8
  CHECK(Cell((*results)[1].get(), "acme", "sv_active") == "1");
}

TEST_CASE("only admins open database pgtenant: others get FATAL 28000, a wrong password 28P01", "[admin]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("adminauth");
  ProxyProcess proxy(AdminConfig(db));

  PgConn alice = ConnectProxy(proxy, "alice", kAlicePassword, "pgtenant");
  CHECK(PQstatus(alice.get()) == CONNECTION_BAD);
  CHECK(StartupSqlstate(alice.get()) == "28000");
  CHECK_THAT(PQerrorMessage(alice.get()), Catch::Contains("user \"alice\" is not an admin"));

  PgConn wrong = ConnectProxy(proxy, "ops", "not the password", "pgtenant");
  CHECK(PQstatus(wrong.get()) == CONNECTION_BAD);
  CHECK(StartupSqlstate(wrong.get()) == "28P01");

  // An admin-only user has no tenant, so no database but the console.
  PgConn ops_app = ConnectProxy(proxy, "ops", kOpsPassword, "app");
  CHECK(PQstatus(ops_app.get()) == CONNECTION_BAD);
  CHECK(StartupSqlstate(ops_app.get()) == "28000");

  CommandResult psql_alice = Psql(proxy, "SHOW VERSION", "alice", kAlicePassword);
  CHECK(psql_alice.exit_code == 2);
  CHECK_THAT(psql_alice.output, Catch::Contains("FATAL:  pgtenant: user \"alice\" is not an admin"));
  CHECK(Psql(proxy, "SHOW VERSION").exit_code == 0);
}

TEST_CASE("unknown commands, bad arguments and the extended protocol get errors; the console goes on", "[admin]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("adminerr");
  ProxyProcess proxy(AdminConfig(db));
  PgConn console = Console(proxy);

  PgResult unknown = Exec(console.get(), "FROBNICATE everything");
  CHECK(Sqlstate(unknown.get()) == "42601");
  CHECK_THAT(ErrorMessage(unknown.get()), Catch::Contains("unknown admin command \"FROBNICATE\""));
  const char* hint = PQresultErrorField(unknown.get(), PG_DIAG_MESSAGE_HINT);
  REQUIRE(hint != nullptr);
  CHECK_THAT(hint, Catch::Contains("SHOW POOLS") && Catch::Contains("RESUME [tenant]") && Catch::Contains("SHUTDOWN"));

  CHECK(Sqlstate(Exec(console.get(), "SHOW NOTHING").get()) == "42601");
  CHECK(Sqlstate(Exec(console.get(), "SHOW").get()) == "42601");
  CHECK(Sqlstate(Exec(console.get(), "KILL").get()) == "42601");
  CHECK(Sqlstate(Exec(console.get(), "PAUSE acme beta").get()) == "42601");
  CHECK(Sqlstate(Exec(console.get(), "RELOAD now").get()) == "42601");
  PgResult no_tenant = Exec(console.get(), "DISABLE nosuch");
  CHECK(Sqlstate(no_tenant.get()) == "42704");
  CHECK_THAT(ErrorMessage(no_tenant.get()), Catch::Contains("no tenant named \"nosuch\""));
  CHECK(Sqlstate(Exec(console.get(), "RESUME").get()) == "55000");  // nothing is paused
  CHECK(Sqlstate(Exec(console.get(), "ENABLE acme").get()) == "55000");  // not disabled

  // The first failing command ends the query: what follows it does not run.
  auto batch = ExecWithTimeout(console.get(), "SHOW VERSION; BOGUS; DISABLE acme", std::chrono::seconds(5));
  REQUIRE(batch.has_value());
  REQUIRE(batch->size() == 2);
  CHECK(PQresultStatus((*batch)[0].get()) == PGRES_TUPLES_OK);
  CHECK(Sqlstate((*batch)[1].get()) == "42601");
  CHECK(Cell(MustExec(console.get(), "SHOW TENANTS").get(), "acme", "disabled") == "0");

  PgResult extended = PgResult(PQexecParams(console.get(), "SHOW VERSION", 0, nullptr, nullptr, nullptr, nullptr, 0));
  CHECK(Sqlstate(extended.get()) == "0A000");
  CHECK_THAT(ErrorMessage(extended.get()), Catch::Contains("simple query protocol"));

  CHECK(Sqlstate(Exec(console.get(), "").get()).empty());  // an empty query is fine
  CHECK(QueryValue(console.get(), "show version") == "pgtenant 0.1.0");
  CommandResult psql = Psql(proxy, "FROBNICATE");
  CHECK(psql.exit_code == 1);
  CHECK_THAT(psql.output, Catch::Contains("ERROR:  42601: pgtenant: unknown admin command"));
}

TEST_CASE("PAUSE waits for the transaction in flight and holds new ones until RESUME", "[admin]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("adminpause");
  ProxyConfig config = AdminConfig(db);
  config.pool_mode = "transaction";
  ProxyProcess proxy(config);
  PgConn busy = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  PgConn held = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  MustExec(busy.get(), "BEGIN");
  MustExec(busy.get(), "SELECT 1");

  PgConn console = Console(proxy);
  REQUIRE(PQsendQuery(console.get(), "PAUSE acme") == 1);
  // Alice's transaction is still open: PAUSE does not return.
  CHECK_FALSE(CollectResults(console.get(), std::chrono::milliseconds(700)).has_value());
  // Inside its transaction, alice goes on; her COMMIT lets PAUSE finish.
  CHECK(QueryValue(busy.get(), "SELECT 'inside'") == "inside");
  MustExec(busy.get(), "COMMIT");
  auto paused = CollectResults(console.get(), std::chrono::seconds(5));
  REQUIRE(paused.has_value());
  REQUIRE(paused->size() == 1);
  CHECK(std::string(PQcmdStatus((*paused)[0].get())) == "PAUSE");

  // A new transaction waits...
  REQUIRE(PQsendQuery(held.get(), "SELECT 'after resume'") == 1);
  CHECK_FALSE(WaitReadable(held.get(), std::chrono::milliseconds(700)));
  PgResult pools = MustExec(console.get(), "SHOW POOLS");
  CHECK(Cell(pools.get(), "acme", "cl_waiting") == "1");
  CHECK(Cell(pools.get(), "acme", "paused") == "1");
  CHECK(Cell(pools.get(), "acme", "sv_active") == "0");  // paused clients hold no server
  CHECK(Cell(MustExec(console.get(), "SHOW TENANTS").get(), "acme", "paused") == "1");
  CHECK(Sqlstate(Exec(console.get(), "PAUSE acme").get()) == "55000");  // already paused

  // ...until RESUME (from psql, another admin connection).
  CommandResult resumed = Psql(proxy, "RESUME acme");
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  auto answer = CollectResults(held.get(), std::chrono::seconds(5));
  REQUIRE(answer.has_value());
  REQUIRE(answer->size() == 1);
  CHECK(PQgetvalue((*answer)[0].get(), 0, 0) == std::string("after resume"));

  // PAUSE of every tenant with nothing in flight returns at once; RESUME releases the waiters.
  CommandResult pause_all = Psql(proxy, "PAUSE");
  REQUIRE(pause_all.exit_code == 0);
  REQUIRE(PQsendQuery(busy.get(), "SELECT 'all resumed'") == 1);
  CHECK_FALSE(WaitReadable(busy.get(), std::chrono::milliseconds(500)));
  CHECK(Sqlstate(Exec(console.get(), "RESUME acme").get()) == "55000");  // every tenant is paused
  MustExec(console.get(), "RESUME");
  auto all = CollectResults(busy.get(), std::chrono::seconds(5));
  REQUIRE(all.has_value());
  REQUIRE(all->size() == 1);
  CHECK(PQgetvalue((*all)[0].get(), 0, 0) == std::string("all resumed"));
}

TEST_CASE("PAUSE under session pooling holds an idle client's next query until RESUME", "[admin]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("adminpauses");
  ProxyProcess proxy(AdminConfig(db));
  PgConn alice = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  REQUIRE(Psql(proxy, "PAUSE acme").exit_code == 0);
  REQUIRE(PQsendQuery(alice.get(), "SELECT 'later'") == 1);
  CHECK_FALSE(WaitReadable(alice.get(), std::chrono::milliseconds(700)));
  REQUIRE(Psql(proxy, "RESUME").exit_code == 0);
  auto answer = CollectResults(alice.get(), std::chrono::seconds(5));
  REQUIRE(answer.has_value());
  REQUIRE(answer->size() == 1);
  CHECK(PQgetvalue((*answer)[0].get(), 0, 0) == std::string("later"));
}

TEST_CASE("DISABLE refuses new connections of a tenant while open ones work; ENABLE lets them in", "[admin]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("admindis");
  ProxyProcess proxy(AdminConfig(db));
  PgConn alice = MustConnectProxy(proxy, "alice", kAlicePassword, "app");

  CommandResult disabled = Psql(proxy, "DISABLE acme");
  INFO(disabled.output);
  REQUIRE(disabled.exit_code == 0);
  PgConn bob = ConnectProxy(proxy, "bob", kBobPassword, "app");
  CHECK(PQstatus(bob.get()) == CONNECTION_BAD);
  CHECK(StartupSqlstate(bob.get()) == "55000");
  CHECK_THAT(PQerrorMessage(bob.get()), Catch::Contains("tenant \"acme\" is disabled"));
  CHECK(QueryValue(alice.get(), "SELECT 'still here'") == "still here");
  CHECK(Psql(proxy, "DISABLE acme").exit_code == 1);  // already disabled

  REQUIRE(Psql(proxy, "ENABLE acme").exit_code == 0);
  PgConn bob_again = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  CHECK(QueryValue(bob_again.get(), "SELECT 'back'") == "back");
}

TEST_CASE("KILL closes a tenant's clients with FATAL 57P01 naming the command; other tenants go on", "[admin]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("adminkill");
  ProxyProcess proxy(AdminConfig(db, /*with_beta=*/true));
  PgConn alice = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  PgConn bob = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  PgConn carol = MustConnectProxy(proxy, "carol", kCarolPassword, "app2");
  MustExec(bob.get(), "BEGIN");  // even inside a transaction

  CommandResult killed = Psql(proxy, "KILL acme");
  INFO(killed.output);
  REQUIRE(killed.exit_code == 0);
  CHECK_THAT(killed.output, Catch::Contains("closed 2 client connections of tenant acme"));
  for (PGconn* conn : {alice.get(), bob.get()}) {
    PgResult result = Exec(conn, "SELECT 1");
    CHECK(PQresultStatus(result.get()) == PGRES_FATAL_ERROR);
    CHECK_THAT(PQerrorMessage(conn), Catch::Contains("57P01") && Catch::Contains("\"KILL acme\""));
  }
  CHECK(QueryValue(carol.get(), "SELECT 'unaffected'") == "unaffected");
  // KILL is not DISABLE: new connections are welcome.
  PgConn alice_again = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  CHECK(QueryValue(alice_again.get(), "SELECT 'again'") == "again");
}

TEST_CASE("RELOAD applies a new file, refuses a bad one with F0000, and both are audited", "[admin]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("adminreload");
  TempDir dir("pgtenant-admin-audit-");
  const std::string audit_path = dir.File("audit.jsonl");
  ProxyConfig config = AdminConfig(db);
  config.extra_yaml += "audit: { sinks: [ { type: file, path: " + audit_path + " } ] }\n";
  ProxyProcess proxy(config);
  CHECK(PQstatus(ConnectProxy(proxy, "carol", kCarolPassword, "app2").get()) == CONNECTION_BAD);

  ProxyConfig next = AdminConfig(db, /*with_beta=*/true);
  next.extra_yaml = config.extra_yaml;
  next.port = proxy.port();
  WriteFile(proxy.config_path(), next.ToYaml());
  CommandResult reloaded = Psql(proxy, "RELOAD");
  INFO(reloaded.output);
  REQUIRE(reloaded.exit_code == 0);
  PgConn carol = MustConnectProxy(proxy, "carol", kCarolPassword, "app2");
  CHECK(QueryValue(carol.get(), "SELECT current_setting('app.current_organization_id')") == kBetaId);

  WriteFile(proxy.config_path(), "tenants: { oops\n");
  CommandResult refused = Psql(proxy, "RELOAD");
  INFO(refused.output);
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.output, Catch::Contains("F0000") && Catch::Contains("reload refused"));
  CHECK(QueryValue(carol.get(), "SELECT 'still beta'") == "still beta");
  CHECK(Psql(proxy, "SHOW VERSION").exit_code == 0);

  std::string audit;
  CHECK(PollUntil(
      [&] {
        audit = ReadFile(audit_path);
        return audit.find("\"command\":\"SHOW VERSION\"") != std::string::npos;
      },
      std::chrono::seconds(5)));
  INFO(audit);
  CHECK_THAT(audit, Catch::Contains("\"type\":\"admin_command\""));
  CHECK_THAT(audit, Catch::Contains("\"user\":\"ops\""));
  CHECK_THAT(audit, Catch::Contains("\"command\":\"RELOAD\",\"result\":\"ok\""));
  CHECK_THAT(audit, Catch::Contains("\"command\":\"RELOAD\",\"result\":\"error\""));
  CHECK_THAT(audit, Catch::Contains("\"type\":\"config_reloaded\""));
}

TEST_CASE("SHUTDOWN stops pgtenant like SIGTERM: an open transaction may commit, then it exits 0", "[admin]") {
  PostgresServer& server = PostgresServer::Shared();
  TestDatabase db = server.CreateTestDatabase("adminstop");
  server.Exec("CREATE TABLE done (x int); ALTER TABLE done OWNER TO " + db.role, db.database);
  ProxyProcess proxy(AdminConfig(db));
  PgConn busy = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  MustExec(busy.get(), "BEGIN");
  MustExec(busy.get(), "INSERT INTO done VALUES (1)");

  CommandResult stopped = Psql(proxy, "SHUTDOWN");
  INFO(stopped.output);
  CHECK(stopped.exit_code == 0);
  // SHUTDOWN answers once asked; each worker closes its listener on its own loop, and a client accepted
  // before that finishes its login (as at SIGTERM). Once every listener is closed, nobody gets in.
  REQUIRE(PollUntil([&] { return !CanConnect(proxy.port()); }, std::chrono::seconds(10)));
  CHECK(PQstatus(ConnectProxy(proxy, "bob", kBobPassword, "app").get()) == CONNECTION_BAD);
  MustExec(busy.get(), "COMMIT");
  CHECK(server.Exec("SELECT count(*) FROM done", db.database).at(0).at(0) == "1");
  std::optional<int> status = proxy.WaitForExit(std::chrono::seconds(10));
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK_THAT(proxy.Log(), Catch::Contains("admin command SHUTDOWN by user"));
}

}  // namespace
}  // namespace pgtenant::integration
