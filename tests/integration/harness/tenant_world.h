// TenantWorld: the demo's three isolation modes, made fresh for one test on the shared PostgreSQL.
//
// One shared database (backend `app`) holds:
//   - public.projects, owned by a NOLOGIN owner role, with ENABLE + FORCE ROW LEVEL SECURITY and the
//     policy USING/WITH CHECK (org_id = NULLIF(current_setting('app.current_organization_id', true),
//     '')::uuid). Rows: acme 3, umbrella 2, globex 2 (globex's rows in the shared table).
//   - schema org_globex with its own projects table (3 rows, org_id = globex), owned by the owner role.
// pgtenant logs in to it as a LOGIN role that is no superuser, cannot bypass RLS and owns nothing.
// A dedicated database (backend `initech_db`) belongs to initech: its projects table has 3 rows. Its
// login role owns that database (so a test may create tables there, e.g. pgbench -i).
//
// Tenants: acme (rls), umbrella (rls), globex (schema org_globex) on `app`; initech (database) on
// `initech_db`. Users (password: "<name>-secret"):
//   alice  acme admin, globex member   (two tenants: she must name one)
//   bob    acme member                 (one tenant: found without naming it)
//   gina   globex member
//   uma    umbrella member
//   carol  initech admin
//   vic    acme viewer
// Role and database names are unique per TenantWorld, so tests never see each other's data.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {

// Tenant ids of a TenantWorld (acme's is kAcmeId; globex and initech are the demo's).
inline constexpr char kTenantWorldUmbrellaId[] = "5e0c2b8a-1f3d-4c6e-9a7b-2d4f6e8a0c1b";
inline constexpr char kTenantWorldGlobexId[] = "9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d";
inline constexpr char kTenantWorldInitechId[] = "3d1a7b2c-8e9f-4a0b-b1c2-d3e4f5a6b7c8";

struct TenantWorld {
  std::string owner_role;       // NOLOGIN; owns the shared database's tables and schema
  TestDatabase shared;          // role: pgtenant's login role on the shared database
  TestDatabase dedicated;       // initech's database; its role owns it

  // Creates the roles, databases, tables and rows described above. REQUIRES: main test thread.
  static TenantWorld Create();

  // The id of tenant `name` ("acme", "umbrella", "globex", "initech").
  static std::string IdOf(const std::string& tenant);
  // The password of a TenantWorld user: "<name>-secret".
  static std::string PasswordOf(const std::string& user);
  // The names of the rows tenant `name` sees in `projects` at creation, sorted.
  static std::vector<std::string> ProjectsOf(const std::string& tenant);

  // A session-mode config with the tenants and users above and the proxy's default identification
  // ([username_suffix, startup_option, database_name, single_tenant]) and default policy.
  ProxyConfig Config() const;

  // SQL as the superuser in the shared (or dedicated) database: see PostgresServer::Exec.
  std::vector<std::vector<std::string>> ExecShared(const std::string& sql) const;
  std::vector<std::vector<std::string>> ExecDedicated(const std::string& sql) const;
};

// A client of `proxy` logged in as `login` ("bob.acme": user bob naming tenant acme, or just "bob") with
// that user's TenantWorld password; `extra` as for ConnectProxy. ConnectAs may fail (check PQstatus);
// MustConnectAs throws with the proxy log when it does.
PgConn ConnectAs(const ProxyProcess& proxy, const std::string& login, const std::string& database = "app",
                 const std::string& extra = "");
PgConn MustConnectAs(const ProxyProcess& proxy, const std::string& login, const std::string& database = "app",
                     const std::string& extra = "");

}  // namespace pgtenant::integration
