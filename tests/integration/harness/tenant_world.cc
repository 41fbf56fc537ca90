// TenantWorld: the demo's three isolation modes, made fresh for one test on the shared PostgreSQL.
#include "tests/integration/harness/tenant_world.h"

#include <algorithm>
#include <stdexcept>

namespace pgtenant::integration {
namespace {

// The policy every RLS table of the world carries (as in demo/app.sql): with no context (unset, or
// reset to '') it matches no row instead of failing on ''::uuid.
constexpr char kOrgCondition[] = "org_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid";

struct Row {
  const char* tenant;
  const char* name;
};

// public.projects in the shared database (RLS).
const std::vector<Row> kSharedRows = {
    {"acme", "acme: rocket skates"},      {"acme", "acme: giant magnet"},       {"acme", "acme: instant tunnel"},
    {"umbrella", "umbrella: t-virus"},    {"umbrella", "umbrella: hive"},       {"globex", "globex (shared): hammock"},
    {"globex", "globex (shared): drill"},
};
// org_globex.projects (schema tenant) and initech's database.
const std::vector<const char*> kGlobexRows = {"globex: doomsday device", "globex: hammock district",
                                              "globex: volcano lair"};
const std::vector<const char*> kInitechRows = {"initech: TPS report", "initech: Y2K remediation",
                                               "initech: stapler inventory"};

std::string Literal(const std::string& value) {
  std::string out = "'";
  for (const char c : value) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string Values(const std::vector<const char*>& names, const std::string& tenant) {
  std::string sql;
  for (const char* name : names) {
    if (!sql.empty()) sql += ", ";
    sql += "(" + Literal(TenantWorld::IdOf(tenant)) + ", " + Literal(name) + ")";
  }
  return sql;
}

}  // namespace

std::string TenantWorld::IdOf(const std::string& tenant) {
  if (tenant == "acme") return kAcmeId;
  if (tenant == "umbrella") return kTenantWorldUmbrellaId;
  if (tenant == "globex") return kTenantWorldGlobexId;
  if (tenant == "initech") return kTenantWorldInitechId;
  throw std::invalid_argument("no tenant " + tenant + " in a TenantWorld");
}

std::string TenantWorld::PasswordOf(const std::string& user) { return user + "-secret"; }

std::vector<std::string> TenantWorld::ProjectsOf(const std::string& tenant) {
  std::vector<std::string> names;
  if (tenant == "globex") {
    names.assign(kGlobexRows.begin(), kGlobexRows.end());
  } else if (tenant == "initech") {
    names.assign(kInitechRows.begin(), kInitechRows.end());
  } else {
    for (const Row& row : kSharedRows)
      if (row.tenant == tenant) names.emplace_back(row.name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

TenantWorld TenantWorld::Create() {
  PostgresServer& server = PostgresServer::Shared();
  TenantWorld world;
  const std::string unique = "tw_" + RandomHex(4);
  world.owner_role = unique + "_owner";
  world.shared.role = unique + "_app";
  world.shared.password = RandomHex(12);
  world.shared.database = unique + "_app";
  server.Exec("CREATE ROLE " + world.owner_role + " NOLOGIN; CREATE ROLE " + world.shared.role +
              " LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD " + Literal(world.shared.password));
  server.Exec("CREATE DATABASE " + world.shared.database + " OWNER " + world.owner_role);

  std::string shared_rows;
  for (const Row& row : kSharedRows) {
    if (!shared_rows.empty()) shared_rows += ", ";
    shared_rows += "(" + Literal(IdOf(row.tenant)) + ", " + Literal(row.name) + ")";
  }
  const std::string& owner = world.owner_role;
  const std::string& app = world.shared.role;
  // Created and filled by the superuser (who bypasses RLS), then handed to the owner role.
  server.Exec(
      "CREATE TABLE public.projects (id serial PRIMARY KEY, org_id uuid NOT NULL, name text NOT NULL);"
      "ALTER TABLE public.projects ENABLE ROW LEVEL SECURITY;"
      "ALTER TABLE public.projects FORCE ROW LEVEL SECURITY;"
      "CREATE POLICY tenant_isolation ON public.projects USING (" + std::string(kOrgCondition) +
          ") WITH CHECK (" + kOrgCondition + ");"
      "INSERT INTO public.projects (org_id, name) VALUES " + shared_rows + ";"
      "ALTER TABLE public.projects OWNER TO " + owner + ";"
      "CREATE SCHEMA org_globex AUTHORIZATION " + owner + ";"
      "CREATE TABLE org_globex.projects (id serial PRIMARY KEY, org_id uuid NOT NULL DEFAULT " +
          Literal(kTenantWorldGlobexId) + ", name text NOT NULL);"
      "INSERT INTO org_globex.projects (org_id, name) VALUES " + Values(kGlobexRows, "globex") + ";"
      "ALTER TABLE org_globex.projects OWNER TO " + owner + ";"
      "GRANT SELECT, INSERT, UPDATE, DELETE ON public.projects, org_globex.projects TO " + app + ";"
      "GRANT USAGE, SELECT ON SEQUENCE public.projects_id_seq, org_globex.projects_id_seq TO " + app + ";"
      "GRANT USAGE ON SCHEMA org_globex TO " + app + ";",
      world.shared.database);

  world.dedicated.role = unique + "_initech";
  world.dedicated.password = RandomHex(12);
  world.dedicated.database = unique + "_initech";
  server.CreateRoleAndDatabase(world.dedicated.role, world.dedicated.password, world.dedicated.database);
  server.Exec(
      "CREATE TABLE public.projects (id serial PRIMARY KEY, org_id uuid NOT NULL, name text NOT NULL);"
      "INSERT INTO public.projects (org_id, name) VALUES " + Values(kInitechRows, "initech") + ";"
      "ALTER TABLE public.projects OWNER TO " + world.dedicated.role + ";",
      world.dedicated.database);
  return world;
}

ProxyConfig TenantWorld::Config() const {
  ProxyConfig config;
  BackendConfig app;
  app.port = PostgresServer::Shared().port();
  app.database = shared.database;
  app.user = shared.role;
  app.password = shared.password;
  config.backends["app"] = app;
  BackendConfig initech = app;
  initech.database = dedicated.database;
  initech.user = dedicated.role;
  initech.password = dedicated.password;
  config.backends["initech_db"] = initech;

  config.tenants["acme"] = TenantSpec{IdOf("acme"), "rls", "app", ""};
  config.tenants["umbrella"] = TenantSpec{IdOf("umbrella"), "rls", "app", ""};
  config.tenants["globex"] = TenantSpec{IdOf("globex"), "schema", "app", "org_globex"};
  config.tenants["initech"] = TenantSpec{IdOf("initech"), "database", "initech_db", ""};

  const std::map<std::string, std::map<std::string, std::string>> memberships = {
      {"alice", {{"acme", "admin"}, {"globex", "member"}}},
      {"bob", {{"acme", "member"}}},
      {"gina", {{"globex", "member"}}},
      {"uma", {{"umbrella", "member"}}},
      {"carol", {{"initech", "admin"}}},
      {"vic", {{"acme", "viewer"}}},
  };
  for (const auto& [user, tenants] : memberships) {
    config.users[user] = PasswordOf(user);
    config.memberships[user] = tenants;
  }
  return config;
}

std::vector<std::vector<std::string>> TenantWorld::ExecShared(const std::string& sql) const {
  return PostgresServer::Shared().Exec(sql, shared.database);
}

std::vector<std::vector<std::string>> TenantWorld::ExecDedicated(const std::string& sql) const {
  return PostgresServer::Shared().Exec(sql, dedicated.database);
}

PgConn ConnectAs(const ProxyProcess& proxy, const std::string& login, const std::string& database,
                 const std::string& extra) {
  return ConnectProxy(proxy, login, TenantWorld::PasswordOf(login.substr(0, login.find('.'))), database, extra);
}

PgConn MustConnectAs(const ProxyProcess& proxy, const std::string& login, const std::string& database,
                     const std::string& extra) {
  return MustConnectProxy(proxy, login, TenantWorld::PasswordOf(login.substr(0, login.find('.'))), database, extra);
}

}  // namespace pgtenant::integration
