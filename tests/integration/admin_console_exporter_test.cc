// A tool written for PgBouncer reads pgtenant's console (issue 25 item 7): Debian 12's
// prometheus-pgbouncer-exporter (1.7, scripts/deps) connects to database "pgbouncer" as an admin,
// reads SHOW STATS, POOLS, DATABASES and LISTS by column name, and exports one series per tenant.
// Its 1.7 names the SHOW STATS series pgbouncer_requests_total, ..._query_microseconds_total (the
// later Go exporter's pgbouncer_stats_* and pgbouncer_pools_* are other names for the same columns).
#include <catch2/catch.hpp>
#include <libpq-fe.h>
#include <sys/stat.h>

#include <chrono>
#include <csignal>
#include <string>

#include "tests/integration/harness/free_port.h"
#include "tests/integration/harness/metrics_scrape.h"
#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/poll.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/temp_dir.h"

namespace pgtenant::integration {
namespace {

constexpr char kExporter[] = "/usr/bin/prometheus-pgbouncer-exporter";
constexpr char kOpsPassword[] = "ops-secret";
constexpr char kCarolPassword[] = "carol-secret";
constexpr char kBetaId[] = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

// The exporter, serving /metrics on a free port, reading pgtenant's console as admin "ops". Stopped
// (SIGTERM) when the test ends.
class Exporter {
 public:
  Exporter(const ProxyProcess& proxy, const TempDir& dir)
      : port_(FreePort()), log_(dir.path() + "/exporter.log") {
    pid_ = Spawn({.argv = {kExporter, "--host", "127.0.0.1", "--port", std::to_string(port_), "--pgbouncer-host",
                           "127.0.0.1", "--pgbouncer-port", std::to_string(proxy.port()), "--pgbouncer-user", "ops"},
                  // libpq (psycopg2) reads the password and the TLS choice from the environment.
                  .env = {{"PGPASSWORD", kOpsPassword}, {"PGSSLMODE", "disable"}, {"PGCONNECT_TIMEOUT", "10"}},
                  .output_path = log_});
  }
  ~Exporter() { Terminate(pid_, SIGTERM, std::chrono::seconds(5)); }
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  int port() const { return port_; }
  std::string log() const { return ReadFile(log_); }

 private:
  int port_;
  std::string log_;
  pid_t pid_ = -1;
};

void RunQueries(PGconn* conn, int n) {
  for (int i = 0; i < n; ++i) REQUIRE(QueryValue(conn, "SELECT " + std::to_string(i)) == std::to_string(i));
}

TEST_CASE("prometheus-pgbouncer-exporter reads pgtenant's console: pool and stats series for each tenant",
          "[admin][exporter]") {
  struct stat installed{};
  INFO("scripts/deps installs " << kExporter << " (Debian package prometheus-pgbouncer-exporter)");
  REQUIRE(stat(kExporter, &installed) == 0);

  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("exporter");
  ProxyConfig config = StandardConfig(db);
  config.users["ops"] = kOpsPassword;
  config.admins = {"ops"};
  // beta: a second tenant (rls) on a second backend to the same database, with a pool of its own.
  config.backends["app2"] = config.backends["app"];
  config.tenants["beta"] = TenantSpec{kBetaId, "rls", "app2", ""};
  config.users["carol"] = kCarolPassword;
  config.memberships["carol"]["beta"] = "member";
  ProxyProcess proxy(config);
  TempDir dir("exporter");

  PgConn alice = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  PgConn carol = MustConnectProxy(proxy, "carol", kCarolPassword, "app2");
  RunQueries(alice.get(), 5);
  RunQueries(carol.get(), 3);

  Exporter exporter(proxy, dir);
  const std::string acme_requests = "pgbouncer_requests_total{database=\"acme\"}";
  const std::string beta_requests = "pgbouncer_requests_total{database=\"beta\"}";
  std::string scrape = AwaitScrape(
      exporter.port(), [&](const std::string& s) { return MetricSample(s, beta_requests) >= 3; },
      std::chrono::seconds(30));
  INFO(scrape);
  INFO("exporter log:\n" << exporter.log());
  // Stats (SHOW STATS), per tenant.
  const double acme_before = MetricSample(scrape, acme_requests);
  CHECK(acme_before >= 5);
  CHECK(MetricSample(scrape, beta_requests) >= 3);
  for (const char* tenant : {"acme", "beta"}) {
    const std::string label = std::string("{database=\"") + tenant + "\"}";
    CHECK(MetricSample(scrape, "pgbouncer_received_bytes_total" + label) > 0);
    CHECK(MetricSample(scrape, "pgbouncer_sent_bytes_total" + label) > 0);
    CHECK(MetricSample(scrape, "pgbouncer_query_microseconds_total" + label) > 0);
    // Pools (SHOW POOLS): each tenant's pool, one client active on it.
    const std::string pool = std::string("{database=\"") + tenant + "\",user=\"" + db.role + "\"}";
    CHECK(MetricSample(scrape, "pgbouncer_active_clients" + pool) == 1);
    CHECK(MetricSample(scrape, "pgbouncer_waiting_clients" + pool) == 0);
    // Databases (SHOW DATABASES): the tenant's pool size.
    CHECK(MetricSample(scrape, "pgbouncer_pool_size" + label) == 10);
    CHECK(MetricSample(scrape, "pgbouncer_reserve_pool" + label) == 0);
  }
  // Lists (SHOW LISTS): two tenants; alice and carol (and the exporter itself) are clients.
  CHECK(MetricSample(scrape, "pgbouncer_databases") == 2);
  CHECK(MetricSample(scrape, "pgbouncer_pools") == 2);
  CHECK(MetricSample(scrape, "pgbouncer_used_clients") >= 2);
  CHECK(MetricSample(scrape, "pgbouncer_used_servers") == 2);

  // A count moves: acme's next queries show in the next scrapes; beta's stay where they were.
  const double beta_before = MetricSample(scrape, beta_requests);
  RunQueries(alice.get(), 4);
  scrape = AwaitScrape(
      exporter.port(), [&](const std::string& s) { return MetricSample(s, acme_requests) >= acme_before + 4; },
      std::chrono::seconds(10));
  CHECK(MetricSample(scrape, acme_requests) >= acme_before + 4);
  CHECK(MetricSample(scrape, beta_requests) == beta_before);
}

}  // namespace
}  // namespace pgtenant::integration
