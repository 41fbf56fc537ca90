// BackendChecker, second half: what each isolation mode needs from the database — RLS enabled, forced
// and keyed on the tenant setting (rls), each tenant's schema and only its own (schema), and a database
// closed to PUBLIC (database).
#include <algorithm>
#include <cctype>

#include "doctor/doctor_checks.h"

namespace pgtenant::doctor {

namespace {

constexpr size_t kMaxIdentifierBytes = 63;

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// "<table>_<suffix>" as an identifier, quoted when it has to be; the suffix keeps it off keywords.
std::string PolicyName(const std::string& table, const std::string& suffix) {
  std::string name = table.substr(0, kMaxIdentifierBytes - suffix.size() - 1) + "_" + suffix;
  const bool plain = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  }) && !(name[0] >= '0' && name[0] <= '9');
  if (plain) return name;
  std::string quoted = "\"";
  for (char c : name) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

// pg_get_expr() prints current_setting('app.x'::text, true): the setting's name is a literal right after
// the parenthesis. Setting names are case-insensitive.
bool ReadsSetting(const std::string& expression, const std::string& setting) {
  return Lower(expression).find("current_setting('" + Lower(setting) + "'") != std::string::npos;
}

}  // namespace

void BackendChecker::CheckRlsTables() {
  if (!HasTenant(config::IsolationMode::kRls)) return;
  Begin("rls-enabled");
  Begin("rls-forced");
  Begin("rls-policy");
  // Tables in a schema tenant's schema are isolated by the schema, not by rows.
  std::string schema_tenants = "{";
  for (const auto& [name, tenant] : config_.tenants) {
    if (tenant.schema.empty()) continue;
    if (schema_tenants.size() > 1) schema_tenants += ',';
    schema_tenants += tenant.schema;
  }
  schema_tenants += '}';
  DoctorRows tables;
  if (!Query(std::string("SELECT c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname), c.relname, "
                         "c.relrowsecurity, c.relforcerowsecurity, quote_ident(a.attname), "
                         "format_type(a.atttypid, a.atttypmod), quote_ident(pg_get_userbyid(c.relowner)) "
                         "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                         "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = $1 AND a.attnum > 0 "
                         "AND NOT a.attisdropped "
                         "WHERE c.relkind IN ('r', 'p') AND ") +
                 kDoctorUserSchema +
                 " AND has_schema_privilege(n.oid, 'USAGE')"
                 " AND has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE, DELETE')"
                 " AND n.nspname <> ALL($2::text[]) ORDER BY 2",
             {config_.doctor.tenant_column, schema_tenants}, tables)) {
    return;
  }
  for (const auto& table : tables) {
    const std::string& name = table[1];
    if (table[3] != "t") {
      Fail("rls-enabled",
           "table " + name + " has " + table[5] + " but row level security is not enabled: " + role_ +
               " reads every tenant's rows",
           "ALTER TABLE " + name + " ENABLE ROW LEVEL SECURITY;");
    }
    if (table[4] != "t") {
      Fail("rls-forced",
           "table " + name + " has " + table[5] + " but row level security is not forced: its owner " + table[7] +
               " (and any member of it) bypasses the policies",
           "ALTER TABLE " + name + " FORCE ROW LEVEL SECURITY;");
    }
    CheckTablePolicies(table);
    if (failed_) return;
  }
}

// Permissive policies are OR'ed: one that applies to R without reading the tenant setting opens the
// table, whatever the others say; a restrictive one that reads it closes the table again.
void BackendChecker::CheckTablePolicies(const std::vector<std::string>& table) {
  const std::string& oid = table[0];
  const std::string& name = table[1];
  const std::string& relname = table[2];
  const std::string& column = table[5];
  const std::string& type = table[6];
  DoctorRows policies;
  if (!Query("SELECT quote_ident(p.polname), p.polpermissive, p.polcmd, "
             "COALESCE(pg_get_expr(p.polqual, p.polrelid), ''), COALESCE(pg_get_expr(p.polwithcheck, p.polrelid), ''), "
             "0 = ANY(p.polroles) OR EXISTS "
             "(SELECT 1 FROM unnest(p.polroles) r(oid) WHERE pg_has_role(current_user, r.oid, 'USAGE')) "
             "FROM pg_policy p WHERE p.polrelid = $1::oid ORDER BY 1",
             {oid}, policies)) {
    return;
  }
  bool guarded = false;    // a restrictive policy for all commands keys every row on the setting
  bool isolating = false;  // some permissive policy does
  std::vector<std::string> open;
  for (const auto& policy : policies) {
    if (policy[5] != "t") continue;  // does not apply to R
    const std::string& using_expr = policy[3];
    const std::string& check_expr = policy[4];
    const bool keyed = (!using_expr.empty() || !check_expr.empty()) &&
                       (using_expr.empty() || ReadsSetting(using_expr, config_.tenant_setting)) &&
                       (check_expr.empty() || ReadsSetting(check_expr, config_.tenant_setting));
    if (policy[1] != "t") {
      if (keyed && policy[2] == "*" && !using_expr.empty()) guarded = true;
    } else if (keyed) {
      isolating = true;
    } else {
      open.push_back(policy[0]);
    }
  }
  if (guarded) return;

  const std::string setting = "current_setting('" + config_.tenant_setting + "', true)";
  const bool text_column = type == "text" || type.rfind("character varying", 0) == 0;
  const std::string condition =
      column + " = " + (text_column ? setting : "NULLIF(" + setting + ", '')::" + type);
  const std::string clauses = " USING (" + condition + ") WITH CHECK (" + condition + ");";
  if (!open.empty()) {
    std::string list;
    for (const std::string& policy : open) list += (list.empty() ? "" : ", ") + policy;
    Fail("rls-policy",
         "table " + name + ": polic" + (open.size() == 1 ? "y " : "ies ") + list + " appl" +
             (open.size() == 1 ? "ies" : "y") + " to " + role_ + " without reading " + config_.tenant_setting +
             "; permissive policies are OR'ed, so rows of every tenant get through",
         "CREATE POLICY " + PolicyName(relname, "tenant_guard") + " ON " + name + " AS RESTRICTIVE" + clauses);
  } else if (!isolating) {
    Fail("rls-policy",
         "table " + name + " has no policy that applies to " + role_ + " and reads current_setting('" +
             config_.tenant_setting + "')",
         "CREATE POLICY " + PolicyName(relname, "tenant_isolation") + " ON " + name + clauses);
  }
}

void BackendChecker::CheckTenantSchemas() {
  if (!HasTenant(config::IsolationMode::kSchema)) return;
  Begin("schema-missing");
  Begin("schema-usage");
  for (const config::TenantConfig* tenant : tenants_) {
    if (tenant->isolation != config::IsolationMode::kSchema) continue;
    std::string schema;
    DoctorRows rows;
    if (!QuoteIdent(tenant->schema, schema) ||
        !Query("SELECT has_schema_privilege(oid, 'USAGE') FROM pg_namespace WHERE nspname = $1", {tenant->schema},
               rows)) {
      return;
    }
    if (rows.empty()) {
      const std::string owner = owns_database_ ? "owner_role" : database_owner_;
      Fail("schema-missing", "schema " + schema + " of tenant " + tenant->name + " does not exist",
           "CREATE SCHEMA " + schema + " AUTHORIZATION " + owner + "; GRANT USAGE ON SCHEMA " + schema + " TO " +
               role_ + ";");
    } else if (rows[0][0] != "t") {
      Fail("schema-usage", role_ + " has no USAGE on schema " + schema + " of tenant " + tenant->name,
           "GRANT USAGE ON SCHEMA " + schema + " TO " + role_ + ";");
    }
  }
}

// Schema tenants on the same database that log in as other roles: each must be kept out of R's reach.
void BackendChecker::CheckForeignSchemas() {
  const std::vector<const config::TenantConfig*> foreign = ForeignSchemaTenants();
  if (foreign.empty()) return;
  Begin("schema-foreign");
  for (const config::TenantConfig* tenant : foreign) {
    DoctorRows rows;
    std::string schema;
    if (!QuoteIdent(tenant->schema, schema) ||
        !Query("SELECT oid, has_schema_privilege(oid, 'USAGE') FROM pg_namespace WHERE nspname = $1", {tenant->schema},
               rows)) {
      return;
    }
    if (rows.empty() || rows[0][1] != "t") continue;
    std::vector<std::string> grantees;
    if (!Grantees(kDoctorSchemaAcl, "USAGE", rows[0][0], grantees) || !DropOtherLoginRoles(grantees)) return;
    Fail("schema-foreign",
         role_ + " can use schema " + schema + " of tenant " + tenant->name + " (backend " + tenant->backend + ")",
         RevokeFix("USAGE", "SCHEMA " + schema, grantees));
  }
}

void BackendChecker::CheckDedicatedDatabase() {
  if (!HasTenant(config::IsolationMode::kDatabase)) return;
  Begin("db-public-connect");
  std::vector<std::string> grantees;
  if (!Grantees(kDoctorDatabaseAcl, "CONNECT", "", grantees)) return;
  if (std::find(grantees.begin(), grantees.end(), "PUBLIC") == grantees.end()) return;
  Fail("db-public-connect",
       "database " + database_ + " is dedicated to one tenant but every role may connect to it (CONNECT to PUBLIC)",
       "REVOKE CONNECT ON DATABASE " + database_ + " FROM PUBLIC; GRANT CONNECT ON DATABASE " + database_ + " TO " +
           role_ + ";");
}

}  // namespace pgtenant::doctor
