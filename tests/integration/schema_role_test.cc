// tenants.NAME.server_role: a schema tenant's server session runs as a role of its own, which the database
// keeps to the tenant's schema. The SQL policy's rules that would stop these statements first are off for
// the tenants here, so what is tested is the database's wall alone.
#include <catch2/catch.hpp>

#include <string>

#include "tests/integration/harness/net.h"
#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

constexpr char kIdA[] = "9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d";
constexpr char kIdB[] = "3d1a7b2c-8e9f-4a0b-b1c2-d3e4f5a6b7c8";
constexpr char kIdC[] = "5e0c2b8a-1f3d-4c6e-9a7b-2d4f6e8a0c1b";
// Only the database stands between the tenants: role changes and other schemas' names pass the policy.
constexpr char kDatabaseWallOnly[] =
    "policy: { rules: { context.role: off, context.search_path: off, cross_tenant.schema: off, catalog.statistics: off } }";

// Schemas org_a, org_b, org_c of one database, each with a table `secrets` whose values name the schema
// ("b-secret-0".."b-secret-2", 100 rows each), analyzed so that pg_stats holds them. Tenants a and b log
// in as roles of their own (USAGE on their schema, DML on its table); c has none and logs in as the
// backend's user, which reaches org_b and org_c as one shared role of old would.
struct SchemaRoleWorld {
  TestDatabase db;  // the backend's user and database
  std::string owner, role_a, role_b, password;

  static SchemaRoleWorld Create() {
    PostgresServer& server = PostgresServer::Shared();
    SchemaRoleWorld w;
    w.db = server.CreateTestDatabase("schema_role");
    const std::string suffix = RandomHex(4);
    w.owner = "sr_owner_" + suffix;
    w.role_a = "sr_a_" + suffix;
    w.role_b = "sr_b_" + suffix;
    w.password = RandomHex(12);
    server.Exec("CREATE ROLE " + w.owner + " NOLOGIN");
    for (const std::string& role : {w.role_a, w.role_b}) {
      server.Exec("CREATE ROLE " + role + " LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '" + w.password + "'");
      server.Exec("GRANT CONNECT ON DATABASE " + w.db.database + " TO " + role);
    }
    std::string sql = "REVOKE CREATE ON SCHEMA public FROM PUBLIC;";
    for (const char* t : {"a", "b", "c"}) {
      const std::string schema = std::string("org_") + t;
      sql += "CREATE SCHEMA " + schema + " AUTHORIZATION " + w.owner + ";";
      sql += "CREATE TABLE " + schema + ".secrets (v text NOT NULL); ALTER TABLE " + schema + ".secrets OWNER TO " +
             w.owner + ";";
      sql += "INSERT INTO " + schema + ".secrets SELECT '" + t + "-secret-' || (i % 3) FROM generate_series(1, 300) i;";
      sql += "ANALYZE " + schema + ".secrets;";
    }
    for (const auto& [role, schema] : {std::pair{w.role_a, "org_a"}, std::pair{w.role_b, "org_b"},
                                       std::pair{w.db.role, "org_b"}, std::pair{w.db.role, "org_c"}}) {
      sql += std::string("GRANT USAGE ON SCHEMA ") + schema + " TO " + role + ";";
      sql += std::string("GRANT SELECT, INSERT, UPDATE, DELETE ON ") + schema + ".secrets TO " + role + ";";
    }
    server.Exec(sql, w.db.database);
    return w;
  }

  ProxyConfig Config() const {
    ProxyConfig config = StandardConfig(db);
    const std::string role_a_yaml = "server_role: { user: " + role_a + ", password: \"" + password + "\" }, ";
    const std::string role_b_yaml = "server_role: { user: " + role_b + ", password: \"" + password + "\" }, ";
    config.tenants.clear();
    config.tenants["a"] = TenantSpec{kIdA, "schema", "app", "org_a", role_a_yaml + kDatabaseWallOnly};
    config.tenants["b"] = TenantSpec{kIdB, "schema", "app", "org_b", role_b_yaml + kDatabaseWallOnly};
    config.tenants["c"] = TenantSpec{kIdC, "schema", "app", "org_c", kDatabaseWallOnly};
    config.memberships.clear();
    config.users.erase("bob");
    config.memberships["alice"] = {{"a", "admin"}, {"b", "admin"}, {"c", "admin"}};
    config.extra_yaml.clear();
    return config;
  }
};

std::string ErrorOf(PGconn* conn, const std::string& sql) {
  PgResult result = Exec(conn, sql);
  return Sqlstate(result.get()) + " " + ErrorMessage(result.get());
}

TEST_CASE("a schema tenant's server session runs as its own role, and no role change leaves it", "[routing]") {
  const SchemaRoleWorld w = SchemaRoleWorld::Create();
  ProxyProcess proxy(w.Config());
  PgConn a = MustConnectProxy(proxy, "alice.a", kAlicePassword, w.db.database);
  const std::string self = w.role_a + " " + w.role_a;
  CHECK(QueryValue(a.get(), "SELECT current_user || ' ' || session_user") == self);
  CHECK(QueryValue(a.get(), "SELECT count(*) FROM secrets") == "300");  // its own schema, by search_path

  // The role is the session user: RESET falls back to it, and it may become no other tenant's role.
  MustExec(a.get(), "RESET ROLE");
  MustExec(a.get(), "RESET SESSION AUTHORIZATION");
  CHECK(QueryValue(a.get(), "SELECT current_user || ' ' || session_user") == self);
  CHECK_THAT(ErrorOf(a.get(), "SET ROLE " + w.role_b), Catch::StartsWith("42501 permission denied to set role"));
  CHECK_THAT(ErrorOf(a.get(), "SET ROLE " + w.db.role), Catch::StartsWith("42501 permission denied to set role"));
  CHECK_THAT(ErrorOf(a.get(), "SET SESSION AUTHORIZATION " + w.role_b),
             Catch::StartsWith("42501 permission denied to set session authorization"));
  CHECK(QueryValue(a.get(), "SELECT current_user || ' ' || session_user") == self);

  // The other tenants' schemas are closed to it, whatever the search path.
  CHECK_THAT(ErrorOf(a.get(), "SELECT * FROM org_b.secrets"), Catch::StartsWith("42501 permission denied for schema org_b"));
  CHECK_THAT(ErrorOf(a.get(), "SELECT * FROM org_c.secrets"), Catch::StartsWith("42501 permission denied for schema org_c"));
  MustExec(a.get(), "SET search_path = org_b");
  CHECK_THAT(ErrorOf(a.get(), "SELECT * FROM secrets"), Catch::StartsWith("42P01"));
  // (By oid: naming org_b.secrets would need USAGE on org_b to resolve.)
  CHECK(QueryValue(a.get(), "SELECT bool_or(has_schema_privilege(n.oid, 'USAGE') OR has_table_privilege(c.oid, "
                            "'SELECT, INSERT, UPDATE, DELETE')) FROM pg_class c JOIN pg_namespace n ON n.oid = "
                            "c.relnamespace WHERE n.nspname IN ('org_b', 'org_c') AND c.relname = 'secrets'") == "f");

  // b, on the same backend and database, runs as its own role in a pool of its own.
  PgConn b = MustConnectProxy(proxy, "alice.b", kAlicePassword, w.db.database);
  CHECK(QueryValue(b.get(), "SELECT current_user || ' ' || session_user") == w.role_b + " " + w.role_b);
  CHECK(QueryValue(b.get(), "SELECT count(*) FROM secrets WHERE v LIKE 'b-secret-%'") == "300");
  // c has no server_role: the backend's user.
  PgConn c = MustConnectProxy(proxy, "alice.c", kAlicePassword, w.db.database);
  CHECK(QueryValue(c.get(), "SELECT session_user") == w.db.role);
}

TEST_CASE("after ANALYZE, a schema tenant with its own role reads no other tenant's values in pg_stats", "[routing]") {
  const SchemaRoleWorld w = SchemaRoleWorld::Create();
  ProxyProcess proxy(w.Config());
  const std::string stats =
      "SELECT COALESCE(string_agg(schemaname || ':' || most_common_vals::text, ' ' ORDER BY schemaname), '') "
      "FROM pg_stats WHERE tablename = 'secrets'";

  PgConn a = MustConnectProxy(proxy, "alice.a", kAlicePassword, w.db.database);
  const std::string seen_by_a = QueryValue(a.get(), stats);
  // Its own statistics are there (so the query can see statistics at all), no other's.
  CHECK_THAT(seen_by_a, Catch::Contains("a-secret-0"));
  CHECK_THAT(seen_by_a, !Catch::Contains("b-secret") && !Catch::Contains("c-secret"));
  CHECK(QueryValue(a.get(), "SELECT count(*) FROM pg_stats WHERE schemaname <> 'org_a' AND tablename = 'secrets'") ==
        "0");
  PgConn b = MustConnectProxy(proxy, "alice.b", kAlicePassword, w.db.database);
  const std::string seen_by_b = QueryValue(b.get(), stats);
  CHECK_THAT(seen_by_b, Catch::Contains("b-secret-0"));
  CHECK_THAT(seen_by_b, !Catch::Contains("a-secret") && !Catch::Contains("c-secret"));

  // The hole this closes: c logs in as the backend's user, shared with what b's schema was granted to,
  // and reads b's values through pg_stats although it never touches org_b.
  PgConn c = MustConnectProxy(proxy, "alice.c", kAlicePassword, w.db.database);
  CHECK_THAT(QueryValue(c.get(), stats), Catch::Contains("b-secret-0"));
}

}  // namespace
}  // namespace pgtenant::integration
