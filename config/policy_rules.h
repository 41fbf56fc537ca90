// PolicyRules: the one list of policy rule ids, shared by the config validator and the policy engine.
//
// Ids are stable: they appear in client error messages, audit events and YAML (`policy.rules`).
// Every rule is on by default; YAML may switch any of them off (or back on) per tenant and role.
// Adding a rule means adding it here, teaching policy/ to report it, and documenting it in
// config/examples/full.yaml.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace pgtenant::config {

struct PolicyRuleInfo {
  std::string_view id;
  std::string_view summary;  // one line, for docs and `pgtenant` diagnostics
};

inline constexpr std::array kPolicyRules = {
    PolicyRuleInfo{"parse.error", "SQL the parser cannot parse (fail closed)"},
    PolicyRuleInfo{"parse.unknown_node", "a parse-tree node or field the inspector does not know (fail closed)"},
    PolicyRuleInfo{"context.tenant_setting", "SET/RESET/RESET ALL/DISCARD of the tenant setting"},
    PolicyRuleInfo{"context.search_path", "SET/RESET search_path in schema isolation"},
    PolicyRuleInfo{"context.role", "SET/RESET ROLE and SESSION AUTHORIZATION"},
    PolicyRuleInfo{"context.set_config", "set_config() anywhere in a statement, or writes to pg_settings"},
    PolicyRuleInfo{"context.persistent_defaults", "ALTER ROLE/DATABASE ... SET/RESET, ALTER SYSTEM"},
    PolicyRuleInfo{"escalation.role", "roles, GRANT/REVOKE, default privileges, security labels, REASSIGN/DROP OWNED"},
    PolicyRuleInfo{"rls.bypass", "policies, RLS switches, SET row_security, OWNER TO, TRUNCATE, triggers, rules"},
    PolicyRuleInfo{"ddl.schema_change", "other DDL and maintenance (CREATE/ALTER/DROP, COMMENT, VACUUM, SELECT INTO)"},
    PolicyRuleInfo{"dynamic_sql.do", "DO blocks"},
    PolicyRuleInfo{"dynamic_sql.function", "CREATE/ALTER FUNCTION or PROCEDURE, aggregates, operators, casts"},
    PolicyRuleInfo{"dynamic_sql.executor", "functions that run SQL given as a string (query_to_xml, ts_stat, ...)"},
    PolicyRuleInfo{"cross_tenant.schema", "a name or schema-qualified literal that names another tenant's schema"},
    PolicyRuleInfo{"server.files", "server file access: pg_read_file, pg_ls_*, COPY to/from a file, lo_import/export"},
    PolicyRuleInfo{"server.programs", "COPY ... PROGRAM"},
    PolicyRuleInfo{"server.large_objects", "large-object functions and pg_largeobject"},
    PolicyRuleInfo{"server.foreign", "dblink, foreign servers/tables/wrappers, user mappings, extensions"},
    PolicyRuleInfo{"server.other_sessions", "pg_stat_activity, pg_locks, pg_stat_statements, cancelling backends"},
    PolicyRuleInfo{"server.explain_analyze", "EXPLAIN ANALYZE (executes the statement)"},
    PolicyRuleInfo{"pooling.session_state", "session state that outlives a transaction, in transaction pooling"},
    PolicyRuleInfo{"readonly.write", "writes and lifting read-only, for viewers and read-only tenants"},
    PolicyRuleInfo{"protocol.encoding", "client_encoding, standard_conforming_strings, backslash_quote"},
    PolicyRuleInfo{"protocol.function_call", "FunctionCall ('F') protocol messages"},
    PolicyRuleInfo{"tenant.denied_table", "a table listed in policy.deny_tables"},
    PolicyRuleInfo{"tenant.denied_function", "a function listed in policy.deny_functions"},
    PolicyRuleInfo{"two_phase.prepared_transactions",
                   "PREPARE TRANSACTION, COMMIT/ROLLBACK PREPARED, pg_prepared_xacts, for tenants sharing a database"},
    PolicyRuleInfo{"catalog.statistics", "pg_stats, pg_stats_ext(_exprs): other tenants' column values, shared database"},
    PolicyRuleInfo{"catalog.activity_counts",
                   "pg_stat_*_tables/indexes/functions, pg_stat_xact_*, pg_statio_*, pg_stat_database(_conflicts)"},
    PolicyRuleInfo{"catalog.information_schema", "information_schema views listing other schemas' objects"},
    PolicyRuleInfo{"notify.channel",
                   "LISTEN/NOTIFY/pg_notify() channels pgtenant cannot keep in the tenant's namespace, shared database"},
};

inline constexpr size_t kPolicyRuleCount = kPolicyRules.size();

// The position of `id` in kPolicyRules, or nullopt if no rule has that id.
inline constexpr std::optional<size_t> PolicyRuleIndex(std::string_view id) {
  for (size_t i = 0; i < kPolicyRules.size(); ++i) {
    if (kPolicyRules[i].id == id) return i;
  }
  return std::nullopt;
}

}  // namespace pgtenant::config
