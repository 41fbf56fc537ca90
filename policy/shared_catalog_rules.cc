// TreeInspector, shared-database rules: what PostgreSQL keeps per database (or per server) rather than
// per tenant — prepared transactions, statistics, activity counters, information_schema — refused to
// tenants that share a database with others (rls and schema isolation). A tenant with a database of
// its own keeps them all: there, everything the database holds is its own.
//
// The checks take names (and TransactionStmt's kind), not tree nodes: CheckRangeVar calls them for
// every relation, CheckFunctionCall for every function name, the TransactionStmt rule for its kind,
// CheckSearchPath for every schema it sets. The tables below are the whole of the rules' knowledge.
#include <algorithm>
#include <array>
#include <string>

#include "policy/tree_inspector.h"
#include "protocol/ascii_case.h"

namespace pgtenant::policy {

namespace {

constexpr std::string_view kTwoPhaseRule = "two_phase.prepared_transactions";
constexpr std::string_view kTwoPhaseReason =
    "prepared transactions are shared by every tenant of a database (a gid is database-wide, and "
    "pg_prepared_xacts lists them all); two-phase commit is available to tenants with a database of their own";

// Where a relation lives: pg_catalog views are found unqualified too (pg_catalog is always searched
// first); information_schema views only when qualified, or through a search_path naming it, which
// CheckSearchPathSchema refuses.
enum class CatalogSchema { kPgCatalog, kInformationSchema };

struct SharedCatalogRelation {
  CatalogSchema schema;
  std::string_view name;  // lowercase
  bool prefix;            // every relation whose name starts with `name`
  std::string_view rule_id;
  std::string_view reason;
};

constexpr std::string_view kStatisticsReason =
    "planner statistics hold sample column values of every table in the database, other tenants' too";
constexpr std::string_view kActivityReason =
    "activity counters show row counts and use of every table (or database) on the server, other tenants' too";
constexpr std::string_view kInformationSchemaReason =
    "this information_schema view lists tables, columns and routines of other tenants' schemas";

constexpr SharedCatalogRelation kSharedCatalogRelations[] = {
    {CatalogSchema::kPgCatalog, "pg_prepared_xacts", false, kTwoPhaseRule, kTwoPhaseReason},
    {CatalogSchema::kPgCatalog, "pg_stats", false, "catalog.statistics", kStatisticsReason},
    {CatalogSchema::kPgCatalog, "pg_stats_ext", false, "catalog.statistics", kStatisticsReason},
    {CatalogSchema::kPgCatalog, "pg_stats_ext_exprs", false, "catalog.statistics", kStatisticsReason},
    {CatalogSchema::kPgCatalog, "pg_statistic", false, "catalog.statistics", kStatisticsReason},
    {CatalogSchema::kPgCatalog, "pg_statistic_ext_data", false, "catalog.statistics", kStatisticsReason},
    {CatalogSchema::kPgCatalog, "pg_stat_user_", true, "catalog.activity_counts", kActivityReason},
    {CatalogSchema::kPgCatalog, "pg_stat_all_", true, "catalog.activity_counts", kActivityReason},
    {CatalogSchema::kPgCatalog, "pg_stat_sys_", true, "catalog.activity_counts", kActivityReason},
    {CatalogSchema::kPgCatalog, "pg_stat_xact_", true, "catalog.activity_counts", kActivityReason},
    {CatalogSchema::kPgCatalog, "pg_statio_", true, "catalog.activity_counts", kActivityReason},
    {CatalogSchema::kPgCatalog, "pg_stat_database", true, "catalog.activity_counts", kActivityReason},
    // information_schema: every view but those below shows objects of every schema the server role
    // can use (schema tenants of one backend share that role). Fail closed: a view PostgreSQL adds is
    // refused until it is known to be harmless.
    {CatalogSchema::kInformationSchema, "", true, "catalog.information_schema", kInformationSchemaReason},
};

// information_schema views that describe the server or the session, not the database's objects.
constexpr std::array<std::string_view, 11> kHarmlessInformationSchemaViews = {
    "information_schema_catalog_name",
    "character_sets",
    "collations",
    "collation_character_set_applicability",
    "sql_features",
    "sql_implementation_info",
    "sql_parts",
    "sql_sizing",
    "enabled_roles",
    "applicable_roles",
    "administrable_role_authorizations"};

// Functions behind the views above (SELECT pg_stat_get_live_tuples('t'::regclass) reads what
// pg_stat_user_tables shows). The session-activity ones are matched first by server.other_sessions.
struct SharedCatalogFunction {
  std::string_view name;  // lowercase
  bool prefix;
  std::string_view rule_id;
  std::string_view reason;
};

constexpr SharedCatalogFunction kSharedCatalogFunctions[] = {
    {"pg_prepared_xact", false, kTwoPhaseRule, kTwoPhaseReason},
    {"pg_stat_get_", true, "catalog.activity_counts", kActivityReason},
    {"pg_mcv_list_items", false, "catalog.statistics", kStatisticsReason},
};

bool NameMatches(std::string_view lower, std::string_view name, bool prefix) {
  return prefix ? lower.substr(0, name.size()) == name : lower == name;
}

}  // namespace

bool TreeInspector::SharesDatabase() const {
  return context_.tenant == nullptr || context_.tenant->isolation != config::IsolationMode::kDatabase;
}

void TreeInspector::CheckSharedCatalogRelation(std::string_view schema, std::string_view relation) {
  if (!SharesDatabase()) return;
  const std::string lower = protocol::AsciiLower(relation);
  const bool in_pg_catalog = schema.empty() || protocol::EqualsIgnoreCase(schema, "pg_catalog");
  const bool in_information_schema = protocol::EqualsIgnoreCase(schema, "information_schema");
  if (!in_pg_catalog && !in_information_schema) return;
  for (const SharedCatalogRelation& entry : kSharedCatalogRelations) {
    if (entry.schema == CatalogSchema::kPgCatalog ? !in_pg_catalog : !in_information_schema) continue;
    if (!NameMatches(lower, entry.name, entry.prefix)) continue;
    if (entry.schema == CatalogSchema::kInformationSchema &&
        std::find(kHarmlessInformationSchemaViews.begin(), kHarmlessInformationSchemaViews.end(), lower) !=
            kHarmlessInformationSchemaViews.end()) {
      return;
    }
    Report(entry.rule_id, std::string(schema.empty() ? "pg_catalog" : protocol::AsciiLower(schema)) + "." + lower +
                              ": " + std::string(entry.reason));
    return;
  }
}

void TreeInspector::CheckSharedCatalogFunction(std::string_view lower_name) {
  if (!SharesDatabase()) return;
  for (const SharedCatalogFunction& entry : kSharedCatalogFunctions) {
    if (!NameMatches(lower_name, entry.name, entry.prefix)) continue;
    Report(entry.rule_id, std::string(lower_name) + "(): " + std::string(entry.reason));
    return;
  }
}

void TreeInspector::CheckTwoPhaseCommit(PgQuery__TransactionStmtKind kind) {
  if (!SharesDatabase()) return;
  if (kind == PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_PREPARE ||
      kind == PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT_PREPARED ||
      kind == PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK_PREPARED) {
    Report(kTwoPhaseRule, std::string(kTwoPhaseReason));
  }
}

void TreeInspector::CheckSearchPathSchema(std::string_view schema) {
  if (!SharesDatabase() || !protocol::EqualsIgnoreCase(schema, "information_schema")) return;
  Report("catalog.information_schema",
         "search_path may not name information_schema: its views list other tenants' tables and columns");
}

}  // namespace pgtenant::policy
