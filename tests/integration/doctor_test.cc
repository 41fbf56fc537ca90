// pgtenant doctor: names every weakness of a deliberately weak database with SQL that fixes it, passes a
// hardened one (the demo's layout), and says which backend it cannot reach.
#include <catch2/catch.hpp>

#include <sstream>
#include <tuple>
#include <string>
#include <vector>

#include "tests/integration/harness/net.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/temp_dir.h"

namespace pgtenant::integration {
namespace {

constexpr char kInitechId[] = "3d1a7b2c-8e9f-4a0b-b1c2-d3e4f5a6b7c8";
constexpr char kGlobexId[] = "9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d";
constexpr char kPassword[] = "doctor-secret";

struct DoctorBackend {
  std::string name;
  std::string database;
  std::string user;
  int port = 0;  // 0: the shared server's
};

// backends shared (acme rls, globex schema org_globex) and dedicated (initech database). A non-empty
// `globex_role` is globex's server_role (password kPassword).
std::string DoctorYaml(const DoctorBackend& shared, const DoctorBackend& dedicated, const std::string& globex_role = "") {
  const int default_port = PostgresServer::Shared().port();
  std::ostringstream yaml;
  yaml << "backends:\n";
  for (const DoctorBackend* b : {&shared, &dedicated}) {
    yaml << "  " << b->name << ": { host: 127.0.0.1, port: " << (b->port ? b->port : default_port)
         << ", database: " << b->database << ", user: " << b->user << ", password: " << kPassword
         << ", connect_timeout: 2s }\n";
  }
  yaml << "tenants:\n"
       << "  acme: { id: " << kAcmeId << ", isolation: rls, backend: " << shared.name << " }\n"
       << "  globex: { id: " << kGlobexId << ", isolation: schema, schema: org_globex, backend: " << shared.name
       << (globex_role.empty() ? "" : ", server_role: { user: " + globex_role + ", password: " + kPassword + " }")
       << " }\n"
       << "  initech: { id: " << kInitechId << ", isolation: database, backend: " << dedicated.name << " }\n"
       << "users:\n"
       << "  alice: { password: \"" << ScramVerifier("alice") << "\", tenants: { acme: admin } }\n";
  return yaml.str();
}

CommandResult RunDoctor(const std::string& yaml) {
  TempDir dir("pgtenant_doctor_");
  const std::string path = dir.File("doctor.yaml");
  WriteFile(path, yaml);
  return RunCommand({PGTENANT_BINARY, "doctor", "--config", path}, {}, "", std::chrono::seconds(60));
}

bool Has(const std::string& output, const std::string& text) { return output.find(text) != std::string::npos; }

// Every "  fix: SQL" of the report with the database of the backend block it is in.
std::vector<std::pair<std::string, std::string>> Fixes(const std::string& output) {
  std::vector<std::pair<std::string, std::string>> fixes;
  std::istringstream in(output);
  std::string database;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("backend ", 0) == 0) {
      const size_t slash = line.find('/');
      const size_t end = line.find_first_of("; (", slash);
      database = line.substr(slash + 1, end == std::string::npos ? std::string::npos : end - slash - 1);
    } else if (line.rfind("  fix: ", 0) == 0) {
      fixes.emplace_back(database, line.substr(7));
    }
  }
  return fixes;
}

TEST_CASE("doctor names each weakness of a weak database with its fix, and the fixes make it pass", "[doctor]") {
  PostgresServer& server = PostgresServer::Shared();
  const std::string suffix = RandomHex(4);
  const std::string role = "weak_app_" + suffix;
  const std::string db = "weak_" + suffix;
  const std::string dedicated_role = "weak_ded_app_" + suffix;
  const std::string dedicated_db = "weak_ded_" + suffix;

  // Superuser-owned databases with PostgreSQL's defaults: CONNECT and TEMP for PUBLIC, set_config for all.
  server.Exec("CREATE ROLE " + role + " LOGIN BYPASSRLS PASSWORD '" + kPassword + "'");
  server.Exec("CREATE ROLE " + dedicated_role + " LOGIN PASSWORD '" + kPassword + "'");
  server.Exec("CREATE DATABASE " + db);
  server.Exec("CREATE DATABASE " + dedicated_db);
  server.Exec(
      // The tenant role owns a tenant table.
      "CREATE TABLE public.invoices (id int, org_id uuid);"
      "ALTER TABLE public.invoices OWNER TO " + role + ";"
      // A shared table with no RLS at all.
      "CREATE TABLE public.orders (id int, org_id uuid);"
      "GRANT SELECT, INSERT ON public.orders TO " + role + ";"
      // RLS on and forced, but a permissive policy that ignores the tenant.
      "CREATE TABLE public.notes (id int, org_id uuid);"
      "ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY; ALTER TABLE public.notes FORCE ROW LEVEL SECURITY;"
      "CREATE POLICY notes_all ON public.notes USING (true);"
      "GRANT SELECT ON public.notes TO " + role + ";"
      // A table without the tenant column is no RLS concern.
      "CREATE TABLE public.countries (code text);"
      "GRANT SELECT ON public.countries TO " + role + ";"
      "GRANT CREATE ON SCHEMA public TO PUBLIC;",
      db);

  const DoctorBackend shared{"shared", db, role};
  const DoctorBackend dedicated{"dedicated", dedicated_db, dedicated_role};
  const CommandResult run = RunDoctor(DoctorYaml(shared, dedicated));
  INFO(run.output);
  CHECK(run.exit_code == 1);

  CHECK(Has(run.output, "backend shared: " + role + "@127.0.0.1:"));
  CHECK(Has(run.output, "FAIL role-bypassrls: " + role + " has BYPASSRLS"));
  CHECK(Has(run.output, "  fix: ALTER ROLE " + role + " NOBYPASSRLS;"));
  CHECK(Has(run.output, "FAIL table-owner: " + role + " owns table public.invoices"));
  CHECK(Has(run.output, "  fix: ALTER TABLE public.invoices OWNER TO postgres;"));
  CHECK(Has(run.output, "FAIL rls-enabled: table public.orders has org_id but row level security is not enabled"));
  CHECK(Has(run.output, "  fix: ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY;"));
  CHECK(Has(run.output, "FAIL rls-forced: table public.orders"));
  CHECK(Has(run.output, "  fix: ALTER TABLE public.orders FORCE ROW LEVEL SECURITY;"));
  CHECK(Has(run.output, "FAIL rls-policy: table public.orders has no policy that applies to " + role));
  CHECK(Has(run.output,
            "  fix: CREATE POLICY orders_tenant_isolation ON public.orders USING (org_id = "
            "NULLIF(current_setting('app.current_organization_id', true), '')::uuid) WITH CHECK (org_id = "
            "NULLIF(current_setting('app.current_organization_id', true), '')::uuid);"));
  CHECK(Has(run.output, "FAIL rls-policy: table public.notes: policy notes_all applies to " + role));
  CHECK(Has(run.output, "  fix: CREATE POLICY notes_tenant_guard ON public.notes AS RESTRICTIVE USING"));
  CHECK_FALSE(Has(run.output, "countries"));
  CHECK(Has(run.output, "FAIL set-config: " + role + " may execute set_config()"));
  CHECK(Has(run.output, "  fix: REVOKE EXECUTE ON FUNCTION pg_catalog.set_config(text,text,boolean) FROM PUBLIC;"));
  CHECK(Has(run.output, "FAIL temp: " + role + " may create temporary tables in database " + db));
  CHECK(Has(run.output, "  fix: REVOKE TEMPORARY ON DATABASE " + db + " FROM PUBLIC;"));
  CHECK(Has(run.output, "FAIL create-schema: " + role + " may create objects in schema public"));
  CHECK(Has(run.output, "  fix: REVOKE CREATE ON SCHEMA public FROM PUBLIC;"));
  CHECK(Has(run.output, "FAIL schema-missing: schema org_globex of tenant globex does not exist"));
  CHECK(Has(run.output, "ok   role-superuser"));
  CHECK(Has(run.output, "ok   create-database"));
  // globex and acme log in as one role: the database cannot keep them apart.
  CHECK(Has(run.output, "FAIL schema-shared-role: schema tenant globex logs in as " + role + " like acme (rls)"));
  const std::string globex_role = db + "_globex";
  CHECK(Has(run.output, "  fix: CREATE ROLE " + globex_role + " LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; "
                        "GRANT CONNECT ON DATABASE " + db + " TO " + globex_role + "; GRANT USAGE ON SCHEMA org_globex TO " +
                        globex_role + ";"));
  CHECK(Has(run.output, "REVOKE ALL ON SCHEMA org_globex FROM " + role + ";  -- then set its password"));
  CHECK(Has(run.output, "tenants.globex.server_role: { user: " + globex_role + ", password: ... }"));

  CHECK(Has(run.output, "backend dedicated: " + dedicated_role + "@"));
  CHECK(Has(run.output, "FAIL db-public-connect: database " + dedicated_db));
  CHECK(Has(run.output, "  fix: REVOKE CONNECT ON DATABASE " + dedicated_db + " FROM PUBLIC; GRANT CONNECT ON DATABASE " +
                            dedicated_db + " TO " + dedicated_role + ";"));
  CHECK(Has(run.output, "doctor: 17 findings on 2 backends"));

  // Every fix is SQL a superuser can run as printed, and together (with globex's new role set as its
  // server_role) they leave nothing to report.
  for (const auto& [database, fix] : Fixes(run.output)) {
    INFO(database << ": " << fix);
    REQUIRE_NOTHROW(server.Exec(fix, database));
  }
  server.Exec("ALTER ROLE " + globex_role + " PASSWORD '" + kPassword + "'");
  const CommandResult fixed = RunDoctor(DoctorYaml(shared, dedicated, globex_role));
  INFO(fixed.output);
  CHECK(fixed.exit_code == 0);
  CHECK(Has(fixed.output, "doctor: 0 findings on 2 backends"));
}

TEST_CASE("doctor passes a hardened database laid out like the demo's", "[doctor]") {
  PostgresServer& server = PostgresServer::Shared();
  const std::string suffix = RandomHex(4);
  const std::string owner = "hard_owner_" + suffix, role = "hard_app_" + suffix, db = "hard_" + suffix;
  const std::string globex_role = "hard_globex_" + suffix;
  const std::string ded_owner = "hard_ded_owner_" + suffix, ded_role = "hard_ded_app_" + suffix,
                    ded_db = "hard_ded_" + suffix;

  server.Exec("CREATE ROLE " + owner + " NOLOGIN");
  server.Exec("CREATE ROLE " + role + " LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD '" +
              kPassword + "'");
  server.Exec("CREATE ROLE " + globex_role + " LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD '" +
              kPassword + "'");
  server.Exec("CREATE DATABASE " + db + " OWNER " + owner);
  server.Exec("REVOKE CONNECT, TEMPORARY ON DATABASE " + db + " FROM PUBLIC; GRANT CONNECT ON DATABASE " + db +
              " TO " + role + ", " + globex_role);
  server.Exec("REVOKE EXECUTE ON FUNCTION pg_catalog.set_config(text,text,boolean) FROM PUBLIC;"
              "SET ROLE " + owner + ";"
              "REVOKE CREATE ON SCHEMA public FROM PUBLIC;"
              "CREATE TABLE public.projects (id serial PRIMARY KEY, org_id uuid NOT NULL, name text NOT NULL);"
              "ALTER TABLE public.projects ENABLE ROW LEVEL SECURITY;"
              "ALTER TABLE public.projects FORCE ROW LEVEL SECURITY;"
              "CREATE POLICY projects_tenant_isolation ON public.projects"
              "  USING (org_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)"
              "  WITH CHECK (org_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);"
              "GRANT SELECT, INSERT, UPDATE, DELETE ON public.projects TO " + role + ";"
              "GRANT USAGE, SELECT ON SEQUENCE public.projects_id_seq TO " + role + ";"
              "CREATE SCHEMA org_globex AUTHORIZATION " + owner + ";"
              "CREATE TABLE org_globex.projects (id serial PRIMARY KEY, org_id uuid, name text);"
              "INSERT INTO org_globex.projects (name) SELECT 'globex-' || (i % 3) FROM generate_series(1, 300) i;"
              "GRANT USAGE ON SCHEMA org_globex TO " + globex_role + ";"
              "GRANT SELECT, INSERT, UPDATE, DELETE ON org_globex.projects TO " + globex_role + ";"
              "GRANT USAGE, SELECT ON SEQUENCE org_globex.projects_id_seq TO " + globex_role + ";"
              "RESET ROLE; ANALYZE org_globex.projects",
              db);

  server.Exec("CREATE ROLE " + ded_owner + " NOLOGIN");
  server.Exec("CREATE ROLE " + ded_role + " LOGIN PASSWORD '" + kPassword + "'");
  server.Exec("CREATE DATABASE " + ded_db + " OWNER " + ded_owner);
  server.Exec("REVOKE CONNECT, TEMPORARY ON DATABASE " + ded_db + " FROM PUBLIC; GRANT CONNECT ON DATABASE " +
              ded_db + " TO " + ded_role);
  server.Exec("REVOKE EXECUTE ON FUNCTION pg_catalog.set_config(text,text,boolean) FROM PUBLIC;"
              "SET ROLE " + ded_owner + ";"
              "REVOKE CREATE ON SCHEMA public FROM PUBLIC;"
              "CREATE TABLE public.projects (id serial PRIMARY KEY, org_id uuid, name text);"
              "GRANT SELECT, INSERT, UPDATE, DELETE ON public.projects TO " + ded_role + ";"
              "RESET ROLE",
              ded_db);

  const CommandResult run = RunDoctor(
      DoctorYaml(DoctorBackend{"app", db, role}, DoctorBackend{"initech_db", ded_db, ded_role}, globex_role));
  INFO(run.output);
  CHECK(run.exit_code == 0);
  CHECK_FALSE(Has(run.output, "FAIL"));
  for (const char* check : {"role-superuser", "role-bypassrls", "role-membership", "db-owner", "table-owner",
                            "rls-enabled", "rls-forced", "rls-policy", "set-config", "temp", "create-database",
                            "create-schema", "schema-missing", "schema-usage", "schema-shared-role", "schema-foreign",
                            "table-foreign", "stats-foreign", "role-foreign", "db-public-connect"}) {
    CHECK(Has(run.output, std::string("ok   ") + check + "\n"));
  }
  // globex's role is checked logged in as itself, after the backend's own.
  CHECK(Has(run.output, "backend app: " + role + "@"));
  CHECK(Has(run.output, "backend app: " + globex_role + "@"));
  CHECK_FALSE(Has(run.output, "note "));
  CHECK(Has(run.output, "doctor: 0 findings on 2 backends"));
}

TEST_CASE("doctor keeps per-tenant roles out of each other's schemas and reads doctor.tenant_column", "[doctor]") {
  PostgresServer& server = PostgresServer::Shared();
  const std::string suffix = RandomHex(4);
  const std::string db = "per_role_" + suffix;
  const std::string role_a = "per_a_" + suffix, role_b = "per_b_" + suffix, role_r = "per_r_" + suffix;
  for (const std::string& role : {role_a, role_b, role_r}) {
    server.Exec("CREATE ROLE " + role + " LOGIN PASSWORD '" + kPassword + "'");
  }
  server.Exec("CREATE DATABASE " + db);
  server.Exec("CREATE SCHEMA org_a; GRANT USAGE ON SCHEMA org_a TO " + role_a + ";"
              "CREATE SCHEMA org_b; GRANT USAGE ON SCHEMA org_b TO PUBLIC;"  // the mistake
              "CREATE TABLE public.items (id int, tenant_id uuid);"
              "CREATE TABLE public.legacy (id int, org_id uuid);"
              "GRANT SELECT ON public.items, public.legacy TO " + role_r,
              db);

  const int port = server.port();
  std::ostringstream yaml;
  yaml << "doctor: { tenant_column: tenant_id }\n"
       << "backends:\n";
  for (const auto& [name, role] : {std::pair{"a", role_a}, std::pair{"b", role_b}, std::pair{"r", role_r}}) {
    yaml << "  " << name << ": { host: 127.0.0.1, port: " << port << ", database: " << db << ", user: " << role
         << ", password: " << kPassword << " }\n";
  }
  yaml << "tenants:\n"
       << "  a: { id: " << kGlobexId << ", isolation: schema, schema: org_a, backend: a }\n"
       << "  b: { id: " << kInitechId << ", isolation: schema, schema: org_b, backend: b }\n"
       << "  acme: { id: " << kAcmeId << ", isolation: rls, backend: r }\n"
       << "users:\n"
       << "  alice: { password: \"" << ScramVerifier("alice") << "\", tenants: { acme: admin } }\n";
  const CommandResult run = RunDoctor(yaml.str());
  INFO(run.output);
  CHECK(run.exit_code == 1);
  CHECK(Has(run.output, "FAIL schema-foreign: " + role_a + " can use schema org_b of tenant b (backend b)"));
  CHECK(Has(run.output, "FAIL schema-foreign: " + role_r + " can use schema org_b of tenant b (backend b)"));
  CHECK(Has(run.output, "  fix: REVOKE USAGE ON SCHEMA org_b FROM PUBLIC;"));
  CHECK_FALSE(Has(run.output, "can use schema org_a"));
  CHECK(Has(run.output, "FAIL rls-enabled: table public.items has tenant_id"));
  CHECK_FALSE(Has(run.output, "public.legacy"));
  // One tenant per role: no role is shared.
  CHECK_FALSE(Has(run.output, "FAIL schema-shared-role"));
}

// Schema tenants a and b (each with a table of 300 analyzed rows) and rls tenant acme share database `db`.
// With `roles`, a and b log in as server roles of their own; without, all three log in as `backend_role`.
std::string SchemaTenantsYaml(const std::string& db, const std::string& backend_role, const std::string& role_a,
                              const std::string& role_b, bool roles) {
  std::ostringstream yaml;
  yaml << "backends:\n  app: { host: 127.0.0.1, port: " << PostgresServer::Shared().port() << ", database: " << db
       << ", user: " << backend_role << ", password: " << kPassword << " }\n"
       << "tenants:\n"
       << "  acme: { id: " << kAcmeId << ", isolation: rls, backend: app }\n";
  for (const auto& [name, id, role] : {std::tuple{"a", kGlobexId, role_a}, std::tuple{"b", kInitechId, role_b}}) {
    yaml << "  " << name << ": { id: " << id << ", isolation: schema, schema: org_" << name << ", backend: app";
    if (roles) yaml << ", server_role: { user: " << role << ", password: " << kPassword << " }";
    yaml << " }\n";
  }
  yaml << "users:\n  alice: { password: \"" << ScramVerifier("alice") << "\", tenants: { acme: admin } }\n";
  return yaml.str();
}

TEST_CASE("doctor passes schema tenants with roles of their own, and fails with the fixing SQL when they share one",
          "[doctor]") {
  PostgresServer& server = PostgresServer::Shared();
  const std::string suffix = RandomHex(4);
  const std::string db = "roles_" + suffix, owner = "roles_owner_" + suffix, backend_role = "roles_app_" + suffix;
  const std::string role_a = "roles_a_" + suffix, role_b = "roles_b_" + suffix;
  server.Exec("CREATE ROLE " + owner + " NOLOGIN");
  for (const std::string& role : {backend_role, role_a, role_b}) {
    server.Exec("CREATE ROLE " + role + " LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '" + kPassword + "'");
  }
  server.Exec("CREATE DATABASE " + db + " OWNER " + owner);
  server.Exec("REVOKE CONNECT, TEMPORARY ON DATABASE " + db + " FROM PUBLIC; GRANT CONNECT ON DATABASE " + db + " TO " +
              backend_role + ", " + role_a + ", " + role_b);
  std::string sql = "REVOKE EXECUTE ON FUNCTION pg_catalog.set_config(text,text,boolean) FROM PUBLIC; SET ROLE " +
                    owner + "; REVOKE CREATE ON SCHEMA public FROM PUBLIC;";
  for (const auto& [schema, role] : {std::pair{"org_a", role_a}, std::pair{"org_b", role_b}}) {
    sql += std::string("CREATE SCHEMA ") + schema + "; CREATE TABLE " + schema + ".secrets (v text);" + "INSERT INTO " +
           schema + ".secrets SELECT '" + schema + "-' || (i % 3) FROM generate_series(1, 300) i;" +
           "GRANT USAGE ON SCHEMA " + schema + " TO " + role + "; GRANT SELECT, INSERT, UPDATE, DELETE ON " + schema +
           ".secrets TO " + role + ";";
  }
  server.Exec(sql + "RESET ROLE; ANALYZE org_a.secrets; ANALYZE org_b.secrets", db);

  // Each schema tenant with a role of its own that reaches only its schema: nothing to report.
  const std::string per_role = SchemaTenantsYaml(db, backend_role, role_a, role_b, true);
  const CommandResult clean = RunDoctor(per_role);
  INFO(clean.output);
  CHECK(clean.exit_code == 0);
  CHECK(Has(clean.output, "backend app: " + role_a + "@"));
  CHECK(Has(clean.output, "backend app: " + role_b + "@"));
  CHECK(Has(clean.output, "ok   stats-foreign\n"));
  CHECK(Has(clean.output, "doctor: 0 findings on 1 backends"));

  // A copy where the two schema tenants (and acme) share the backend's role.
  const CommandResult shared = RunDoctor(SchemaTenantsYaml(db, backend_role, role_a, role_b, false));
  INFO(shared.output);
  CHECK(shared.exit_code == 1);
  for (const char* tenant : {"a", "b"}) {
    const std::string schema = std::string("org_") + tenant;
    const std::string new_role = db + "_" + tenant;
    // The others in config order.
    const std::string others = tenant == std::string("a") ? "acme (rls), b (schema)" : "a (schema), acme (rls)";
    CHECK(Has(shared.output, "FAIL schema-shared-role: schema tenant " + std::string(tenant) + " logs in as " +
                                 backend_role + " like " + others));
    CHECK(Has(shared.output, "  fix: CREATE ROLE " + new_role + " LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; "
                             "GRANT CONNECT ON DATABASE " + db + " TO " + new_role + "; GRANT USAGE ON SCHEMA " + schema +
                             " TO " + new_role + "; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " +
                             schema + " TO " + new_role));
    CHECK(Has(shared.output, "REVOKE ALL ON SCHEMA " + schema + " FROM " + backend_role + ";"));
    CHECK(Has(shared.output, "FAIL schema-usage: " + backend_role + " has no USAGE on schema " + schema));
  }

  // A role of its own that was also granted another tenant's table: latent without USAGE on the schema,
  // but pg_stats shows it the other tenant's values. And a role that can become another tenant's.
  server.Exec("GRANT SELECT ON org_b.secrets TO " + role_a + "; GRANT " + role_b + " TO " + role_a, db);
  const CommandResult leaky = RunDoctor(per_role);
  INFO(leaky.output);
  CHECK(leaky.exit_code == 1);
  CHECK(Has(leaky.output, "FAIL table-foreign: " + role_a + " holds privileges on org_b.secrets in schema org_b of tenant b"));
  CHECK(Has(leaky.output, "FAIL stats-foreign: " + role_a + " sees the statistics of org_b.secrets (tenant b) in pg_stats"));
  CHECK(Has(leaky.output, "  fix: REVOKE ALL ON ALL TABLES IN SCHEMA org_b FROM " + role_a + ";"));
  CHECK(Has(leaky.output, "FAIL role-foreign: " + role_a + " can SET ROLE to " + role_b));
  CHECK(Has(leaky.output, "  fix: REVOKE " + role_b + " FROM " + role_a + ";"));
  CHECK(Has(leaky.output, "FAIL schema-foreign: " + role_a + " can use schema org_b"));  // through role_b
  // role_b's own grants are not role_a's to lose: the fixes revoke only what reaches role_a.
  for (const auto& [database, fix] : Fixes(leaky.output)) {
    if (fix.find(role_b + " FROM " + role_a) == std::string::npos && fix.find("FROM " + role_a) == std::string::npos) continue;
    INFO(database << ": " << fix);
    REQUIRE_NOTHROW(server.Exec(fix, database));
  }
  const CommandResult fixed = RunDoctor(per_role);
  INFO(fixed.output);
  CHECK(fixed.exit_code == 0);
}

TEST_CASE("doctor reports a superuser login role and skips the checks it would pass anyway", "[doctor]") {
  PostgresServer& server = PostgresServer::Shared();
  const std::string suffix = RandomHex(4);
  const std::string role = "super_app_" + suffix, db = "super_" + suffix;
  server.Exec("CREATE ROLE " + role + " LOGIN SUPERUSER PASSWORD '" + kPassword + "'");
  server.Exec("CREATE DATABASE " + db);
  TestDatabase dedicated = server.CreateTestDatabase("doctor_ded");
  server.Exec("ALTER ROLE " + dedicated.role + " PASSWORD '" + kPassword + "'");

  const CommandResult run = RunDoctor(
      DoctorYaml(DoctorBackend{"app", db, role}, DoctorBackend{"initech_db", dedicated.database, dedicated.role}));
  INFO(run.output);
  CHECK(run.exit_code == 1);
  CHECK(Has(run.output, "FAIL role-superuser: " + role + " is a superuser"));
  CHECK(Has(run.output, "  fix: ALTER ROLE " + role + " NOSUPERUSER;"));
  CHECK(Has(run.output, "note role-superuser: the other checks were skipped"));
  // The harness's role owns its database: the dedicated backend shows that too.
  CHECK(Has(run.output, "FAIL db-owner: " + dedicated.role + " owns database " + dedicated.database));
}

TEST_CASE("doctor exits 2 and names a backend it cannot reach, and still checks the others", "[doctor]") {
  PostgresServer& server = PostgresServer::Shared();
  TestDatabase reachable = server.CreateTestDatabase("doctor_up");
  server.Exec("ALTER ROLE " + reachable.role + " PASSWORD '" + kPassword + "'");
  const int closed_port = FreePort();
  const std::string closed = "127.0.0.1:" + std::to_string(closed_port) + "/nowhere";

  const CommandResult run =
      RunDoctor(DoctorYaml(DoctorBackend{"app", reachable.database, reachable.role},
                           DoctorBackend{"initech_db", "nowhere", "nobody", closed_port}));
  INFO(run.output);
  CHECK(run.exit_code == 2);
  CHECK(Has(run.output, "backend initech_db: nobody@" + closed));
  CHECK(Has(run.output, "ERROR cannot connect as nobody to " + closed + ": "));
  CHECK(Has(run.output, "backend app: " + reachable.role));
  CHECK(Has(run.output, "ok   role-superuser"));

  // A wrong password is unreachable too, with PostgreSQL's reason.
  server.Exec("ALTER ROLE " + reachable.role + " PASSWORD 'changed'");
  const CommandResult denied =
      RunDoctor(DoctorYaml(DoctorBackend{"app", reachable.database, reachable.role},
                           DoctorBackend{"initech_db", "nowhere", "nobody", closed_port}));
  INFO(denied.output);
  CHECK(denied.exit_code == 2);
  CHECK(Has(denied.output, "password authentication failed"));
}

TEST_CASE("doctor exits 2 on a config it cannot load", "[doctor]") {
  const CommandResult run = RunDoctor("backends: {}\n");
  INFO(run.output);
  CHECK(run.exit_code == 2);
  CHECK(Has(run.output, "doctor.yaml:"));
}

}  // namespace
}  // namespace pgtenant::integration
