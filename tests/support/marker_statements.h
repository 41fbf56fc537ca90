// Marker statements: for every policy rule that can block SQL, statements it blocks that carry two
// unique marker literals, a string and a number. Audit events and log lines must never hold either
// (issue 24, item 5). tests/policy/audit_literal_test.cc checks the verdicts and the events built from
// them for each rule of config/policy_rules.h; tests/integration/shared_catalog_test.cc sends them
// through a real pgtenant and reads its audit file and log.
//
// Sessions, as both tests build them: acme (rls) member in transaction pooling, acme viewer, globex
// (schema org_globex) member. The config denies table public.audit_log and function pg_sleep.
#pragma once

#include <string_view>
#include <vector>

namespace pgtenant::testing {

inline constexpr std::string_view kMarkerString = "mk_s7q2z";
inline constexpr std::string_view kMarkerNumber = "918273645";

enum class MarkerSession { kMember, kViewer, kSchema };

struct MarkerStatement {
  std::string_view rule;
  MarkerSession who;
  std::string_view sql;  // holds kMarkerString and kMarkerNumber
};

inline const std::vector<MarkerStatement>& MarkerStatements() {
  using enum MarkerSession;
  static const std::vector<MarkerStatement> statements = {
      {"parse.error", kMember, "SELECT 'mk_s7q2z', 918273645 FROM WHERE"},
      {"parse.error", kMember, "SELECT 918273645 + 'mk_s7q2z"},
      {"context.tenant_setting", kMember, "SET app.current_organization_id = 'mk_s7q2z'; SELECT 918273645"},
      {"context.tenant_setting", kMember, "SELECT 918273645; SET app.current_organization_id TO 'mk_s7q2z'"},
      {"context.search_path", kSchema, "SET search_path TO 'mk_s7q2z', 918273645"},
      {"context.role", kMember, "SET ROLE 'mk_s7q2z'; SELECT 918273645"},
      {"context.set_config", kMember, "SELECT set_config('mk_s7q2z', '1', false), 918273645"},
      {"context.persistent_defaults", kMember, "ALTER ROLE CURRENT_USER SET app.x = 'mk_s7q2z'; SELECT 918273645"},
      {"context.persistent_defaults", kMember, "ALTER DATABASE app SET statement_timeout = 918273645; SELECT 'mk_s7q2z'"},
      {"context.persistent_defaults", kMember, "ALTER SYSTEM SET app.y = 'mk_s7q2z'; SELECT 918273645"},
      {"escalation.role", kMember, "CREATE ROLE intruder PASSWORD 'mk_s7q2z' CONNECTION LIMIT 918273645"},
      {"rls.bypass", kMember, "CREATE POLICY p ON projects USING (name = 'mk_s7q2z' AND length(name) = 918273645)"},
      {"ddl.schema_change", kMember, "COMMENT ON TABLE projects IS 'mk_s7q2z'; SELECT 918273645"},
      {"ddl.schema_change", kMember, "CREATE TABLE copied AS SELECT 'mk_s7q2z' AS a, 918273645 AS b"},
      {"ddl.schema_change", kMember, "CREATE TABLE t3 (a int DEFAULT 918273645, b text DEFAULT 'mk_s7q2z')"},
      {"ddl.schema_change", kMember, "CREATE VIEW v AS SELECT E'mk_s7q2z' AS a, 918273645.5e1 AS b"},
      {"dynamic_sql.do", kMember, "DO $body$ BEGIN PERFORM 'mk_s7q2z', 918273645; END $body$"},
      {"dynamic_sql.function", kMember,
       "CREATE FUNCTION f() RETURNS text LANGUAGE sql COST 918273645 AS $$ SELECT 'mk_s7q2z' $$"},
      {"dynamic_sql.executor", kMember, "SELECT query_to_xml('SELECT ''mk_s7q2z''', true, false, ''), 918273645"},
      {"cross_tenant.schema", kMember,
       "SELECT * FROM org_globex.projects WHERE name = 'mk_s7q2z' AND length(name) = 918273645"},
      {"server.files", kMember, "COPY projects FROM '/tmp/mk_s7q2z-918273645'; SELECT 918273645"},
      {"server.files", kMember, "SELECT pg_read_file('/tmp/mk_s7q2z', 918273645, 10)"},
      {"server.programs", kMember, "COPY (SELECT 918273645) TO PROGRAM 'cat > /tmp/mk_s7q2z'"},
      {"server.large_objects", kMember, "SELECT lo_create(918273645), 'mk_s7q2z'"},
      {"server.foreign", kMember, "SELECT * FROM dblink('mk_s7q2z', 'SELECT 918273645') AS t(x int)"},
      {"server.foreign", kMember,
       "CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'mk_s7q2z', port '918273645')"},
      {"server.other_sessions", kMember,
       "SELECT * FROM pg_stat_activity WHERE query = 'mk_s7q2z' AND pid = 918273645"},
      {"server.explain_analyze", kMember, "EXPLAIN ANALYZE SELECT 'mk_s7q2z', 918273645"},
      {"pooling.session_state", kMember, "PREPARE p AS SELECT 'mk_s7q2z', 918273645"},
      {"pooling.session_state", kMember, "SELECT pg_advisory_lock(918273645), 'mk_s7q2z'"},
      {"pooling.session_state", kMember, "SET work_mem = '918273645kB' /* mk_s7q2z */"},
      {"readonly.write", kViewer, "INSERT INTO projects (name) VALUES ('mk_s7q2z' || 918273645)"},
      {"protocol.encoding", kMember, "SET client_encoding = 'mk_s7q2z'; SELECT 918273645"},
      {"tenant.denied_table", kMember, "SELECT * FROM public.audit_log WHERE note = 'mk_s7q2z' LIMIT 918273645"},
      {"tenant.denied_function", kMember, "SELECT pg_sleep(918273645), 'mk_s7q2z'"},
      {"two_phase.prepared_transactions", kMember, "PREPARE TRANSACTION 'mk_s7q2z-918273645'; SELECT 918273645"},
      {"two_phase.prepared_transactions", kMember, "COMMIT PREPARED 'mk_s7q2z'; SELECT 918273645"},
      {"two_phase.prepared_transactions", kMember,
       "SELECT * FROM pg_prepared_xacts WHERE gid = 'mk_s7q2z' AND transaction::text = '918273645'"},
      {"catalog.statistics", kMember,
       "SELECT * FROM pg_stats WHERE tablename = 'mk_s7q2z' AND null_frac > 918273645"},
      {"catalog.activity_counts", kMember,
       "SELECT * FROM pg_stat_user_tables WHERE relname = 'mk_s7q2z' AND n_live_tup > 918273645"},
      {"notify.channel", kMember, "SELECT pg_notify(lower('mk_s7q2z'), 'x'), 918273645"},
      {"catalog.information_schema", kSchema,
       "SELECT * FROM information_schema.columns WHERE table_name = U&'mk_s7q2z' LIMIT 918273645"},
  };
  return statements;
}

}  // namespace pgtenant::testing
