// BackendChecker, first half: the login role's attributes and memberships, what it owns, and the
// privileges (set_config, TEMP, CREATE) that let SQL no parser sees change context or leave state.
#include "doctor/doctor_checks.h"

#include <cctype>
#include <map>

namespace pgtenant::doctor {

namespace {

constexpr char kCurrentRoleOid[] = "(SELECT oid FROM pg_roles WHERE rolname = current_user)";

constexpr char kSetConfigAcl[] =
    "SELECT COALESCE(proacl, acldefault('f', proowner)) FROM pg_proc "
    "WHERE oid = 'pg_catalog.set_config(text,text,boolean)'::regprocedure";
constexpr char kSetConfig[] = "FUNCTION pg_catalog.set_config(text,text,boolean)";

}  // namespace

std::string Join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

BackendChecker::BackendChecker(const config::Config& config, const config::BackendConfig& backend,
                               const std::vector<const config::TenantConfig*>& tenants, DoctorConnection& connection,
                               BackendReport& report)
    : config_(config), backend_(backend), tenants_(tenants), connection_(connection), report_(report) {}

void BackendChecker::Run() {
  if (!LoadRole()) return;
  CheckRoleAttributes();
  if (superuser_) {
    Note("role-superuser",
         "the other checks were skipped: a superuser passes every privilege check; fix this and run doctor again");
    return;
  }
  const std::vector<void (BackendChecker::*)()> checks = {
      &BackendChecker::CheckRoleMembership, &BackendChecker::CheckOwnership,     &BackendChecker::CheckTableOwnership,
      &BackendChecker::CheckRlsTables,      &BackendChecker::CheckPrivileges,    &BackendChecker::CheckSchemaCreate,
      &BackendChecker::CheckTenantSchemas,  &BackendChecker::CheckSharedRole,    &BackendChecker::CheckForeignSchemas,
      &BackendChecker::CheckForeignTables,  &BackendChecker::CheckForeignRoles,  &BackendChecker::CheckDedicatedDatabase,
  };
  for (auto check : checks) {
    if (failed_) return;
    (this->*check)();
  }
}

bool BackendChecker::Query(const std::string& sql, const std::vector<std::string>& params, DoctorRows& rows) {
  if (failed_) return false;
  Result<DoctorRows> result = connection_.Query(sql, params);
  if (!result.ok()) {
    failed_ = true;
    report_.error = "a check could not run: " + result.status().message();
    return false;
  }
  rows = std::move(*result);
  return true;
}

bool BackendChecker::QuoteIdent(const std::string& name, std::string& quoted) {
  DoctorRows rows;
  if (!Query("SELECT quote_ident($1)", {name}, rows)) return false;
  quoted = rows.at(0).at(0);
  return true;
}

bool BackendChecker::Grantees(const std::string& acl_select, const std::string& privilege,
                              const std::string& object_param, std::vector<std::string>& grantees) {
  std::vector<std::string> params = {privilege};
  if (!object_param.empty()) params.push_back(object_param);
  DoctorRows rows;
  if (!Query("SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END "
             "FROM (SELECT (aclexplode(acl)).* FROM (" +
                 acl_select +
                 ") s(acl)) a "
                 "WHERE a.privilege_type = $1 AND (a.grantee = 0 OR pg_has_role(current_user, a.grantee, 'USAGE')) "
                 "ORDER BY 1",
             params, rows)) {
    return false;
  }
  grantees.clear();
  for (const auto& row : rows) grantees.push_back(row.at(0));
  return true;
}

std::string BackendChecker::RevokeFix(const std::string& privilege, const std::string& object,
                                      const std::vector<std::string>& grantees) const {
  if (grantees.empty()) return "-- no grant to revoke was found; check what " + role_ + " is a member of";
  std::string fix;
  for (const std::string& grantee : grantees) {
    if (!fix.empty()) fix += ' ';
    fix += "REVOKE " + privilege + " ON " + object + " FROM " + grantee + ";";
  }
  return fix;
}

std::string BackendChecker::ChangeOwnerFix(const std::string& kind, const std::string& name) const {
  // The database's owner is a sensible new owner when it is not R itself (the demo's app_owner).
  if (!owns_database_) return "ALTER " + kind + " " + name + " OWNER TO " + database_owner_ + ";";
  return "ALTER " + kind + " " + name + " OWNER TO owner_role;  -- owner_role: a NOLOGIN role other than " + role_;
}

void BackendChecker::Begin(const std::string& check) { report_.checks.push_back(check); }

void BackendChecker::Fail(const std::string& check, std::string what, std::string fix) {
  report_.findings.push_back(DoctorFinding{check, std::move(what), std::move(fix)});
}

void BackendChecker::Note(const std::string& check, std::string text) {
  report_.notes.push_back(DoctorNote{check, std::move(text)});
}

bool BackendChecker::HasTenant(config::IsolationMode mode) const {
  for (const config::TenantConfig* tenant : tenants_) {
    if (tenant->isolation == mode) return true;
  }
  return false;
}

bool BackendChecker::LoadRole() {
  DoctorRows rows;
  if (!Query("SELECT quote_ident(r.rolname), r.rolsuper, r.rolbypassrls, r.rolcreaterole, quote_ident(d.datname), "
             "quote_ident(pg_get_userbyid(d.datdba)), pg_has_role(r.oid, d.datdba, 'MEMBER'), r.oid = 10 "
             "FROM pg_roles r, pg_database d WHERE r.rolname = current_user AND d.datname = current_database()",
             {}, rows)) {
    return false;
  }
  if (rows.size() != 1) {
    failed_ = true;
    report_.error = "a check could not run: the login role or the database is missing from the catalogs";
    return false;
  }
  const auto& row = rows[0];
  role_ = row[0];
  superuser_ = row[1] == "t";
  bypassrls_ = row[2] == "t";
  createrole_ = row[3] == "t";
  database_ = row[4];
  database_owner_ = row[5];
  owns_database_ = row[6] == "t";
  bootstrap_superuser_ = row[7] == "t";
  return true;
}

void BackendChecker::CheckRoleAttributes() {
  Begin("role-superuser");
  if (superuser_) {
    // The bootstrap superuser (oid 10, from initdb) cannot be demoted: pgtenant needs a role of its own.
    Fail("role-superuser", role_ + " is a superuser: it bypasses row level security and every privilege check",
         bootstrap_superuser_ ? "CREATE ROLE pgtenant_app LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '...';  -- then "
                                "grant it what the tenants need and set backends." + backend_.name + ".user to it"
                              : "ALTER ROLE " + role_ + " NOSUPERUSER;");
    return;
  }
  Begin("role-bypassrls");
  if (bypassrls_) {
    Fail("role-bypassrls", role_ + " has BYPASSRLS: no row level security policy applies to it",
         "ALTER ROLE " + role_ + " NOBYPASSRLS;");
  }
  Begin("role-createrole");
  if (createrole_) {
    Fail("role-createrole", role_ + " has CREATEROLE: it can grant itself the roles that own tenant tables",
         "ALTER ROLE " + role_ + " NOCREATEROLE;");
  }
}

// Role attributes are not inherited, but a member can SET ROLE to the role that has them.
void BackendChecker::CheckRoleMembership() {
  Begin("role-membership");
  DoctorRows rows;
  if (!Query(std::string("SELECT quote_ident(a.rolname), "
                         "string_agg(DISTINCT quote_ident(d.rolname), ', ' ORDER BY quote_ident(d.rolname)) "
                         "FROM pg_auth_members m JOIN pg_roles a ON a.oid = m.roleid "
                         "JOIN pg_roles d ON pg_has_role(a.oid, d.oid, 'MEMBER') "
                         "WHERE m.member = ") +
                 kCurrentRoleOid +
                 " AND (d.rolsuper OR d.rolbypassrls OR d.rolcreaterole OR d.rolname IN "
                 "('pg_execute_server_program', 'pg_read_server_files', 'pg_write_server_files')) "
                 "GROUP BY a.rolname ORDER BY 1",
             {}, rows)) {
    return;
  }
  for (const auto& row : rows) {
    Fail("role-membership",
         role_ + " is a member of " + row[0] + ", through which it can act as " + row[1] +
             " (superuser, BYPASSRLS, CREATEROLE or server file and program access)",
         "REVOKE " + row[0] + " FROM " + role_ + ";");
  }
}

void BackendChecker::CheckOwnership() {
  Begin("db-owner");
  if (owns_database_) {
    Fail("db-owner",
         role_ + " owns database " + database_ + (database_owner_ == role_ ? "" : " (as a member of " + database_owner_ + ")") +
             ": it can grant itself CREATE and TEMP and set defaults with ALTER DATABASE",
         database_owner_ == role_ ? ChangeOwnerFix("DATABASE", database_)
                                  : "REVOKE " + database_owner_ + " FROM " + role_ + ";");
  }
  Begin("schema-owner");
  DoctorRows rows;
  // pg_database_owner (owner of public since PostgreSQL 15) stands for the database's owner: db-owner.
  if (!Query(std::string("SELECT quote_ident(n.nspname), quote_ident(pg_get_userbyid(n.nspowner)), n.nspowner = ") +
                 kCurrentRoleOid + " FROM pg_namespace n WHERE " + kDoctorUserSchema +
                 " AND pg_get_userbyid(n.nspowner) <> 'pg_database_owner'"
                 " AND pg_has_role(current_user, n.nspowner, 'MEMBER') ORDER BY 1",
             {}, rows)) {
    return;
  }
  for (const auto& row : rows) {
    const bool own = row[2] == "t";
    Fail("schema-owner",
         role_ + " owns schema " + row[0] + (own ? "" : " (as a member of " + row[1] + ")") +
             ": it can create objects there and drop any object in it",
         own ? ChangeOwnerFix("SCHEMA", row[0]) : "REVOKE " + row[1] + " FROM " + role_ + ";");
  }
}

// An owner is exempt from its table's policies unless FORCE ROW LEVEL SECURITY, and may turn them off.
void BackendChecker::CheckTableOwnership() {
  Begin("table-owner");
  std::string tenant_schemas = "{";
  for (const auto& [name, tenant] : config_.tenants) {
    if (tenant.backend != backend_.name || tenant.schema.empty()) continue;
    if (tenant_schemas.size() > 1) tenant_schemas += ',';
    tenant_schemas += tenant.schema;  // a plain identifier (config.h): safe in an array literal
  }
  tenant_schemas += '}';
  DoctorRows rows;
  if (!Query(std::string("SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), "
                         "quote_ident(pg_get_userbyid(c.relowner)), c.relowner = ") +
                 kCurrentRoleOid +
                 ", CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' "
                 "WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END "
                 "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                 "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND " +
                 kDoctorUserSchema +
                 " AND (has_schema_privilege(n.oid, 'USAGE') OR n.nspname = ANY($1::text[]))"
                 " AND pg_has_role(current_user, c.relowner, 'MEMBER') ORDER BY 1",
             {tenant_schemas}, rows)) {
    return;
  }
  std::map<std::string, std::vector<std::string>> through_roles;  // owner role R belongs to -> relations
  for (const auto& row : rows) {
    if (row[2] == "t") {
      std::string kind = row[3];
      for (char& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      Fail("table-owner",
           role_ + " owns " + kind + " " + row[0] +
               ": an owner bypasses row level security unless it is forced, and may alter or drop it",
           ChangeOwnerFix(row[3], row[0]));
    } else {
      through_roles[row[1]].push_back(row[0]);
    }
  }
  for (const auto& [owner, relations] : through_roles) {
    Fail("table-owner",
         role_ + " is a member of " + owner + ", which owns " + Join(relations, ", ") +
             ": through it, row level security can be bypassed unless forced, and the tables altered or dropped",
         "REVOKE " + owner + " FROM " + role_ + ";");
  }
}

void BackendChecker::CheckPrivileges() {
  DoctorRows rows;
  if (!Query("SELECT has_function_privilege('pg_catalog.set_config(text,text,boolean)', 'EXECUTE'), "
             "has_database_privilege(current_database(), 'TEMP'), "
             "has_database_privilege(current_database(), 'CREATE')",
             {}, rows)) {
    return;
  }
  const bool set_config = rows.at(0).at(0) == "t";
  const bool temp = rows[0][1] == "t";
  const bool create = rows[0][2] == "t";
  std::vector<std::string> grantees;

  Begin("set-config");
  if (set_config && Grantees(kSetConfigAcl, "EXECUTE", "", grantees)) {
    Fail("set-config",
         role_ + " may execute set_config(), which changes " + config_.tenant_setting +
             " from inside SQL the parser cannot see (function bodies, dynamic SQL)",
         RevokeFix("EXECUTE", kSetConfig, grantees));
  }
  Begin("temp");
  if (temp && Grantees(kDoctorDatabaseAcl, "TEMPORARY", "", grantees)) {
    Fail("temp",
         role_ + " may create temporary tables in database " + database_ +
             ": they outlive a transaction and can shadow tenant tables through pg_temp in the search path",
         RevokeFix("TEMPORARY", "DATABASE " + database_, grantees));
  }
  Begin("create-database");
  if (create && Grantees(kDoctorDatabaseAcl, "CREATE", "", grantees)) {
    Fail("create-database", role_ + " may create schemas in database " + database_,
         RevokeFix("CREATE", "DATABASE " + database_, grantees));
  }
}

void BackendChecker::CheckSchemaCreate() {
  Begin("create-schema");
  DoctorRows rows;
  if (!Query(std::string("SELECT n.oid, quote_ident(n.nspname) FROM pg_namespace n WHERE ") + kDoctorUserSchema +
                 " AND has_schema_privilege(n.oid, 'CREATE') ORDER BY 2",
             {}, rows)) {
    return;
  }
  for (const auto& row : rows) {
    std::vector<std::string> grantees;
    if (!Grantees(kDoctorSchemaAcl, "CREATE", row[0], grantees)) return;
    Fail("create-schema",
         role_ + " may create objects in schema " + row[1] +
             ": functions and tables there run or shadow names for other sessions",
         RevokeFix("CREATE", "SCHEMA " + row[1], grantees));
  }
}

}  // namespace pgtenant::doctor
