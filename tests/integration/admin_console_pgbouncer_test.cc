// The console commands PgBouncer has and pgtenant took over (issue 25 item 7): SHOW DATABASES,
// USERS, LISTS and TOTALS, query time in SHOW STATS, RECONNECT [tenant], KILL_CLIENT id, and
// database "pgbouncer" as the console's other name for admins.
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <chrono>
#include <string>

#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/poll.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

constexpr char kOpsPassword[] = "ops-secret";
constexpr char kCarolPassword[] = "carol-secret";
constexpr char kBetaId[] = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

// The standard config plus ops (admin only) and tenant beta (rls, second backend, user carol).
ProxyConfig TwoTenantConfig(const TestDatabase& db) {
  ProxyConfig config = StandardConfig(db);
  config.users["ops"] = kOpsPassword;
  config.admins = {"ops"};
  config.backends["app2"] = config.backends["app"];
  config.tenants["beta"] = TenantSpec{kBetaId, "rls", "app2", ""};
  config.users["carol"] = kCarolPassword;
  config.memberships["carol"]["beta"] = "member";
  return config;
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

// The column `column` of the row where column `match_column` is `match`.
std::string CellWhere(const PGresult* result, const std::string& match_column, const std::string& match,
                      const std::string& column) {
  int m = PQfnumber(result, match_column.c_str());
  int c = PQfnumber(result, column.c_str());
  if (m < 0 || c < 0) return "<no column>";
  for (int row = 0; row < PQntuples(result); ++row)
    if (match == PQgetvalue(result, row, m)) return PQgetvalue(result, row, c);
  return "<no row>";
}

long long Number(const std::string& text) { return std::stoll(text); }

TEST_CASE("SHOW DATABASES, USERS, LISTS and TOTALS answer in PgBouncer's columns, one row per tenant", "[admin]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("adminlists");
  ProxyProcess proxy(TwoTenantConfig(db));
  PgConn alice = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  PgConn carol = MustConnectProxy(proxy, "carol", kCarolPassword, "app2");
  for (int i = 0; i < 3; ++i) CHECK(QueryValue(alice.get(), "SELECT pg_sleep(0.01)::text || 'x'") == "x");
  CHECK(QueryValue(carol.get(), "SELECT 1") == "1");
  PgConn console = Console(proxy);

  PgResult databases = MustExec(console.get(), "SHOW DATABASES");
  CHECK(PQntuples(databases.get()) == 2);
  CHECK(Cell(databases.get(), "acme", "database") == "acme");  // the tenant (admin_show.h)
  CHECK(Cell(databases.get(), "acme", "backend_database") == db.database);
  CHECK(Cell(databases.get(), "acme", "force_user") == db.role);
  CHECK(Cell(databases.get(), "acme", "pool_size") == "10");
  CHECK(Cell(databases.get(), "acme", "current_connections") == "1");
  CHECK(Cell(databases.get(), "beta", "backend") == "app2");
  CHECK(PQftype(databases.get(), PQfnumber(databases.get(), "pool_size")) == 20);  // int8

  PgResult users = MustExec(console.get(), "SHOW USERS");
  CHECK(Cell(users.get(), "alice", "current_client_connections") == "1");
  CHECK(Cell(users.get(), "bob", "current_client_connections") == "0");
  CHECK(Cell(users.get(), "ops", "current_client_connections") == "1");  // this console
  CHECK(Cell(users.get(), "ops", "admin") == "1");
  CHECK(Cell(users.get(), "carol", "tenants") == "beta");

  PgResult lists = MustExec(console.get(), "SHOW LISTS");
  CHECK(Cell(lists.get(), "databases", "items") == "2");
  CHECK(Cell(lists.get(), "users", "items") == "4");  // alice, bob, carol, ops
  CHECK(Cell(lists.get(), "pools", "items") == "2");
  CHECK(Cell(lists.get(), "used_clients", "items") == "3");
  CHECK(Cell(lists.get(), "used_servers", "items") == "2");
  CHECK(Cell(lists.get(), "dns_pending", "items") == "0");

  // STATS: query time is the server's busy time: three pg_sleep(0.01) take 30 ms at least.
  PgResult stats = MustExec(console.get(), "SHOW STATS");
  CHECK(Number(Cell(stats.get(), "acme", "total_query_time")) >= 30000);
  CHECK(Number(Cell(stats.get(), "acme", "avg_query_time")) >= 10000);
  CHECK(Number(Cell(stats.get(), "acme", "total_requests")) == Number(Cell(stats.get(), "acme", "total_query_count")));
  CHECK(Number(Cell(stats.get(), "beta", "total_query_count")) == 1);
  CHECK(Number(Cell(stats.get(), "beta", "total_query_time")) > 0);

  // TOTALS: STATS summed, as (name, value) rows.
  PgResult totals = MustExec(console.get(), "SHOW TOTALS");
  for (const char* column : {"total_query_count", "total_received", "total_query_time"}) {
    INFO(column);
    CHECK(Number(Cell(totals.get(), column, "value")) ==
          Number(Cell(stats.get(), "acme", column)) + Number(Cell(stats.get(), "beta", column)));
  }
}

TEST_CASE("RECONNECT closes a tenant's server connections once released; other tenants keep theirs", "[admin]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("adminreconnect");
  ProxyProcess proxy(TwoTenantConfig(db));
  PgConn console = Console(proxy);
  auto backend_pid = [&](const char* user, const char* password, const char* database) {
    PgConn conn = MustConnectProxy(proxy, user, password, database);
    return QueryValue(conn.get(), "SELECT pg_backend_pid()");
  };
  // Without RECONNECT a released connection serves the next client (session pooling), once its reset
  // (DISCARD ALL, sent at release) is done: a client that comes before gets a new connection.
  const std::string acme_first = backend_pid("alice", kAlicePassword, "app");
  REQUIRE(PollUntil(
      [&] { return CellWhere(MustExec(console.get(), "SHOW SERVERS").get(), "remote_pid", acme_first, "state") == "idle"; },
      std::chrono::seconds(10)));
  CHECK(backend_pid("alice", kAlicePassword, "app") == acme_first);
  const std::string beta_first = backend_pid("carol", kCarolPassword, "app2");

  // One client holds a server across the RECONNECT: it is marked, keeps working, and closes on
  // release. Another server connection sits idle: it closes at once.
  PgConn bob = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  const std::string bob_pid = QueryValue(bob.get(), "SELECT pg_backend_pid()");
  std::string idle_pid;
  {
    PgConn alice = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
    idle_pid = QueryValue(alice.get(), "SELECT pg_backend_pid()");
  }
  REQUIRE(idle_pid != bob_pid);
  REQUIRE(PollUntil(
      [&] { return CellWhere(MustExec(console.get(), "SHOW SERVERS").get(), "remote_pid", idle_pid, "state") == "idle"; },
      std::chrono::seconds(10)));
  PgResult reconnect = MustExec(console.get(), "RECONNECT acme");
  CHECK(std::string(PQcmdStatus(reconnect.get())) == "RECONNECT");
  PgResult servers = MustExec(console.get(), "SHOW SERVERS");
  CHECK(CellWhere(servers.get(), "remote_pid", bob_pid, "close_needed") == "1");
  CHECK(CellWhere(servers.get(), "remote_pid", idle_pid, "state") == "<no row>");  // idle: closed at once
  CHECK(QueryValue(bob.get(), "SELECT 'still here'") == "still here");
  bob.reset();
  CHECK(PollUntil(
      [&] { return CellWhere(MustExec(console.get(), "SHOW SERVERS").get(), "remote_pid", bob_pid, "state") == "<no row>"; },
      std::chrono::seconds(10)));

  const std::string acme_after = backend_pid("alice", kAlicePassword, "app");
  CHECK(acme_after != acme_first);
  CHECK(acme_after != bob_pid);
  CHECK(acme_after != idle_pid);
  CHECK(backend_pid("carol", kCarolPassword, "app2") == beta_first);  // beta was not reconnected

  // RECONNECT alone: every pool.
  MustExec(console.get(), "RECONNECT");
  CHECK(backend_pid("carol", kCarolPassword, "app2") != beta_first);
  CHECK(Sqlstate(Exec(console.get(), "RECONNECT nosuch").get()) == "42704");
  CHECK(Sqlstate(Exec(console.get(), "RECONNECT acme beta").get()) == "42601");
}

TEST_CASE("KILL_CLIENT closes one client by the id SHOW CLIENTS prints; the others go on", "[admin]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("adminkillclient");
  ProxyProcess proxy(TwoTenantConfig(db));
  PgConn console = Console(proxy);
  PgConn alice = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  PgConn bob = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  CHECK(QueryValue(bob.get(), "SELECT 1") == "1");

  PgResult clients = MustExec(console.get(), "SHOW CLIENTS");
  const std::string bob_id = CellWhere(clients.get(), "user", "bob", "id");
  const std::string ops_id = CellWhere(clients.get(), "user", "ops", "id");
  REQUIRE(bob_id != "<no row>");
  PgResult killed = MustExec(console.get(), "KILL_CLIENT " + bob_id);
  CHECK(std::string(PQcmdStatus(killed.get())) == "KILL_CLIENT");

  PgResult after = Exec(bob.get(), "SELECT 1");
  CHECK(PQresultStatus(after.get()) != PGRES_TUPLES_OK);
  CHECK_THAT(PQerrorMessage(bob.get()), Catch::Contains("KILL_CLIENT " + bob_id));
  CHECK(QueryValue(alice.get(), "SELECT 'alive'") == "alive");
  CHECK(PollUntil(
      [&] { return CellWhere(MustExec(console.get(), "SHOW CLIENTS").get(), "user", "bob", "id") == "<no row>"; },
      std::chrono::seconds(10)));

  CHECK(Sqlstate(Exec(console.get(), "KILL_CLIENT " + bob_id).get()) == "42704");  // gone now
  CHECK(Sqlstate(Exec(console.get(), "KILL_CLIENT " + ops_id).get()) == "42704");  // not the console itself
  CHECK(Sqlstate(Exec(console.get(), "KILL_CLIENT").get()) == "42601");
  CHECK(Sqlstate(Exec(console.get(), "KILL_CLIENT abc").get()) == "42601");
  CHECK(Sqlstate(Exec(console.get(), "KILL_CLIENT 1 2").get()) == "42601");
  CHECK(QueryValue(console.get(), "SHOW VERSION") == "pgtenant 0.1.0");
}

TEST_CASE("the unknown-SHOW hint lists every item; database pgbouncer is the console for admins only", "[admin]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("adminhint");
  ProxyProcess proxy(TwoTenantConfig(db));
  PgConn console = Console(proxy);
  PgResult unknown = Exec(console.get(), "SHOW NOTHING");
  CHECK(Sqlstate(unknown.get()) == "42601");
  const char* hint = PQresultErrorField(unknown.get(), PG_DIAG_MESSAGE_HINT);
  REQUIRE(hint != nullptr);
  CHECK(std::string(hint) ==
        "Items: HELP, TENANTS, POOLS, CLIENTS, SERVERS, BACKENDS, DATABASES, USERS, LISTS, STATS, TOTALS, CONFIG, "
        "VERSION.");

  PgConn as_pgbouncer = MustConnectProxy(proxy, "ops", kOpsPassword, "pgbouncer");
  CHECK(QueryValue(as_pgbouncer.get(), "SHOW VERSION") == "pgtenant 0.1.0");
  // For a tenant's user, "pgbouncer" is just a database name: routed like any other, not the console.
  PgConn alice = ConnectProxy(proxy, "alice", kAlicePassword, "pgbouncer");
  if (PQstatus(alice.get()) == CONNECTION_OK) CHECK(Sqlstate(Exec(alice.get(), "SHOW VERSION").get()) != "");
}

}  // namespace
}  // namespace pgtenant::integration
