// Shared RLS pools serve waiting tenants fairly (issue 26, item 1): with one tenant flooding the
// shared pool, another tenant's transactions wait for about one turn, not behind the whole flood.
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/poll.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/tenant_world.h"

namespace pgtenant::integration {
namespace {

using Micros = std::chrono::microseconds;
using SteadyClock = std::chrono::steady_clock;

constexpr int kPoolSize = 8;
constexpr int kFloodClients = 32;
constexpr auto kFloodQuery = std::chrono::milliseconds(20);  // pg_sleep(0.02)

// Mean latency in ms of `count` runs of `sql` on `conn`, one after the other.
double MeanLatencyMs(PGconn* conn, const std::string& sql, int count) {
  const auto start = SteadyClock::now();
  for (int i = 0; i < count; ++i) MustExec(conn, sql);
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count() / count;
}

// kFloodClients connections of one tenant, each running pg_sleep(0.02) back to back until Stop.
class Flood {
 public:
  explicit Flood(std::vector<PgConn> conns) : conns_(std::move(conns)) {
    for (PgConn& conn : conns_) threads_.emplace_back([this, c = conn.get()] { Run(c); });
  }
  ~Flood() { Stop(); }
  void Stop() {
    stop_ = true;
    for (std::thread& t : threads_)
      if (t.joinable()) t.join();
  }
  uint64_t done() const { return done_; }
  uint64_t busy_us() const { return busy_us_; }
  int errors() const { return errors_; }
  const std::string& first_error() const { return first_error_; }  // read after Stop

 private:
  void Run(PGconn* conn) {
    const std::string sql = "SELECT pg_sleep(" + std::to_string(kFloodQuery.count() / 1000.0) + ")";
    while (!stop_) {
      const auto start = SteadyClock::now();
      PgResult result = Exec(conn, sql);
      if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
        if (errors_++ == 0) first_error_ = ErrorMessage(result.get());
        return;
      }
      busy_us_ += std::chrono::duration_cast<Micros>(SteadyClock::now() - start).count();
      ++done_;
    }
  }

  std::vector<PgConn> conns_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> done_{0};
  std::atomic<uint64_t> busy_us_{0};
  std::atomic<int> errors_{0};
  std::string first_error_;
};

// Why these bounds hold on a loaded machine, where absolute latencies are noise:
// - The flood keeps all kPoolSize server connections busy: 32 clients of 20 ms queries need 32
//   connections, the pool has 8, so 24 flood clients always wait and each flood query takes about
//   32 / 8 x 20 ms = 80 ms end to end. The test checks this (flood mean >= 2 x 20 ms), else the
//   pool was not contended and the quiet tenant's figure would prove nothing.
// - With one FIFO of waiters the quiet tenant's query queues behind those 24 waiters exactly as a
//   flood query does: its mean latency would be the flood's (~80 ms, and more when the machine is
//   slow, since every term scales with it).
// - With the waiting tenants served in turn the quiet query waits for the next connection released
//   (one every 20 ms / 8 = 2.5 ms on average) and then runs: a few ms.
// So the test asserts the quiet tenant's mean stays below 2 x 20 ms (40 ms) and below half of the
// flood's own mean, which FIFO cannot meet whatever the machine's speed. Its latency alone is
// printed beside it: "within x2 of alone" (issue 26) cannot hold on a saturated shared pool, where
// even a perfectly fair queue makes the quiet tenant wait for one release (a reserved connection
// would be needed for that; per-tenant pools give it).
TEST_CASE("on a shared pool flooded by one tenant, another tenant waits about one turn, not behind the flood",
          "[tenants][shared_pool][fairness]") {
  TenantWorld world = TenantWorld::Create();
  ProxyConfig config = world.Config();
  config.backends["app"].extra = "shared_pool: true";
  config.pool_mode = "transaction";
  config.pool_size = kPoolSize;
  config.pool_wait_timeout = "30s";
  ProxyProcess proxy(config);

  PgConn quiet = MustConnectAs(proxy, "uma.umbrella");
  MustExec(quiet.get(), "SELECT 1");  // logged in, the pool warm
  const double alone_ms = MeanLatencyMs(quiet.get(), "SELECT 1", 200);

  std::vector<PgConn> flood_conns;
  for (int i = 0; i < kFloodClients; ++i) flood_conns.push_back(MustConnectAs(proxy, "bob.acme"));
  Flood flood(std::move(flood_conns));
  // Running at full tilt: every flood client has finished a few queries (so all of them queue).
  REQUIRE(PollUntil([&] { return flood.done() >= 4 * kFloodClients || flood.errors() > 0; }, std::chrono::seconds(60)));
  REQUIRE(flood.errors() == 0);

  const uint64_t done0 = flood.done(), busy0 = flood.busy_us();
  const double flooded_ms = MeanLatencyMs(quiet.get(), "SELECT 1", 100);
  const uint64_t done1 = flood.done(), busy1 = flood.busy_us();
  flood.Stop();
  INFO(flood.first_error());
  CHECK(flood.errors() == 0);
  REQUIRE(done1 > done0);
  const double flood_ms = static_cast<double>(busy1 - busy0) / 1000.0 / static_cast<double>(done1 - done0);

  std::cout << "fairness: quiet tenant SELECT 1 alone " << alone_ms << " ms, beside the flood " << flooded_ms
            << " ms (x" << flooded_ms / alone_ms << "); flood query " << flood_ms << " ms end to end\n";
  INFO("quiet alone " << alone_ms << " ms, beside the flood " << flooded_ms << " ms, flood " << flood_ms << " ms");
  const double query_ms = static_cast<double>(kFloodQuery.count());
  CHECK(flood_ms >= 2 * query_ms);   // the pool was contended: flood clients queued
  CHECK(flooded_ms < 2 * query_ms);  // the quiet tenant did not queue behind them
  CHECK(flooded_ms < flood_ms / 2);  // FIFO would make it equal to the flood's
  // The context of the quiet tenant stayed its own throughout.
  CHECK(QueryValue(quiet.get(), "SELECT current_setting('app.current_organization_id')") == kTenantWorldUmbrellaId);
}

}  // namespace
}  // namespace pgtenant::integration
