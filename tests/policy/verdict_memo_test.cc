// VerdictMemo: a hit hands out the remembered verdict itself without allocating; verdicts are shared
// handles that outlive eviction and ClearCache; a session that moves to another loop's memo gets the
// same verdict from the shared cache, and that loop's memo keeps a copy of its own.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "policy/policy_engine.h"
#include "policy/verdict_memo.h"
#include "tests/policy/policy_fixture.h"
#include "tests/support/allocation_counter.h"


namespace pgtenant::policy {
namespace {

using config::TenantRole;
using testing::BaseYaml;
using testing::LoadTestConfig;
using testing::Session;

#if PGTENANT_COUNT_ALLOCATIONS
std::vector<std::string> PgbenchSelects(int count) {
  std::vector<std::string> statements;
  for (int i = 0; i < count; ++i)
    statements.push_back("SELECT abalance FROM pgbench_accounts WHERE aid = " + std::to_string(100000 + i * 7) + ";");
  return statements;
}

TEST_CASE("a memo hit hands out the remembered verdict itself and allocates nothing", "[policy][memo]") {
  auto config = LoadTestConfig(BaseYaml());
  PolicyEngine engine;
  VerdictMemo memo;
  const SessionPolicy member = Session(*config, "acme", TenantRole::kMember, true);
  const SessionPolicy viewer = Session(*config, "acme", TenantRole::kViewer, true);
  const std::vector<std::string> selects = PgbenchSelects(100);
  const std::string insert = "INSERT INTO projects (name) VALUES ('x')";
  const SharedVerdict first = engine.Inspect(memo, member, selects[0], StatementSource::kSimpleQuery);
  const SharedVerdict blocked = engine.Inspect(memo, viewer, insert, StatementSource::kParse);
  REQUIRE(first->allowed);
  REQUIRE(blocked->rule_id == "readonly.write");
  const uint64_t memo_hits_before = engine.cache_stats().memo_hits;

  const uint64_t allocations_before = pgtenant::testing::AllocationCount();
  bool all_same = true;
  for (const std::string& sql : selects) {
    all_same = all_same && engine.Inspect(memo, member, sql, StatementSource::kSimpleQuery) == first;
    all_same = all_same && engine.Inspect(memo, viewer, insert, StatementSource::kParse) == blocked;
  }
  const uint64_t allocated = pgtenant::testing::AllocationCount() - allocations_before;

  CHECK(all_same);
  CHECK(allocated == 0);
  CHECK(engine.cache_stats().memo_hits - memo_hits_before == 200);
}

TEST_CASE("FunctionCall verdicts allocate nothing", "[policy][memo]") {
  auto config = LoadTestConfig(BaseYaml());
  auto relaxed = LoadTestConfig(BaseYaml("policy: { rules: { protocol.function_call: off } }\n"));
  PolicyEngine engine;
  const SessionPolicy strict_admin = Session(*config, "acme", TenantRole::kAdmin);
  const SessionPolicy relaxed_admin = Session(*relaxed, "acme", TenantRole::kAdmin);
  (void)engine.InspectFunctionCall(strict_admin);
  (void)engine.InspectFunctionCall(relaxed_admin);
  const uint64_t allocations_before = pgtenant::testing::AllocationCount();
  const bool blocked = !engine.InspectFunctionCall(strict_admin)->allowed;
  const bool allowed = engine.InspectFunctionCall(relaxed_admin)->allowed;
  const uint64_t allocated = pgtenant::testing::AllocationCount() - allocations_before;
  CHECK(blocked);
  CHECK(allowed);
  CHECK(allocated == 0);
}
#endif  // PGTENANT_COUNT_ALLOCATIONS

TEST_CASE("a verdict handed out outlives its cache entry, its memo slot and ClearCache", "[policy][memo]") {
  auto config = LoadTestConfig(BaseYaml());
  PolicyEngine engine(16 * 1024);
  const SessionPolicy viewer = Session(*config, "acme", TenantRole::kViewer);
  SharedVerdict kept;
  {
    VerdictMemo memo;
    kept = engine.Inspect(memo, viewer, "INSERT INTO projects (name) VALUES ('kept')", StatementSource::kParse);
    // Enough other statements to evict it from the cache and from its memo set.
    for (int i = 0; i < 400; ++i)
      (void)engine.Inspect(memo, viewer, "SELECT * FROM projects WHERE name = 'p" + std::to_string(i) + "'",
                           StatementSource::kSimpleQuery);
    engine.ClearCache();
  }
  CHECK(engine.cache_stats().entries == 0);
  CHECK_FALSE(kept->allowed);
  CHECK(kept->rule_id == "readonly.write");
  CHECK_FALSE(kept->fingerprint.empty());
}

TEST_CASE("a session that moves to another loop gets the same verdict from the shared cache", "[policy][memo]") {
  auto config = LoadTestConfig(BaseYaml());
  PolicyEngine engine;
  VerdictMemo first_loop;
  VerdictMemo second_loop;
  const SessionPolicy member = Session(*config, "acme", TenantRole::kMember, true);
  const std::string sql = "UPDATE projects SET name = 'y' WHERE id = 7";
  const SharedVerdict before_move = engine.Inspect(first_loop, member, sql, StatementSource::kSimpleQuery);
  const PolicyEngine::CacheStats before = engine.cache_stats();
  const SharedVerdict after_move = engine.Inspect(second_loop, member, sql, StatementSource::kSimpleQuery);
  const PolicyEngine::CacheStats after = engine.cache_stats();
  CHECK(after.hits - before.hits == 1);            // answered by the shared cache,
  CHECK(after.memo_hits - before.memo_hits == 0);  // not by a memo
  CHECK(after_move->rule_id == before_move->rule_id);
  CHECK(after_move->fingerprint == before_move->fingerprint);
  CHECK(after_move != before_move);  // each loop hands out its own copy: no reference count written by two loops
  CHECK(engine.Inspect(second_loop, member, sql, StatementSource::kSimpleQuery) == after_move);
  CHECK(engine.cache_stats().memo_hits - after.memo_hits == 1);  // from now on the second loop's memo answers
}

}  // namespace
}  // namespace pgtenant::policy
