// Per-tenant and per-backend limits: max_clients, a backend's max_connections shared fairly by its
// tenants, and a transaction rate that throttles instead of failing (issue 3, item 4).
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/poll.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/tenant_world.h"

namespace pgtenant::integration {
namespace {

using Clock = std::chrono::steady_clock;

TEST_CASE("a tenant over its max_clients is refused with 53300 naming it; other tenants are not",
          "[tenants][limits]") {
  TenantWorld world = TenantWorld::Create();
  ProxyConfig config = world.Config();
  config.tenants["acme"].extra = "max_clients: 2";
  ProxyProcess proxy(config);

  PgConn first = MustConnectAs(proxy, "bob.acme");
  PgConn second = MustConnectAs(proxy, "alice.acme");
  for (int attempt = 0; attempt < 3; ++attempt) {
    PgConn third = ConnectAs(proxy, "bob.acme");
    REQUIRE(PQstatus(third.get()) == CONNECTION_BAD);
    const std::string message = PQerrorMessage(third.get());
    INFO(message);
    CHECK(StartupSqlstate(third.get()) == "53300");
    CHECK_THAT(PrimaryMessageOf(message), Catch::Contains("\"acme\""));
    CHECK_THAT(message, Catch::Contains("FATAL"));
  }
  // Other tenants (and alice's other tenant) are not counted against acme.
  PgConn umbrella = MustConnectAs(proxy, "uma.umbrella");
  PgConn globex = MustConnectAs(proxy, "alice.globex");
  CHECK(QueryValue(umbrella.get(), "SELECT 1") == "1");
  CHECK(QueryValue(first.get(), "SELECT current_setting('app.current_organization_id')") == kAcmeId);

  // A slot frees when a client leaves; refused attempts did not use any up.
  first.reset();
  PgConn again;
  PollUntil([&] { return PQstatus((again = ConnectAs(proxy, "bob.acme")).get()) == CONNECTION_OK; },
            std::chrono::seconds(5), std::chrono::milliseconds(50));
  REQUIRE(PQstatus(again.get()) == CONNECTION_OK);
  CHECK(QueryValue(again.get(), "SELECT count(*) FROM projects") == "3");
  PgConn over = ConnectAs(proxy, "alice.acme");
  CHECK(StartupSqlstate(over.get()) == "53300");
}

TEST_CASE("a backend's max_connections is shared fairly: a busy tenant cannot starve another",
          "[tenants][limits]") {
  PostgresServer& server = PostgresServer::Shared();
  TenantWorld world = TenantWorld::Create();
  ProxyConfig config = world.Config();
  config.backends["app"].extra = "max_connections: 2";
  config.pool_mode = "transaction";
  config.pool_size = 5;  // larger than the backend's cap: the cap is what binds
  config.pool_wait_timeout = "3s";
  ProxyProcess proxy(config);

  // The superuser watches how many server connections pgtenant holds to the backend.
  PgConn watcher = Connect(server.ConnString("postgres", server.superuser_password(), "postgres"));
  REQUIRE(PQstatus(watcher.get()) == CONNECTION_OK);
  const std::string count_sql =
      "SELECT count(*) FROM pg_stat_activity WHERE usename = '" + world.shared.role + "'";

  std::atomic<int> busy_done{0};
  std::mutex mu;
  std::vector<std::string> busy_failures;  // GUARDED_BY(mu)
  std::vector<std::jthread> busy;          // stopped and joined however the test ends
  for (int i = 0; i < 10; ++i) {
    busy.emplace_back([&](std::stop_token stop) {
      try {
        PgConn conn = Connect(proxy.ConnString("bob.acme", TenantWorld::PasswordOf("bob"), "app"));
        if (PQstatus(conn.get()) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(conn.get()));
        while (!stop.stop_requested()) {
          MustExec(conn.get(), "SELECT pg_sleep(0.02)");
          ++busy_done;
        }
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mu);
        busy_failures.push_back(e.what());
      }
    });
  }
  // Let acme's ten clients fill the backend's two connections.
  PollUntil([&] { return busy_done >= 20; }, std::chrono::seconds(5), std::chrono::milliseconds(10));

  int max_server_connections = 0;
  std::vector<double> latencies_ms;
  std::vector<std::string> quiet_failures;
  {
    PgConn quiet = MustConnectAs(proxy, "uma.umbrella");
    for (int q = 0; q < 30; ++q) {
      const auto started = Clock::now();
      auto results = ExecWithTimeout(quiet.get(), "SELECT current_setting('app.current_organization_id')",
                                     std::chrono::seconds(10));
      latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - started).count());
      if (!results || results->empty() || PQresultStatus(results->back().get()) != PGRES_TUPLES_OK) {
        quiet_failures.push_back(results && !results->empty() ? PQresultErrorMessage(results->back().get())
                                                              : std::string("no answer"));
      } else if (std::string(PQgetvalue(results->back().get(), 0, 0)) != kTenantWorldUmbrellaId) {
        quiet_failures.push_back("wrong tenant context");
      }
      max_server_connections = std::max(max_server_connections, std::stoi(QueryValue(watcher.get(), count_sql)));
    }
  }
  const int busy_before_stop = busy_done;
  busy.clear();  // request_stop + join

  INFO((quiet_failures.empty() ? std::string() : quiet_failures.front()));
  CHECK(quiet_failures.empty());
  const double slowest = *std::max_element(latencies_ms.begin(), latencies_ms.end());
  INFO("umbrella's slowest query: " << slowest << " ms");
  CHECK(slowest < 1500.0);
  CHECK(max_server_connections <= 2);
  INFO((busy_failures.empty() ? std::string() : busy_failures.front()));
  CHECK(busy_failures.empty());
  CHECK(busy_before_stop > 20);  // acme kept working too
}

TEST_CASE("max_transactions_per_second throttles a tenant's transactions instead of failing them",
          "[tenants][limits]") {
  TenantWorld world = TenantWorld::Create();
  ProxyConfig config = world.Config();
  config.pool_mode = "transaction";
  config.tenants["acme"].extra = "max_transactions_per_second: 50";
  ProxyProcess proxy(config);

  PgConn acme = MustConnectAs(proxy, "bob.acme");
  PgConn umbrella = MustConnectAs(proxy, "uma.umbrella");

  // The unthrottled tenant first, as the yardstick.
  auto run = [](PGconn* conn, int count) {
    int failed = 0;
    const auto started = Clock::now();
    for (int i = 0; i < count; ++i) {
      PgResult result = Exec(conn, i % 5 == 4 ? "BEGIN; SELECT 1; COMMIT" : "SELECT 1");
      if (PQresultStatus(result.get()) != PGRES_TUPLES_OK && PQresultStatus(result.get()) != PGRES_COMMAND_OK) ++failed;
    }
    return std::make_pair(failed, std::chrono::duration<double>(Clock::now() - started).count());
  };
  auto [free_failed, free_seconds] = run(umbrella.get(), 100);
  CHECK(free_failed == 0);
  CHECK(free_seconds < 1.0);

  auto [throttled_failed, throttled_seconds] = run(acme.get(), 100);
  INFO("100 transactions at 50/s took " << throttled_seconds << " s");
  CHECK(throttled_failed == 0);
  CHECK(throttled_seconds >= 1.5);
  CHECK(throttled_seconds < 5.0);
  CHECK(QueryValue(acme.get(), "SELECT current_setting('app.current_organization_id')") == kAcmeId);
}

}  // namespace
}  // namespace pgtenant::integration
