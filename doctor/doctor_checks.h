// BackendChecker: the checks of `pgtenant doctor` (their list: doctor/doctor.h) for one backend.
//
// Every query runs as the backend's own role R over a DoctorConnection and only reads catalogs and
// privilege functions any role may call, so the doctor needs no superuser. Names in findings and fixes
// are quoted by the server (quote_ident), so the fixes can be pasted into psql as they are.
// Split over doctor_checks.cc (role, ownership and privilege checks), doctor_tenant_checks.cc (RLS,
// schema and dedicated-database checks) and doctor_role_checks.cc (a role of its own per schema tenant). Single use: construct, call Run once.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "doctor/doctor.h"
#include "doctor/doctor_connection.h"

namespace pgtenant::doctor {

// SQL pieces shared by both halves of the checker.
// Schemas of the system and of temporary objects are not the application's (alias n = pg_namespace).
inline constexpr char kDoctorUserSchema[] =
    "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'";
// ACLs with PostgreSQL's defaults spelled out, for BackendChecker::Grantees.
inline constexpr char kDoctorDatabaseAcl[] =
    "SELECT COALESCE(datacl, acldefault('d', datdba)) FROM pg_database WHERE datname = current_database()";
inline constexpr char kDoctorSchemaAcl[] =
    "SELECT COALESCE(nspacl, acldefault('n', nspowner)) FROM pg_namespace WHERE oid = $2::oid";

// `items` with `separator` between them (findings and fixes list names this way).
std::string Join(const std::vector<std::string>& items, const std::string& separator);

class BackendChecker {
 public:
  // `backend`: an entry of `config`, or a copy of one with a schema tenant's server_role as its user and
  // password; `tenants`: the tenants whose server connections log in as that user (the checker's R).
  // REQUIRES: every argument outlives the checker.
  BackendChecker(const config::Config& config, const config::BackendConfig& backend,
                 const std::vector<const config::TenantConfig*>& tenants, DoctorConnection& connection,
                 BackendReport& report);
  BackendChecker(const BackendChecker&) = delete;
  BackendChecker& operator=(const BackendChecker&) = delete;

  // Runs every check that applies. A query that fails ends the run with report.error set.
  void Run();

 private:
  // doctor_checks.cc
  bool LoadRole();
  void CheckRoleAttributes();
  void CheckRoleMembership();
  void CheckOwnership();
  void CheckTableOwnership();
  void CheckPrivileges();
  void CheckSchemaCreate();

  // doctor_tenant_checks.cc
  void CheckRlsTables();
  void CheckTablePolicies(const std::vector<std::string>& table);
  void CheckTenantSchemas();
  void CheckForeignSchemas();
  void CheckDedicatedDatabase();

  // doctor_role_checks.cc: one role per schema tenant, kept to its schema.
  void CheckSharedRole();
  void CheckForeignTables();
  void CheckForeignRoles();
  // Schema tenants on this login's database (same first host and database) that log in as another role.
  std::vector<const config::TenantConfig*> ForeignSchemaTenants() const;
  // Tenants on this login's database that log in as R, this login's tenants included.
  std::vector<const config::TenantConfig*> TenantsSharingRole() const;
  bool OnThisDatabase(const config::TenantConfig& tenant) const;
  // The roles other logins to this database use (other tenants' server_roles, other backends' users).
  std::set<std::string> OtherLoginRoles() const;
  // Removes (quoted) other login roles from `grantees`: a grant that reaches R through another tenant's
  // role is that role's own, and revoking R's membership (role-foreign) is the fix, not revoking its grant.
  bool DropOtherLoginRoles(std::vector<std::string>& grantees);

  // Runs `sql`; on error records it in report_.error and returns false.
  bool Query(const std::string& sql, const std::vector<std::string>& params, DoctorRows& rows);
  // The grantees ("PUBLIC" or a quoted role) through which R holds `privilege` (as aclexplode spells
  // it: CONNECT, TEMPORARY, CREATE, USAGE, EXECUTE) on the object whose ACL `acl_select` returns
  // (a query for one column, with its parameter, if any, as $2 = `object_param`).
  bool Grantees(const std::string& acl_select, const std::string& privilege, const std::string& object_param,
                std::vector<std::string>& grantees);
  // "REVOKE <privilege> ON <object> FROM <g>;" for each grantee.
  std::string RevokeFix(const std::string& privilege, const std::string& object,
                        const std::vector<std::string>& grantees) const;
  // "ALTER <kind> <name> OWNER TO <role>;" with a role that is neither R nor one R belongs to.
  std::string ChangeOwnerFix(const std::string& kind, const std::string& name) const;
  // The server's quote_ident(name).
  bool QuoteIdent(const std::string& name, std::string& quoted);

  void Begin(const std::string& check);
  void Fail(const std::string& check, std::string what, std::string fix);
  void Note(const std::string& check, std::string text);
  bool HasTenant(config::IsolationMode mode) const;

  const config::Config& config_;
  const config::BackendConfig& backend_;
  const std::vector<const config::TenantConfig*>& tenants_;
  DoctorConnection& connection_;
  BackendReport& report_;
  bool failed_ = false;  // a query failed; report_.error says which

  // From LoadRole (all quoted).
  std::string role_;
  std::string database_;
  std::string database_owner_;
  bool owns_database_ = false;  // R is, or belongs to, the database's owner
  bool superuser_ = false;
  bool bootstrap_superuser_ = false;  // the role initdb made, which cannot be demoted
  bool bypassrls_ = false;
  bool createrole_ = false;
};

}  // namespace pgtenant::doctor
