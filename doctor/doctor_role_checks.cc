// BackendChecker, third part: a role of its own per schema tenant. Two tenants that log in as one role are
// one tenant to the database (each reads the other's schema, and its column statistics in pg_stats), so
// isolation would rest on the parser alone. Here R must serve at most one schema tenant and nothing else,
// hold no privilege on another schema tenant's tables, see none of their statistics, and be unable to
// become (SET ROLE) the role of another tenant of its database.
#include <algorithm>
#include <set>

#include "doctor/doctor_checks.h"

namespace pgtenant::doctor {

namespace {

constexpr size_t kMaxIdentifierBytes = 63;

// Grantees (PUBLIC or a role R inherits from) of any privilege on a table, or a column of one, in the
// schema named $1.
constexpr char kForeignTableGrantees[] =
    "SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END "
    "FROM (SELECT (aclexplode(c.relacl)).* FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "      WHERE n.nspname = $1 AND c.relacl IS NOT NULL "
    "      UNION ALL SELECT (aclexplode(t.attacl)).* FROM pg_attribute t JOIN pg_class c ON c.oid = t.attrelid "
    "      JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND t.attacl IS NOT NULL) a "
    "WHERE a.grantee = 0 OR pg_has_role(current_user, a.grantee, 'USAGE') ORDER BY 1";

}  // namespace

bool BackendChecker::OnThisDatabase(const config::TenantConfig& tenant) const {
  const config::BackendConfig* backend = config_.FindBackend(tenant.backend);
  return backend != nullptr && config::SameDatabase(*backend, backend_);
}

std::vector<const config::TenantConfig*> BackendChecker::TenantsSharingRole() const {
  std::vector<const config::TenantConfig*> sharing;
  for (const auto& [name, tenant] : config_.tenants) {
    if (OnThisDatabase(tenant) && config_.ServerUserOf(tenant) == backend_.user) sharing.push_back(&tenant);
  }
  return sharing;
}

std::vector<const config::TenantConfig*> BackendChecker::ForeignSchemaTenants() const {
  std::vector<const config::TenantConfig*> foreign;
  for (const auto& [name, tenant] : config_.tenants) {
    if (tenant.isolation == config::IsolationMode::kSchema && OnThisDatabase(tenant) &&
        config_.ServerUserOf(tenant) != backend_.user) {
      foreign.push_back(&tenant);
    }
  }
  return foreign;
}

std::set<std::string> BackendChecker::OtherLoginRoles() const {
  std::set<std::string> others;
  for (const auto& [name, tenant] : config_.tenants) {
    if (OnThisDatabase(tenant) && config_.ServerUserOf(tenant) != backend_.user) others.insert(config_.ServerUserOf(tenant));
  }
  for (const auto& [name, backend] : config_.backends) {
    if (config::SameDatabase(backend, backend_) && backend.user != backend_.user) others.insert(backend.user);
  }
  return others;
}

bool BackendChecker::DropOtherLoginRoles(std::vector<std::string>& grantees) {
  for (const std::string& role : OtherLoginRoles()) {
    std::string quoted;
    if (!QuoteIdent(role, quoted)) return false;
    grantees.erase(std::remove(grantees.begin(), grantees.end(), quoted), grantees.end());
  }
  return true;
}

// For each schema tenant of this login that shares R: a role of its own, its schema taken from R.
void BackendChecker::CheckSharedRole() {
  if (!HasTenant(config::IsolationMode::kSchema)) return;
  Begin("schema-shared-role");
  const std::vector<const config::TenantConfig*> sharing = TenantsSharingRole();
  if (sharing.size() < 2) return;
  for (const config::TenantConfig* tenant : tenants_) {
    if (tenant->isolation != config::IsolationMode::kSchema) continue;
    std::vector<std::string> others;
    for (const config::TenantConfig* other : sharing) {
      if (other != tenant) others.push_back(other->name + " (" + std::string(config::ToString(other->isolation)) + ")");
    }
    // The suggested role is named after the database and the tenant: roles are per cluster.
    std::string database_name = backend_.database;
    std::string suggested = (database_name + "_" + tenant->name).substr(0, kMaxIdentifierBytes);
    std::string role;
    std::string schema;
    if (!QuoteIdent(suggested, role) || !QuoteIdent(tenant->schema, schema)) return;
    Fail("schema-shared-role",
         "schema tenant " + tenant->name + " logs in as " + role_ + " like " + Join(others, ", ") +
             ": the database sees one role, which reaches schema " + schema +
             " and its column statistics (pg_stats) from every one of them",
         "CREATE ROLE " + role + " LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; GRANT CONNECT ON DATABASE " +
             database_ + " TO " + role + "; GRANT USAGE ON SCHEMA " + schema + " TO " + role +
             "; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + schema + " TO " + role +
             "; GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA " + schema + " TO " + role +
             "; REVOKE ALL ON ALL TABLES IN SCHEMA " + schema + " FROM " + role_ +
             "; REVOKE ALL ON ALL SEQUENCES IN SCHEMA " + schema + " FROM " + role_ + "; REVOKE ALL ON SCHEMA " +
             schema + " FROM " + role_ + ";  -- then set its password (psql: \\password " + role +
             ") and tenants." + tenant->name + ".server_role: { user: " + suggested + ", password: ... }");
  }
}

// Without USAGE on the schema a table privilege is latent for queries, but not for pg_stats: the view
// shows the column statistics (most common values, histograms) of every column R may SELECT.
void BackendChecker::CheckForeignTables() {
  const std::vector<const config::TenantConfig*> foreign = ForeignSchemaTenants();
  if (foreign.empty()) return;
  Begin("table-foreign");
  Begin("stats-foreign");
  for (const config::TenantConfig* tenant : foreign) {
    std::string schema;
    DoctorRows tables;
    DoctorRows stats;
    DoctorRows grantee_rows;
    if (!QuoteIdent(tenant->schema, schema) ||
        !Query("SELECT string_agg(quote_ident(n.nspname) || '.' || quote_ident(c.relname), ', ' ORDER BY c.relname) "
               "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
               "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND "
               "(has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') "
               "OR has_any_column_privilege(c.oid, 'SELECT, INSERT, UPDATE, REFERENCES'))",
               {tenant->schema}, tables) ||
        !Query("SELECT string_agg(DISTINCT quote_ident(schemaname) || '.' || quote_ident(tablename), ', ') FROM "
               "(SELECT schemaname, tablename FROM pg_stats WHERE schemaname = $1 "
               " UNION ALL SELECT schemaname, tablename FROM pg_stats_ext WHERE schemaname = $1 "
               " UNION ALL SELECT schemaname, tablename FROM pg_stats_ext_exprs WHERE schemaname = $1) s",
               {tenant->schema}, stats)) {
      return;
    }
    const std::string& table_list = tables.at(0).at(0);
    const std::string& stats_list = stats.at(0).at(0);
    if (table_list.empty() && stats_list.empty()) continue;
    if (!Query(kForeignTableGrantees, {tenant->schema}, grantee_rows)) return;
    std::vector<std::string> grantees;
    for (const auto& row : grantee_rows) grantees.push_back(row.at(0));
    if (!DropOtherLoginRoles(grantees)) return;
    const std::string fix = RevokeFix("ALL", "ALL TABLES IN SCHEMA " + schema, grantees);
    if (!table_list.empty()) {
      Fail("table-foreign",
           role_ + " holds privileges on " + table_list + " in schema " + schema + " of tenant " + tenant->name +
               ": through pg_stats it reads their column statistics even without USAGE on the schema",
           fix);
    }
    if (!stats_list.empty()) {
      Fail("stats-foreign",
           role_ + " sees the statistics of " + stats_list + " (tenant " + tenant->name +
               ") in pg_stats: their most common values and histograms are that tenant's data",
           fix);
    }
  }
}

// SET ROLE to a role R is a member of needs no password: another tenant's role must not be one of them.
void BackendChecker::CheckForeignRoles() {
  const std::set<std::string> others = OtherLoginRoles();
  if (others.empty()) return;
  Begin("role-foreign");
  for (const std::string& other : others) {
    DoctorRows reachable;
    DoctorRows through;
    if (!Query("SELECT quote_ident(rolname) FROM pg_roles WHERE rolname = $1 AND pg_has_role(current_user, oid, 'MEMBER')",
               {other}, reachable)) {
      return;
    }
    if (reachable.empty()) continue;
    // The roles granted to R directly through which it reaches the other role: revoking them cuts the path.
    if (!Query("SELECT quote_ident(a.rolname) FROM pg_auth_members m JOIN pg_roles a ON a.oid = m.roleid "
               "JOIN pg_roles me ON me.oid = m.member JOIN pg_roles o ON o.rolname = $1 "
               "WHERE me.rolname = current_user AND pg_has_role(a.oid, o.oid, 'MEMBER') ORDER BY 1",
               {other}, through)) {
      return;
    }
    std::string fix;
    for (const auto& row : through) fix += (fix.empty() ? "" : " ") + std::string("REVOKE ") + row.at(0) + " FROM " + role_ + ";";
    Fail("role-foreign",
         role_ + " can SET ROLE to " + reachable[0][0] + ", the role another tenant of this database logs in as",
         fix.empty() ? "-- " + role_ + " is a member of " + reachable[0][0] + " through a role it cannot see" : fix);
  }
}

}  // namespace pgtenant::doctor
