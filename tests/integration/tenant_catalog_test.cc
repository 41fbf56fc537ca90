// The tenant catalog (tenant_catalog:, issue 26 item 4): tenants, memberships and users read from tables of
// a backend, kept up to date by LISTEN/NOTIFY, with no file edit and no reload. A new tenant serves its
// first query within a second of its insert; a bad row is skipped with a log line while the good rows
// apply; a deleted tenant is refused at its clients' next transaction, as one removed from the YAML is;
// SHOW TENANTS says where each tenant came from.
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <chrono>
#include <cstdio>
#include <csignal>
#include <string>

#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/poll.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr char kGlobexId[] = "9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d";
constexpr char kInitrodeId[] = "3d1a0b2c-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
constexpr char kOpsPassword[] = "ops-secret";
constexpr char kDoraPassword[] = "dora-secret";
constexpr char kSetting[] = "SELECT current_setting('app.current_organization_id')";

// The documented tables (README, "Tenant catalog"), owned by the backend's role.
void CreateCatalogTables(const TestDatabase& db) {
  PostgresServer::Shared().Exec(
      "CREATE SCHEMA pgtenant_catalog AUTHORIZATION " + db.role + ";"
      "SET ROLE " + db.role + ";"
      "CREATE TABLE pgtenant_catalog.tenants (name text PRIMARY KEY, id text NOT NULL, isolation text NOT NULL "
      "DEFAULT 'rls', schema text, backend text NOT NULL);"
      "CREATE TABLE pgtenant_catalog.memberships (user_name text, tenant text, role text NOT NULL DEFAULT 'member', "
      "PRIMARY KEY (user_name, tenant));"
      "CREATE TABLE pgtenant_catalog.users (name text PRIMARY KEY, password text NOT NULL)",
      db.database);
}

void CatalogExec(const TestDatabase& db, const std::string& sql) { PostgresServer::Shared().Exec(sql, db.database); }

// acme (rls) from the YAML on backend app, which also holds the catalog; `ops` opens the console.
ProxyConfig CatalogConfig(const TestDatabase& db) {
  ProxyConfig config = StandardConfig(db);
  config.tenants["acme"].isolation = "rls";
  config.pool_mode = "transaction";
  config.users["ops"] = kOpsPassword;
  config.admins = {"ops"};
  // The interval is long: only a notification can make the catalog's changes apply in time.
  config.extra_yaml =
      "tenant_catalog:\n"
      "  backend: app\n"
      "  users_query: SELECT name, password FROM pgtenant_catalog.users\n"
      "  refresh_interval: 1h\n";
  return config;
}

// The row of SHOW TENANTS whose name is `tenant`: column -> value.
std::string TenantCell(const ProxyProcess& proxy, const std::string& tenant, const std::string& column) {
  PgConn console = MustConnectProxy(proxy, "ops", kOpsPassword, "pgtenant");
  PgResult rows = MustExec(console.get(), "SHOW TENANTS");
  const int c = PQfnumber(rows.get(), column.c_str());
  if (c < 0) return "<no column>";
  for (int row = 0; row < PQntuples(rows.get()); ++row)
    if (tenant == PQgetvalue(rows.get(), row, 0)) return PQgetvalue(rows.get(), row, c);
  return "<no row>";
}

// Logs in as `user` and reads the tenant setting; "" if the login or the query failed.
std::string SettingAs(const ProxyProcess& proxy, const std::string& user, const std::string& password) {
  PgConn conn = ConnectProxy(proxy, user, password, "app");
  if (PQstatus(conn.get()) != CONNECTION_OK) return "";
  PgResult result = Exec(conn.get(), kSetting);
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) return "";
  return PQgetvalue(result.get(), 0, 0);
}

TEST_CASE("a tenant inserted into the catalog serves its first query within a second, with no file edit or reload",
          "[catalog]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("tcatalog");
  CreateCatalogTables(db);
  ProxyProcess proxy(CatalogConfig(db));
  REQUIRE(proxy.AwaitLog("tenant_catalog applied"));  // the first read: empty tables
  CHECK(SettingAs(proxy, "alice.globex", kAlicePassword).empty());
  CHECK(TenantCell(proxy, "acme", "source") == "yaml");

  // A sign-up: tenant, a YAML user's membership, a user of the catalog's own, then NOTIFY.
  const Clock::time_point inserted = Clock::now();
  CatalogExec(db, "BEGIN;"
                  "INSERT INTO pgtenant_catalog.tenants VALUES ('globex', '" + std::string(kGlobexId) +
                      "', 'rls', NULL, 'app');"
                  "INSERT INTO pgtenant_catalog.memberships VALUES ('alice', 'globex', 'member');"
                  "INSERT INTO pgtenant_catalog.users VALUES ('dora', '" + ScramVerifier(kDoraPassword) + "');"
                  "INSERT INTO pgtenant_catalog.memberships VALUES ('dora', 'globex', 'viewer');"
                  "NOTIFY pgtenant_catalog;"
                  "COMMIT");
  Clock::time_point served{};
  REQUIRE(PollUntil(
      [&] {
        if (SettingAs(proxy, "alice.globex", kAlicePassword) != kGlobexId) return false;
        served = Clock::now();
        return true;
      },
      std::chrono::seconds(10), milliseconds(10)));
  const auto elapsed = std::chrono::duration_cast<milliseconds>(served - inserted);
  std::printf("tenant_catalog: the new tenant's first query ran %lld ms after its insert\n",
              static_cast<long long>(elapsed.count()));
  CHECK(elapsed < milliseconds(1000));
  CHECK(SettingAs(proxy, "dora.globex", kDoraPassword) == kGlobexId);  // a user from the catalog
  CHECK(SettingAs(proxy, "alice.acme", kAlicePassword) == kAcmeId);    // the YAML's tenant is unchanged
  CHECK(TenantCell(proxy, "globex", "source") == "catalog");
  CHECK(TenantCell(proxy, "globex", "id") == kGlobexId);
  CHECK(TenantCell(proxy, "acme", "source") == "yaml");

  // A SIGHUP reloads the YAML: the catalog's tenants stay.
  proxy.Signal(SIGHUP);
  REQUIRE(proxy.AwaitLog("reloaded " + proxy.config_path()));
  CHECK(SettingAs(proxy, "alice.globex", kAlicePassword) == kGlobexId);
}

TEST_CASE("a bad catalog row is skipped with a log line, and the good rows beside it apply", "[catalog]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("tcatalogbad");
  CreateCatalogTables(db);
  ProxyProcess proxy(CatalogConfig(db));
  REQUIRE(proxy.AwaitLog("tenant_catalog applied"));

  CatalogExec(db, "BEGIN;"
                  "INSERT INTO pgtenant_catalog.tenants VALUES ('badco', 'not-a-uuid', 'rls', NULL, 'app'),"
                  "  ('initrode', '" + std::string(kInitrodeId) + "', 'rls', NULL, 'app'),"
                  "  ('acme', '" + std::string(kGlobexId) + "', 'rls', NULL, 'app');"
                  "INSERT INTO pgtenant_catalog.memberships VALUES ('alice', 'badco', 'member'),"
                  "  ('alice', 'initrode', 'admin');"
                  "NOTIFY pgtenant_catalog;"
                  "COMMIT");
  REQUIRE(proxy.AwaitLog("tenant_catalog applied", 2));
  // The log's text format escapes the quotes around the name: tenant row \"badco\" skipped.
  CHECK(proxy.AwaitLog("badco\\\" skipped: id: ", 1, milliseconds(0)));
  CHECK(proxy.AwaitLog("the YAML has a tenant of that name; the YAML wins", 1, milliseconds(0)));
  CHECK(SettingAs(proxy, "alice.initrode", kAlicePassword) == kInitrodeId);
  CHECK(SettingAs(proxy, "alice.acme", kAlicePassword) == kAcmeId);  // the YAML's acme, not the row's
  CHECK(SettingAs(proxy, "alice.badco", kAlicePassword).empty());
  CHECK(TenantCell(proxy, "badco", "name") == "<no row>");
  CHECK(TenantCell(proxy, "acme", "source") == "yaml");
}

TEST_CASE("a tenant deleted from the catalog is refused at its clients' next transaction, as a YAML-removed one",
          "[catalog]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("tcatalogdel");
  CreateCatalogTables(db);
  CatalogExec(db, "INSERT INTO pgtenant_catalog.tenants VALUES ('globex', '" + std::string(kGlobexId) +
                      "', 'rls', NULL, 'app');"
                      "INSERT INTO pgtenant_catalog.memberships VALUES ('alice', 'globex', 'member')");
  ProxyProcess proxy(CatalogConfig(db));
  REQUIRE(proxy.AwaitLog("tenant_catalog applied"));
  PgConn globex = MustConnectProxy(proxy, "alice.globex", kAlicePassword, "app");
  PgConn acme = MustConnectProxy(proxy, "alice.acme", kAlicePassword, "app");
  REQUIRE(QueryValue(globex.get(), kSetting) == kGlobexId);
  MustExec(globex.get(), "BEGIN");
  MustExec(globex.get(), "SELECT 1");

  CatalogExec(db, "DELETE FROM pgtenant_catalog.memberships WHERE tenant = 'globex';"
                  "DELETE FROM pgtenant_catalog.tenants WHERE name = 'globex';"
                  "NOTIFY pgtenant_catalog");
  REQUIRE(proxy.AwaitLog("tenant_catalog applied", 2));

  // The open transaction finishes; the next one is refused, with the SQLSTATE of a reload's removal.
  MustExec(globex.get(), "COMMIT");
  PgResult next = Exec(globex.get(), "SELECT 2");
  CHECK(PQresultStatus(next.get()) == PGRES_FATAL_ERROR);
  CHECK(SqlstateOf(PQerrorMessage(globex.get())) == "57P01");
  CHECK_THAT(PQerrorMessage(globex.get()), Catch::Contains("configuration reload"));
  CHECK(QueryValue(acme.get(), "SELECT 'unaffected'") == "unaffected");
  CHECK(SettingAs(proxy, "alice.globex", kAlicePassword).empty());  // and new logins too
  CHECK(TenantCell(proxy, "globex", "name") == "<no row>");
}

}  // namespace
}  // namespace pgtenant::integration
