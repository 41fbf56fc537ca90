// Micro-benchmark: the policy verdict (PolicyEngine::Inspect) for typical statements with the verdict
// cache cold and warm, and the cache key (FoldNumericLiterals) alone.
#include <benchmark/benchmark.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "policy/cache_key.h"
#include "policy/policy_engine.h"

namespace pgtenant::policy {
namespace {

// Four RLS tenants on one backend, transaction pooling: the bench/run setup.
const config::Config& BenchConfig() {
  static const std::shared_ptr<const config::Config> config = [] {
    const std::string yaml =
        "auth: { method: trust }\n"
        "pool: { mode: transaction, size: 5 }\n"
        "backends:\n"
        "  shared: { host: 127.0.0.1, database: bench, user: bench }\n"
        "tenants:\n"
        "  t1: { id: 00000000-0000-4000-8000-000000000001, isolation: rls, backend: shared }\n"
        "  t2: { id: 00000000-0000-4000-8000-000000000002, isolation: rls, backend: shared }\n"
        "  t3: { id: 00000000-0000-4000-8000-000000000003, isolation: rls, backend: shared }\n"
        "  t4: { id: 00000000-0000-4000-8000-000000000004, isolation: rls, backend: shared }\n"
        "users:\n"
        "  bench: { tenants: { t1: member, t2: member, t3: member, t4: member } }\n";
    auto result = config::LoadConfigString(yaml, "bench.yaml", [](std::string_view) { return std::nullopt; });
    if (!result.ok()) {
      std::fprintf(stderr, "policy_bench: config: %s\n", std::string(result.status().message()).c_str());
      std::abort();
    }
    return *result;
  }();
  return *config;
}

SessionPolicy BenchSession() {
  SessionPolicy session;
  session.config = &BenchConfig();
  session.tenant = session.config->FindTenant("t1");
  session.role = config::TenantRole::kMember;
  session.transaction_pooling = true;
  return session;
}

// pgbench -S, simple protocol (the literal changes every transaction).
std::string PgbenchSelect(int aid) {
  return "SELECT abalance FROM pgbench_accounts WHERE aid = " + std::to_string(aid) + ";";
}
// pgbench TPC-B's heaviest statement.
std::string PgbenchUpdate(int aid) {
  return "UPDATE pgbench_accounts SET abalance = abalance + " + std::to_string(aid % 5000 - 2500) +
         " WHERE aid = " + std::to_string(aid) + ";";
}
// What an ORM sends with the extended protocol.
constexpr std::string_view kOrmJoin =
    "SELECT \"projects\".\"id\", \"projects\".\"name\", \"projects\".\"created_at\", \"users\".\"id\" AS "
    "\"owner_id\", \"users\".\"email\" FROM \"projects\" INNER JOIN \"users\" ON \"users\".\"id\" = "
    "\"projects\".\"owner_id\" LEFT OUTER JOIN \"memberships\" ON \"memberships\".\"project_id\" = "
    "\"projects\".\"id\" WHERE \"projects\".\"archived\" = $1 AND \"memberships\".\"user_id\" = $2 ORDER BY "
    "\"projects\".\"created_at\" DESC LIMIT $3 OFFSET $4";
constexpr std::string_view kCte =
    "WITH recent AS (SELECT tid, bid, sum(delta) AS total FROM pgbench_history WHERE mtime > now() - interval "
    "'1 hour' GROUP BY tid, bid), ranked AS (SELECT r.*, rank() OVER (PARTITION BY bid ORDER BY total DESC) AS "
    "rk FROM recent r) SELECT b.bid, b.bbalance, ranked.tid, ranked.total FROM pgbench_branches b JOIN ranked "
    "ON ranked.bid = b.bid WHERE ranked.rk <= 3 ORDER BY b.bid, ranked.rk";

std::string Statement(int kind, int i) {
  switch (kind) {
    case 0: return PgbenchSelect(1 + i % 1000000);
    case 1: return PgbenchUpdate(1 + i % 1000000);
    case 2: return std::string(kOrmJoin);
    default: return std::string(kCte);
  }
}
const char* kKindNames[] = {"pgbench_select", "pgbench_update", "orm_join", "cte"};

void BM_Inspect_Cold(benchmark::State& state) {
  const int kind = static_cast<int>(state.range(0));
  state.SetLabel(kKindNames[kind]);
  PolicyEngine engine;
  VerdictMemo memo;
  const SessionPolicy session = BenchSession();
  int i = 0;
  for (auto _ : state) {
    state.PauseTiming();
    engine.ClearCache();
    const std::string sql = Statement(kind, i++);
    state.ResumeTiming();
    const SharedVerdict verdict = engine.Inspect(memo, session, sql, StatementSource::kSimpleQuery);
    benchmark::DoNotOptimize(verdict->allowed);
  }
}
BENCHMARK(BM_Inspect_Cold)->DenseRange(0, 3);

// Warm: the literal changes each time (as under pgbench), the folded key hits.
void BM_Inspect_Warm(benchmark::State& state) {
  const int kind = static_cast<int>(state.range(0));
  state.SetLabel(kKindNames[kind]);
  PolicyEngine engine;
  VerdictMemo memo;
  const SessionPolicy session = BenchSession();
  std::string statements[64];
  for (int j = 0; j < 64; ++j) statements[j] = Statement(kind, j * 7919);
  (void)engine.Inspect(memo, session, statements[0], StatementSource::kSimpleQuery);
  int i = 0;
  for (auto _ : state) {
    const SharedVerdict verdict = engine.Inspect(memo, session, statements[i++ & 63], StatementSource::kSimpleQuery);
    benchmark::DoNotOptimize(verdict->allowed);
  }
  const PolicyEngine::CacheStats stats = engine.cache_stats();
  state.counters["hit_ratio"] = double(stats.hits) / double(stats.hits + stats.misses);
}
BENCHMARK(BM_Inspect_Warm)->DenseRange(0, 3);

// pgbench's TPC-B-like script as a worker sees it: seven statements per transaction, transactions of
// four tenants interleaved, values changing.
struct TpcbWorkload {
  SessionPolicy sessions[4];
  std::vector<std::array<std::string, 7>> transactions;
};

const TpcbWorkload& Tpcb() {
  static const TpcbWorkload workload = [] {
    TpcbWorkload w;
    for (int t = 0; t < 4; ++t) {
      w.sessions[t] = BenchSession();
      w.sessions[t].tenant = BenchConfig().FindTenant("t" + std::to_string(t + 1));
    }
    auto transaction = [](int i) {
      const std::string aid = std::to_string(1 + i % 1000000), tid = std::to_string(1 + i % 100),
                        bid = std::to_string(1 + i % 10), delta = std::to_string(i % 10001 - 5000);
      return std::array<std::string, 7>{
          "BEGIN;",
          "UPDATE pgbench_accounts SET abalance = abalance + " + delta + " WHERE aid = " + aid + ";",
          "SELECT abalance FROM pgbench_accounts WHERE aid = " + aid + ";",
          "UPDATE pgbench_tellers SET tbalance = tbalance + " + delta + " WHERE tid = " + tid + ";",
          "UPDATE pgbench_branches SET bbalance = bbalance + " + delta + " WHERE bid = " + bid + ";",
          "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (" + tid + ", " + bid + ", " + aid +
              ", " + delta + ", CURRENT_TIMESTAMP);",
          "END;"};
    };
    for (int i = 0; i < 256; ++i) w.transactions.push_back(transaction(i * 7919));
    return w;
  }();
  return workload;
}

// One loop's share of the script, with a memo of its own, against `engine`.
void RunTpcb(benchmark::State& state, PolicyEngine& engine) {
  const TpcbWorkload& w = Tpcb();
  VerdictMemo memo;
  size_t i = 0;
  for (auto _ : state) {
    const std::array<std::string, 7>& statements = w.transactions[i % w.transactions.size()];
    const SessionPolicy& session = w.sessions[i % 4];
    for (const std::string& sql : statements) {
      const SharedVerdict verdict = engine.Inspect(memo, session, sql, StatementSource::kSimpleQuery);
      benchmark::DoNotOptimize(verdict->allowed);
    }
    ++i;
  }
  state.counters["statements"] = benchmark::Counter(double(state.iterations()) * 7, benchmark::Counter::kIsRate);
}

// Every statement should come from the loop's memo (memo_ratio 1): a memo whose entries evicted each
// other sent a quarter of them to the shared cache.
void BM_Inspect_WarmTpcbFourTenants(benchmark::State& state) {
  PolicyEngine engine;
  RunTpcb(state, engine);
  const PolicyEngine::CacheStats stats = engine.cache_stats();
  state.counters["memo_ratio"] = double(stats.memo_hits) / double(stats.hits + stats.misses);
}
BENCHMARK(BM_Inspect_WarmTpcbFourTenants);

// Two worker loops on two cores, one engine, the same statements: what handing out verdicts costs when
// both loops hand out the same ones (a counter or reference count written by both moves its cache line
// between the cores on every statement).
void BM_Inspect_WarmTpcbTwoLoops(benchmark::State& state) {
  static PolicyEngine engine;
  RunTpcb(state, engine);
}
BENCHMARK(BM_Inspect_WarmTpcbTwoLoops)->Threads(2);

void BM_FoldNumericLiterals(benchmark::State& state) {
  const int kind = static_cast<int>(state.range(0));
  state.SetLabel(kKindNames[kind]);
  const std::string sql = Statement(kind, 123456);
  for (auto _ : state) {
    std::string key = FoldNumericLiterals(sql);
    benchmark::DoNotOptimize(key.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(sql.size()));
}
BENCHMARK(BM_FoldNumericLiterals)->DenseRange(0, 3);

}  // namespace
}  // namespace pgtenant::policy

BENCHMARK_MAIN();
