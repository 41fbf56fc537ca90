// The shared-database rules (policy/shared_catalog_rules.cc): two-phase commit, statistics, activity
// counters and information_schema are refused to tenants that share a database (acme: rls, globex:
// schema), in every position a relation or function can take, and left to a tenant with a database of
// its own (initech). Expected "" means allowed.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "config/policy_rules.h"
#include "tests/policy/policy_fixture.h"

namespace pgtenant::policy {
namespace {

using config::TenantRole;
using testing::BaseYaml;
using testing::LoadTestConfig;
using testing::Session;

constexpr const char* k2pc = "two_phase.prepared_transactions";
constexpr const char* kStats = "catalog.statistics";
constexpr const char* kCounts = "catalog.activity_counts";
constexpr const char* kInfo = "catalog.information_schema";

struct Case {
  const char* sql;
  const char* shared;     // verdict for acme (rls) and globex (schema)
  const char* dedicated;  // verdict for initech (isolation: database)
};

const std::vector<Case> kCases = {
    // --- two_phase.prepared_transactions
    {"PREPARE TRANSACTION 'tx-1'", k2pc, ""},
    {"prepare transaction 'tx-1'", k2pc, ""},
    {"COMMIT PREPARED 'tx-1'", k2pc, ""},
    {"ROLLBACK PREPARED 'tx-1'", k2pc, ""},
    {"BEGIN; INSERT INTO projects (name) VALUES ('x'); PREPARE TRANSACTION 'tx-2'", k2pc, ""},
    {"SELECT gid, prepared FROM pg_prepared_xacts", k2pc, ""},
    {"SELECT count(*) FROM pg_catalog.pg_prepared_xacts WHERE gid = 'tx-1'", k2pc, ""},
    {"SELECT * FROM pg_prepared_xact()", k2pc, ""},
    {"BEGIN", "", ""},
    {"COMMIT", "", ""},
    {"ROLLBACK", "", ""},
    {"ROLLBACK AND CHAIN", "", ""},
    {"SAVEPOINT a; RELEASE SAVEPOINT a", "", ""},
    {"SELECT name FROM pg_prepared_statements", "", ""},  // the session's own statements
    // --- catalog.statistics
    {"SELECT most_common_vals FROM pg_stats WHERE tablename = 'projects'", kStats, ""},
    {"SELECT * FROM pg_catalog.pg_stats", kStats, ""},
    {"SELECT * FROM PG_STATS", kStats, ""},
    {"SELECT * FROM \"pg_catalog\".\"pg_stats\"", kStats, ""},
    {"SELECT * FROM pg_stats_ext", kStats, ""},
    {"SELECT * FROM pg_catalog.pg_stats_ext_exprs", kStats, ""},
    {"SELECT * FROM pg_statistic", kStats, ""},
    {"WITH s AS (SELECT * FROM pg_stats) SELECT count(*) FROM s", kStats, ""},
    {"SELECT * FROM projects WHERE name IN (SELECT attname FROM pg_stats)", kStats, ""},
    {"SELECT (SELECT max(null_frac) FROM pg_stats) AS x", kStats, ""},
    {"SELECT * FROM pg_mcv_list_items(NULL)", kStats, ""},
    {"SELECT * FROM reporting.pg_stats", "", ""},  // a table of that name in another schema
    // --- catalog.activity_counts
    {"SELECT relname, n_live_tup FROM pg_stat_user_tables", kCounts, ""},
    {"SELECT * FROM pg_stat_all_tables", kCounts, ""},
    {"SELECT * FROM pg_stat_sys_tables", kCounts, ""},
    {"SELECT * FROM pg_catalog.pg_stat_xact_user_tables", kCounts, ""},
    {"SELECT * FROM pg_stat_xact_all_tables", kCounts, ""},
    {"SELECT * FROM pg_stat_user_indexes", kCounts, ""},
    {"SELECT * FROM pg_stat_user_functions", kCounts, ""},
    {"SELECT * FROM pg_statio_user_tables", kCounts, ""},
    {"SELECT * FROM pg_statio_all_sequences", kCounts, ""},
    {"SELECT datname, xact_commit FROM pg_stat_database", kCounts, ""},
    {"SELECT * FROM pg_stat_database_conflicts", kCounts, ""},
    {"SELECT pg_stat_get_live_tuples('projects'::regclass)", kCounts, ""},
    {"SELECT pg_catalog.pg_stat_get_db_xact_commit(1)", kCounts, ""},
    {"SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", "", ""},
    {"SELECT * FROM pg_stat_activity", "server.other_sessions", "server.other_sessions"},  // as before
    // --- catalog.information_schema
    {"SELECT table_schema, table_name FROM information_schema.tables", kInfo, ""},
    {"SELECT column_name FROM information_schema.columns WHERE table_name = 'projects'", kInfo, ""},
    {"SELECT * FROM INFORMATION_SCHEMA.ROUTINES", kInfo, ""},
    {"SELECT * FROM \"information_schema\".\"views\"", kInfo, ""},
    {"SELECT * FROM information_schema.schemata", kInfo, ""},
    {"SELECT * FROM information_schema.table_constraints", kInfo, ""},
    {"SELECT * FROM information_schema.key_column_usage", kInfo, ""},
    {"SELECT * FROM information_schema.some_view_of_a_later_version", kInfo, ""},  // fail closed
    {"SELECT * FROM information_schema.sql_features", "", ""},
    {"SELECT * FROM information_schema.character_sets", "", ""},
    {"SELECT * FROM information_schema.enabled_roles", "", ""},
    {"SELECT * FROM tables", "", ""},  // an unqualified user table
    {"SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace", "", ""},
};

enum class Tenant { kRls, kSchema, kDatabase };

SessionPolicy SessionOf(const config::Config& config, Tenant tenant) {
  switch (tenant) {
    case Tenant::kRls: return Session(config, "acme", TenantRole::kMember, false);
    case Tenant::kSchema: return Session(config, "globex", TenantRole::kMember, false);
    case Tenant::kDatabase: return Session(config, "initech", TenantRole::kMember, false);
  }
  return SessionPolicy{};
}

TEST_CASE("shared-database rules refuse 2PC, statistics, counters and information_schema to shared tenants only",
          "[policy][rules][catalog]") {
  auto config = LoadTestConfig(BaseYaml());
  PolicyEngine engine;
  VerdictMemo memo;
  for (const Case& c : kCases) {
    for (Tenant tenant : {Tenant::kRls, Tenant::kSchema, Tenant::kDatabase}) {
      const std::string expected = tenant == Tenant::kDatabase ? c.dedicated : c.shared;
      const PolicyVerdict verdict =
          *engine.Inspect(memo, SessionOf(*config, tenant), c.sql, StatementSource::kSimpleQuery);
      INFO(static_cast<int>(tenant) << ": " << c.sql);
      INFO("got " << (verdict.allowed ? "allowed" : verdict.rule_id + ": " + verdict.reason));
      if (expected.empty()) {
        CHECK(verdict.allowed);
      } else {
        CHECK_FALSE(verdict.allowed);
        CHECK(verdict.rule_id == expected);
        CHECK(config::PolicyRuleIndex(expected).has_value());
      }
    }
  }
}

TEST_CASE("search_path may not name information_schema in a shared database", "[policy][rules][catalog]") {
  auto config = LoadTestConfig(BaseYaml());
  PolicyEngine engine;
  VerdictMemo memo;
  const SessionPolicy rls = Session(*config, "acme", TenantRole::kAdmin, false);
  CHECK(engine.Inspect(memo, rls, "SET search_path = information_schema, public", StatementSource::kSimpleQuery)
            ->rule_id == kInfo);
  CHECK(engine.Inspect(memo, rls, "SET search_path = 'public, \"information_schema\"'", StatementSource::kSimpleQuery)
            ->rule_id == kInfo);
  CHECK(engine.Inspect(memo, rls, "SET search_path = public", StatementSource::kSimpleQuery)->allowed);
  const SessionPolicy dedicated = Session(*config, "initech", TenantRole::kMember, false);
  CHECK(engine.Inspect(memo, dedicated, "SET search_path = information_schema", StatementSource::kSimpleQuery)
            ->allowed);
}

TEST_CASE("each shared-database rule can be switched off on its own", "[policy][rules][catalog]") {
  auto config = LoadTestConfig(BaseYaml(
      "policy: { rules: { two_phase.prepared_transactions: off, catalog.statistics: off } }\n"));
  PolicyEngine engine;
  VerdictMemo memo;
  const SessionPolicy member = Session(*config, "globex", TenantRole::kMember, false);
  CHECK(engine.Inspect(memo, member, "SELECT * FROM pg_stats", StatementSource::kSimpleQuery)->allowed);
  CHECK(engine.Inspect(memo, member, "SELECT * FROM pg_prepared_xacts", StatementSource::kSimpleQuery)->allowed);
  CHECK(engine.Inspect(memo, member, "SELECT * FROM pg_stat_user_tables", StatementSource::kSimpleQuery)->rule_id ==
        kCounts);
}

}  // namespace
}  // namespace pgtenant::policy
