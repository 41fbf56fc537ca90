// Prometheus endpoint: per-tenant series exist for configured tenants and move with traffic.
#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "tests/integration/harness/metrics_scrape.h"
#include "tests/integration/harness/net.h"
#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

// Sends `request` to the metrics port and returns the whole response ("" when nothing answers).
std::string RawHttp(int port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
    char buffer[8192];
    for (ssize_t n; (n = ::read(fd, buffer, sizeof(buffer))) > 0;) response.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return response;
}

TEST_CASE("a scrape shows per-tenant series that move with traffic", "[metrics]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("metrics");
  ProxyConfig config = StandardConfig(db);
  const int metrics_port = FreePort();
  config.pool_mode = "transaction";
  config.extra_yaml += "metrics: { address: 127.0.0.1, port: " + std::to_string(metrics_port) + " }\n";
  ProxyProcess proxy(config);

  std::string before = ScrapeMetrics(metrics_port);
  REQUIRE_FALSE(before.empty());
  CHECK(before.find("pgtenant_build_info{revision=") != std::string::npos);
  CHECK(before.find(",version=\"") != std::string::npos);
  // A tenant's gauges appear with its first client or pool (the once-a-second refresh visits only
  // tenants with either): none yet, whatever the number of configured tenants.
  CHECK(before.find("tenant=\"acme\"") == std::string::npos);

  PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  for (int i = 0; i < 25; ++i) MustExec(conn.get(), "SELECT " + std::to_string(i));
  PgResult blocked = Exec(conn.get(), "SELECT pg_read_file('/etc/hostname')");
  REQUIRE(Sqlstate(blocked.get()) == "42501");
  PgConn wrong = ConnectProxy(proxy, "alice.acme", "not-the-password", "app");
  REQUIRE(PQstatus(wrong.get()) == CONNECTION_BAD);

  // Some series are published with the next refresh of the gauges: wait for the scrape that counts it all.
  // alice's connection is logged in with nothing in flight: idle, not active.
  const std::string idle_clients = "pgtenant_client_connections{state=\"idle\",tenant=\"acme\"}";
  const std::string active_acme = "pgtenant_client_connections{state=\"active\",tenant=\"acme\"}";
  std::string after = AwaitScrape(metrics_port, [&](const std::string& scrape) {
    return MetricSample(scrape, idle_clients) == 1 && MetricSample(scrape, "pgtenant_statements_total{tenant=\"acme\"}") == 25 &&
           MetricSample(scrape, "pgtenant_authentication_failures_total{tenant=\"acme\"}") == 1 &&
           MetricSample(scrape, "pgtenant_transactions_total{tenant=\"acme\"}") >= 25 &&
           MetricSample(scrape, "pgtenant_transaction_duration_seconds_count{tenant=\"acme\"}") >= 25 &&
           MetricSample(scrape, "pgtenant_pool_wait_seconds_count{tenant=\"acme\"}") >= 25;
  });
  INFO(after);
  CHECK(MetricSample(after, "pgtenant_transactions_total{tenant=\"acme\"}") >= 25);
  // 25 executions; the blocked statement never ran (it is counted as blocked, not as an error).
  CHECK(MetricSample(after, "pgtenant_statements_total{tenant=\"acme\"}") == 25);
  CHECK(MetricSample(after, "pgtenant_statement_errors_total{tenant=\"acme\"}") == 0);
  CHECK(MetricSample(after, "pgtenant_statements_blocked_total{rule=\"server.files\",tenant=\"acme\"}") == 1);
  CHECK(MetricSample(after, "pgtenant_authentication_failures_total{tenant=\"acme\"}") == 1);
  CHECK(MetricSample(after, "pgtenant_client_received_bytes_total{tenant=\"acme\"}") > 0);
  CHECK(MetricSample(after, "pgtenant_transaction_duration_seconds_count{tenant=\"acme\"}") >= 25);
  CHECK(MetricSample(after, "pgtenant_pool_wait_seconds_count{tenant=\"acme\"}") >= 25);
  CHECK(MetricSample(after, idle_clients) == 1);
  CHECK(MetricSample(after, active_acme) == 0);
  CHECK(MetricSample(after, "pgtenant_backend_up{backend=\"app\"}") == 1);
  CHECK(MetricSample(after, "pgtenant_policy_cache_hits_total") > 0);
  // Only configured tenants get a label: a client naming an unknown tenant adds none.
  CHECK(after.find("tenant=\"nosuch\"") == std::string::npos);
}

TEST_CASE("the metrics endpoint answers only GET /metrics, /healthz and /readyz, and a silent client blocks no one",
          "[metrics][long]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("metricshttp");
  ProxyConfig config = StandardConfig(db);
  const int metrics_port = FreePort();
  config.extra_yaml += "metrics: { address: 127.0.0.1, port: " + std::to_string(metrics_port) + " }\n";
  ProxyProcess proxy(config);

  // A client that connects and says nothing holds no one up.
  int silent = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(metrics_port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(silent, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);

  CHECK_THAT(RawHttp(metrics_port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
             Catch::StartsWith("HTTP/1.1 200 OK") && Catch::Contains("pgtenant_build_info"));
  CHECK_THAT(RawHttp(metrics_port, "GET /metrics?x=1 HTTP/1.1\r\n\r\n"), Catch::StartsWith("HTTP/1.1 200 OK"));
  CHECK_THAT(RawHttp(metrics_port, "GET /healthz HTTP/1.1\r\n\r\n"),
             Catch::StartsWith("HTTP/1.1 200 OK") && Catch::Contains("alive: "));
  CHECK_THAT(RawHttp(metrics_port, "GET /readyz HTTP/1.1\r\n\r\n"),
             Catch::StartsWith("HTTP/1.1 200 OK") && Catch::Contains("ready: "));
  CHECK_THAT(RawHttp(metrics_port, "GET /secrets HTTP/1.1\r\n\r\n"), Catch::StartsWith("HTTP/1.1 404"));
  CHECK_THAT(RawHttp(metrics_port, "GET / HTTP/1.1\r\n\r\n"), Catch::StartsWith("HTTP/1.1 404"));
  CHECK_THAT(RawHttp(metrics_port, "POST /readyz HTTP/1.1\r\n\r\n"), Catch::StartsWith("HTTP/1.1 405"));
  CHECK_THAT(RawHttp(metrics_port, "POST /metrics HTTP/1.1\r\n\r\n"), Catch::StartsWith("HTTP/1.1 405"));
  CHECK_THAT(RawHttp(metrics_port, "\x16\x03\x01 garbage\r\n\r\n"), Catch::StartsWith("HTTP/1.1 400"));
  CHECK_THAT(RawHttp(metrics_port, "GET /" + std::string(10000, 'a')), Catch::StartsWith("HTTP/1.1 431"));

  // The silent client is closed by the request timeout (5 s).
  char byte = 0;
  timeval wait{8, 0};
  ::setsockopt(silent, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
  CHECK(::read(silent, &byte, 1) == 0);
  ::close(silent);
  // pgtenant itself went on.
  PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  CHECK(QueryValue(conn.get(), "SELECT 'fine'") == "fine");
}

}  // namespace
}  // namespace pgtenant::integration
