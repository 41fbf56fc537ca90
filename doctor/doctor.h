// `pgtenant doctor`: checks, through libpq, that each backend's database is the wall the parser relies
// on (DESIGN.md, "the parser is defence in depth; the database is the wall") and prints the SQL that
// fixes each weakness.
//
// One run per role pgtenant's server connections log in as: each backend's user (for its tenants that
// have no server_role, and for health checks), then each schema tenant's server_role (tenants.NAME.
// server_role) on that backend. Logged in as that role R:
//   role-superuser, role-bypassrls, role-createrole   R's own attributes
//   role-membership    R can become (SET ROLE) a superuser, BYPASSRLS or CREATEROLE role, or one of
//                      pg_execute_server_program / pg_read_server_files / pg_write_server_files
//   db-owner           R (or a role R belongs to) owns the database
//   schema-owner       ... owns a schema
//   table-owner        ... owns a table, view or foreign table in a schema R can use or a tenant's
//                      schema (an owner bypasses RLS unless FORCE, and may ALTER or DROP it)
//   set-config         R may EXECUTE pg_catalog.set_config(text,text,boolean)
//   temp               R may create temporary objects in the database
//   create-database    R may CREATE schemas in the database
//   create-schema      R may CREATE objects in some schema
// When R serves an rls tenant, for every table R can read or write that has the tenant
// column (doctor.tenant_column) outside schema tenants' schemas:
//   rls-enabled, rls-forced   ENABLE and FORCE ROW LEVEL SECURITY
//   rls-policy         a policy that applies to R reads current_setting('<tenant_setting>'), and no
//                      permissive policy that applies to R lets rows through without reading it
// When R serves schema tenants:
//   schema-missing, schema-usage   each tenant's schema exists and R has USAGE on it
//   schema-shared-role R serves a schema tenant and any other tenant of the same database (first host
//                      and database): the fix makes the tenant a role of its own (server_role)
// When other schema tenants of the same database log in as other roles (for each such tenant T):
//   schema-foreign     R cannot use T's schema
//   table-foreign      R holds no privilege on a table (or column) in T's schema
//   stats-foreign      pg_stats, pg_stats_ext and pg_stats_ext_exprs show R nothing of T's schema
// When other roles log in to the same database (other tenants' server_roles, other backends' users):
//   role-foreign       R cannot SET ROLE to any of them
// When it serves a database tenant:
//   db-public-connect  CONNECT on the database is not granted to PUBLIC
// A superuser passes every privilege check, so for one only the role checks run.
//
// Not thread-safe; a command-line tool.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "config/config.h"

namespace pgtenant::doctor {

struct DoctorFinding {
  std::string check;  // a check id from the list above
  std::string what;   // one line: what is wrong, naming the object
  std::string fix;    // SQL to run as a superuser in the backend's database (statements on one line)
};

struct DoctorNote {
  std::string check;
  std::string text;
};

struct BackendReport {
  std::string backend;  // config name
  std::string target;   // "user@host:port/database": the role R the checks ran as
  std::vector<std::string> tenants;  // "acme (rls)", "globex (schema org_globex)"
  // Non-empty when the backend could not be reached or a check could not run: the reason.
  std::string error;
  std::vector<std::string> checks;  // the checks that ran, in order
  std::vector<DoctorFinding> findings;
  std::vector<DoctorNote> notes;
};

// Connects to every backend of `config` as each role above (one at a time, with the backend's
// connect_timeout) and runs the checks; one report per role, in config order.
std::vector<BackendReport> RunDoctorChecks(const config::Config& config);

// One block per backend: a header, "FAIL <check>: <what>" + "  fix: <SQL>" per finding, "ok   <check>"
// per check without findings, "note <check>: <text>", "ERROR <reason>"; then
// "doctor: N findings on M backends".
std::string FormatDoctorReport(const std::vector<BackendReport>& reports);

// 2 if any backend reported an error, else 1 if any finding, else 0.
int DoctorExitCode(const std::vector<BackendReport>& reports);

// `pgtenant doctor --config FILE`: loads the config (2 if it is invalid), runs, prints the report to
// `out` and returns the exit code.
int RunDoctor(const std::string& config_path, std::FILE* out);

}  // namespace pgtenant::doctor
