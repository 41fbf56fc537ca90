// The verdict cache: hits after a miss, bounded bytes, per-policy-class verdicts, and threads.
#include <catch2/catch.hpp>
#include <array>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "policy/verdict_cache.h"
#include "tests/policy/policy_fixture.h"

namespace pgtenant::policy {
namespace {

using config::TenantRole;
using testing::BaseYaml;
using testing::LoadTestConfig;
using testing::Session;

TEST_CASE("a repeated statement is a cache hit with the same verdict", "[policy][cache]") {
  auto config = LoadTestConfig(BaseYaml());
  PolicyEngine engine;
  VerdictMemo memo;
  const SessionPolicy member = Session(*config, "acme", TenantRole::kMember, true);
  const PolicyVerdict first = *engine.Inspect(memo, member, "SELECT * FROM projects WHERE id = $1", StatementSource::kParse);
  CHECK(engine.cache_stats().misses == 1);
  CHECK(engine.cache_stats().hits == 0);
  CHECK(engine.cache_stats().entries == 1);
  const PolicyVerdict second = *engine.Inspect(memo, member, "SELECT * FROM projects WHERE id = $1", StatementSource::kParse);
  CHECK(engine.cache_stats().hits == 1);
  CHECK(second.allowed == first.allowed);
  CHECK(second.fingerprint == first.fingerprint);
  CHECK(second.normalized == first.normalized);

  const PolicyVerdict blocked = *engine.Inspect(memo, member, "SET ROLE postgres", StatementSource::kSimpleQuery);
  const PolicyVerdict blocked_again = *engine.Inspect(memo, member, "SET ROLE postgres", StatementSource::kSimpleQuery);
  CHECK(blocked_again.rule_id == blocked.rule_id);
  CHECK(blocked_again.reason == blocked.reason);
  CHECK(engine.cache_stats().hits == 2);
  CHECK(engine.cache_stats().bytes > 0);
}

TEST_CASE("unparseable text is not cached", "[policy][cache]") {
  auto config = LoadTestConfig(BaseYaml());
  PolicyEngine engine;
  VerdictMemo memo;
  const SessionPolicy member = Session(*config, "acme", TenantRole::kMember);
  CHECK(engine.Inspect(memo, member, "SELEC 1", StatementSource::kSimpleQuery)->rule_id == "parse.error");
  CHECK(engine.Inspect(memo, member, "SELEC 1", StatementSource::kSimpleQuery)->rule_id == "parse.error");
  CHECK(engine.cache_stats().entries == 0);
  CHECK(engine.cache_stats().hits == 0);
}

TEST_CASE("verdicts are not shared across roles, tenants or pooling modes", "[policy][cache]") {
  auto config = LoadTestConfig(BaseYaml());
  PolicyEngine engine;
  VerdictMemo memo;
  const std::string insert = "INSERT INTO projects (name) VALUES ('x')";
  CHECK(engine.Inspect(memo, Session(*config, "acme", TenantRole::kAdmin), insert, StatementSource::kParse)->allowed);
  const PolicyVerdict viewer =
      *engine.Inspect(memo, Session(*config, "acme", TenantRole::kViewer), insert, StatementSource::kParse);
  CHECK(viewer.rule_id == "readonly.write");
  CHECK(engine.Inspect(memo, Session(*config, "acme", TenantRole::kAdmin), insert, StatementSource::kParse)->allowed);

  const std::string globex = "SELECT * FROM org_globex.projects";
  CHECK(engine.Inspect(memo, Session(*config, "globex", TenantRole::kMember), globex, StatementSource::kParse)->allowed);
  CHECK(engine.Inspect(memo, Session(*config, "acme", TenantRole::kMember), globex, StatementSource::kParse)->rule_id ==
        "cross_tenant.schema");

  const std::string set = "SET work_mem = 1000";
  CHECK(engine.Inspect(memo, Session(*config, "acme", TenantRole::kMember, false), set, StatementSource::kParse)->allowed);
  CHECK(engine.Inspect(memo, Session(*config, "acme", TenantRole::kMember, true), set, StatementSource::kParse)->rule_id ==
        "pooling.session_state");

  // Another config snapshot with other rules is another class, too.
  auto relaxed = LoadTestConfig(BaseYaml("policy: { roles: { viewer: { rules: { readonly.write: off } } } }\n"));
  CHECK(engine.Inspect(memo, Session(*relaxed, "acme", TenantRole::kViewer), insert, StatementSource::kParse)->allowed);
}

TEST_CASE("the cache stays within its byte budget", "[policy][cache]") {
  auto config = LoadTestConfig(BaseYaml());
  constexpr size_t kCapacity = 16 * 1024;
  PolicyEngine engine(kCapacity);
  VerdictMemo memo;
  const SessionPolicy member = Session(*config, "acme", TenantRole::kMember);
  for (int i = 0; i < 500; ++i) {
    (void)engine.Inspect(memo, member, "SELECT * FROM projects WHERE name = 'p" + std::to_string(i) + "'",
                         StatementSource::kSimpleQuery);
    CHECK(engine.cache_stats().bytes <= kCapacity);
  }
  const PolicyEngine::CacheStats stats = engine.cache_stats();
  CHECK(stats.entries > 10);
  CHECK(stats.entries < 500);
  CHECK(stats.misses == 500);
  // The most recent entry is still there; the first was evicted. Asked with an empty memo, so that the
  // shared cache answers (`memo` may still remember either).
  VerdictMemo empty;
  (void)engine.Inspect(empty, member, "SELECT * FROM projects WHERE name = 'p499'", StatementSource::kSimpleQuery);
  CHECK(engine.cache_stats().hits == 1);
  VerdictMemo empty_too;
  (void)engine.Inspect(empty_too, member, "SELECT * FROM projects WHERE name = 'p0'", StatementSource::kSimpleQuery);
  CHECK(engine.cache_stats().misses == 501);

  engine.ClearCache();
  CHECK(engine.cache_stats().entries == 0);
  CHECK(engine.cache_stats().bytes == 0);
}

TEST_CASE("VerdictCache evicts the least recently used entry", "[policy][cache]") {
  const SharedVerdict verdict = std::make_shared<const PolicyVerdict>();
  size_t entry_bytes = 0;
  {
    VerdictCache probe(1 << 20);
    probe.Insert("c", "a", verdict);
    entry_bytes = probe.stats().bytes;
  }
  const size_t capacity = entry_bytes * 3 + entry_bytes / 2;  // three one-letter entries fit, four do not
  VerdictCache cache(capacity);
  cache.Insert("c", "a", verdict);
  cache.Insert("c", "b", verdict);
  cache.Insert("c", "c", verdict);
  CHECK(cache.Lookup("c", "a") != nullptr);  // a is now more recent than b
  cache.Insert("c", "d", verdict);
  CHECK(cache.Lookup("c", "a") != nullptr);
  CHECK_FALSE(cache.Lookup("c", "b") != nullptr);
  CHECK(cache.Lookup("c", "c") != nullptr);
  CHECK(cache.Lookup("c", "d") != nullptr);
  CHECK_FALSE(cache.Lookup("other", "a") != nullptr);
  CHECK(cache.stats().entries == 3);
  cache.Insert("c", std::string(capacity, 'z'), verdict);  // larger than the whole cache: not stored
  CHECK(cache.stats().entries == 3);
  CHECK(cache.stats().bytes <= capacity);
}

TEST_CASE("several threads inspecting at once get consistent verdicts", "[policy][threads]") {
  auto config = LoadTestConfig(BaseYaml());
  PolicyEngine engine(64 * 1024);
  const SessionPolicy member = Session(*config, "acme", TenantRole::kMember, true);
  const SessionPolicy viewer = Session(*config, "acme", TenantRole::kViewer, false);
  struct Probe {
    const SessionPolicy* session;
    std::string sql;
    std::string expected;
  };
  const std::vector<Probe> probes = {
      {&member, "SELECT * FROM projects WHERE id = $1", ""},
      {&member, "SELECT set_config('a.b', 'c', false)", "context.set_config"},
      {&member, "SET work_mem = 5", "pooling.session_state"},
      {&viewer, "UPDATE projects SET name = $1", "readonly.write"},
      {&viewer, "SELECT * FROM org_globex.projects", "cross_tenant.schema"},
      {&member, "SELEC 1", "parse.error"},
      {&member, "WITH x AS (SELECT 1) SELECT * FROM x", ""},
  };
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t]() {
      VerdictMemo memo;  // one per thread, as each worker loop has its own
      for (int i = 0; i < 300; ++i) {
        const Probe& probe = probes[static_cast<size_t>(i + t) % probes.size()];
        // Some distinct texts too, so threads insert and evict while others read.
        const std::string sql = i % 5 == 0 ? probe.sql + " -- " + std::to_string(t * 1000 + i) : probe.sql;
        const PolicyVerdict verdict = *engine.Inspect(memo, *probe.session, sql, StatementSource::kSimpleQuery);
        const bool ok = probe.expected.empty() ? verdict.allowed : verdict.rule_id == probe.expected;
        if (!ok) ++wrong;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(wrong == 0);
  const PolicyEngine::CacheStats stats = engine.cache_stats();
  CHECK(stats.hits > 0);
  CHECK(stats.bytes <= 64 * 1024);
}

TEST_CASE("statements that differ only in numeric literals share one cache entry", "[policy][cache]") {
  auto config = LoadTestConfig(BaseYaml());
  PolicyEngine engine;
  VerdictMemo memo;
  const SessionPolicy member = Session(*config, "acme", TenantRole::kMember);
  for (int i = 0; i < 100; ++i) {
    CHECK(engine.Inspect(memo, member, "SELECT abalance FROM pgbench_accounts WHERE aid = " + std::to_string(i * 7919),
                         StatementSource::kSimpleQuery)
              ->allowed);
  }
  CHECK(engine.cache_stats().misses == 1);
  CHECK(engine.cache_stats().hits == 99);
  CHECK(engine.cache_stats().entries == 1);
  // A string literal is part of the key: another tenant's schema in one is judged on its own.
  CHECK(engine.Inspect(memo, member, "SELECT 'public.projects'::regclass", StatementSource::kSimpleQuery)->allowed);
  CHECK_FALSE(engine.Inspect(memo, member, "SELECT 'org_globex.projects'::regclass", StatementSource::kSimpleQuery)->allowed);
}

TEST_CASE("a loop's memo remembers the statements its sessions repeat, for several tenants at once",
          "[policy][cache]") {
  // pgbench's TPC-B-like transaction for sessions of several tenants and roles: 5 session policies x 4
  // statements. Once each has been judged, every repetition is answered by the memo (a memo that
  // evicted one of them for another would send it to the shared cache again).
  auto config = LoadTestConfig(BaseYaml());
  PolicyEngine engine;
  VerdictMemo memo;
  const SessionPolicy sessions[] = {Session(*config, "acme", TenantRole::kMember, true),
                                    Session(*config, "acme", TenantRole::kAdmin, true),
                                    Session(*config, "globex", TenantRole::kMember, true),
                                    Session(*config, "initech", TenantRole::kMember, true),
                                    Session(*config, "initech", TenantRole::kMember, false)};
  auto statements = [](int value) {
    const std::string v = std::to_string(value);
    return std::array<std::string, 4>{"BEGIN;", "UPDATE projects SET name = 'x' WHERE id = " + v + ";",
                                      "SELECT name FROM projects WHERE id = " + v + ";", "END;"};
  };
  for (const SessionPolicy& session : sessions)
    for (const std::string& sql : statements(0))
      REQUIRE(engine.Inspect(memo, session, sql, StatementSource::kSimpleQuery)->allowed);
  REQUIRE(engine.cache_stats().misses == 20);
  const uint64_t memo_hits_before = engine.cache_stats().memo_hits;
  constexpr int kRounds = 50;
  for (int round = 1; round <= kRounds; ++round)
    for (const SessionPolicy& session : sessions)
      for (const std::string& sql : statements(round * 7919))  // other values, the same statements
        CHECK(engine.Inspect(memo, session, sql, StatementSource::kSimpleQuery)->allowed);
  CHECK(engine.cache_stats().misses == 20);
  CHECK(engine.cache_stats().memo_hits - memo_hits_before == kRounds * 20);
}

TEST_CASE("ClearCache also forgets what a memo remembered; engines sharing a memo do not share verdicts",
          "[policy][cache]") {
  auto strict = LoadTestConfig(BaseYaml());
  auto relaxed = LoadTestConfig(BaseYaml("policy: { roles: { viewer: { rules: { readonly.write: off } } } }\n"));
  const std::string insert = "INSERT INTO projects (name) VALUES ('x')";
  PolicyEngine engine;
  VerdictMemo memo;
  const SessionPolicy viewer = Session(*strict, "acme", TenantRole::kViewer);
  CHECK(engine.Inspect(memo, viewer, insert, StatementSource::kParse)->rule_id == "readonly.write");
  CHECK(engine.Inspect(memo, viewer, insert, StatementSource::kParse)->rule_id == "readonly.write");
  CHECK(engine.cache_stats().misses == 1);
  engine.ClearCache();
  CHECK(engine.Inspect(memo, viewer, insert, StatementSource::kParse)->rule_id == "readonly.write");
  CHECK(engine.cache_stats().misses == 2);  // judged again, not answered from the memo

  // A second engine asked with the same memo about the same session policy judges for itself.
  PolicyEngine other;
  CHECK(other.Inspect(memo, viewer, insert, StatementSource::kParse)->rule_id == "readonly.write");
  CHECK(other.cache_stats().misses == 1);
  CHECK(other.cache_stats().hits == 0);
  CHECK(engine.Inspect(memo, Session(*relaxed, "acme", TenantRole::kViewer), insert, StatementSource::kParse)->allowed);
}

}  // namespace
}  // namespace pgtenant::policy
