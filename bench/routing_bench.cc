// Micro-benchmark: context injection at login — SplitLoginName + ResolveRoute for `user.tenant`,
// which finds the tenant, checks membership and builds the server startup options
// (`-c app.current_organization_id=<uuid>`).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "routing/route.h"

namespace pgtenant::routing {
namespace {

std::shared_ptr<const config::Config> BenchConfig(int tenants) {
  std::string yaml =
      "auth: { method: trust }\n"
      "pool: { mode: transaction, size: 5 }\n"
      "backends:\n"
      "  shared: { host: 127.0.0.1, database: bench, user: bench }\n"
      "tenants:\n";
  std::string memberships;
  for (int i = 1; i <= tenants; ++i) {
    char id[64];
    std::snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012d", i);
    yaml += "  t" + std::to_string(i) + ": { id: " + id + ", isolation: rls, backend: shared }\n";
    memberships += std::string(i > 1 ? ", " : "") + "t" + std::to_string(i) + ": member";
  }
  yaml += "users:\n  bench: { tenants: { " + memberships + " } }\n";
  auto result = config::LoadConfigString(yaml, "bench.yaml", [](std::string_view) { return std::nullopt; });
  if (!result.ok()) {
    std::fprintf(stderr, "routing_bench: config: %s\n", std::string(result.status().message()).c_str());
    std::abort();
  }
  return *result;
}

void BM_ResolveRoute_UserSuffix(benchmark::State& state) {
  const int tenants = static_cast<int>(state.range(0));
  const auto config = BenchConfig(tenants);
  const std::string startup_user = "bench.t" + std::to_string(tenants);
  for (auto _ : state) {
    LoginName login = SplitLoginName(*config, startup_user);
    const config::UserConfig* user = config->FindUser(login.user);
    Result<Route> route = ResolveRoute(*config, *user, ClientIdentity{startup_user, "bench", "", ""});
    benchmark::DoNotOptimize(route.ok());
  }
}
BENCHMARK(BM_ResolveRoute_UserSuffix)->Arg(4)->Arg(1000);

}  // namespace
}  // namespace pgtenant::routing

BENCHMARK_MAIN();
