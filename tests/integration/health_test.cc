// Health checks and failover: a backend host that stops is marked down (metrics, logs), clients get a
// prompt 08006 naming the backend instead of a hang, and the host is used again once it is back; with
// two hosts, new connections go to the second while the first is down, and SHOW BACKENDS says so.
//
// Each test stops a PostgreSQL of its own (PostgresServer::StartPrivate), never the shared one.
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <regex>
#include <string>

#include "tests/integration/harness/metrics_scrape.h"
#include "tests/integration/harness/net.h"
#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kHealthCheck[] = "health_check: { interval: 300ms, timeout: 1s }\n";

std::string HostUp(int port) {
  return "pgtenant_backend_host_up{backend=\"app\",host=\"127.0.0.1:" + std::to_string(port) + "\"}";
}

// The same role and database on every server given, so one backend may list them all as hosts.
TestDatabase CreateOnEach(std::initializer_list<PostgresServer*> servers, const std::string& prefix) {
  TestDatabase db{prefix + "_" + RandomHex(4) + "_role", RandomHex(12), ""};
  db.database = db.role.substr(0, db.role.size() - 5) + "_db";
  for (PostgresServer* server : servers) server->CreateRoleAndDatabase(db.role, db.password, db.database);
  db.port = (*servers.begin())->port();
  return db;
}

TEST_CASE("a stopped backend flips its health metric, clients get a prompt 08006 naming it, and it is used "
          "again once it is back", "[health]") {
  std::unique_ptr<PostgresServer> server = PostgresServer::StartPrivate();
  TestDatabase db = CreateOnEach({server.get()}, "health");
  ProxyConfig config = StandardConfig(db);
  config.backends["app"].port = server->port();
  const int metrics_port = FreePort();
  config.extra_yaml += kHealthCheck;
  config.extra_yaml += "metrics: { address: 127.0.0.1, port: " + std::to_string(metrics_port) + " }\n";
  ProxyProcess proxy(config);

  REQUIRE(AwaitMetric(metrics_port, HostUp(server->port()), 1, seconds(5)));
  CHECK(MetricSample(ScrapeMetrics(metrics_port), "pgtenant_backend_up{backend=\"app\"}") == 1);
  {
    PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
    CHECK(QueryValue(conn.get(), "SELECT 'before'") == "before");
  }

  server->Stop();
  REQUIRE(AwaitMetric(metrics_port, HostUp(server->port()), 0, seconds(5)));
  CHECK(MetricSample(ScrapeMetrics(metrics_port), "pgtenant_backend_up{backend=\"app\"}") == 0);

  const auto started = std::chrono::steady_clock::now();
  PgConn refused = ConnectProxy(proxy, "alice", kAlicePassword, "app");
  const auto elapsed = std::chrono::steady_clock::now() - started;
  REQUIRE(PQstatus(refused.get()) == CONNECTION_BAD);
  const std::string message = PQerrorMessage(refused.get());
  INFO(message);
  CHECK(StartupSqlstate(refused.get()) == "08006");
  CHECK_THAT(message, Catch::Contains("backend \"app\"") && Catch::Contains("no host is up"));
  CHECK(elapsed < milliseconds(1000));  // no connect attempt, no timeout: the answer is at hand
  CHECK_THAT(proxy.Log(), Catch::Contains("is down"));

  server->Start();
  REQUIRE(AwaitMetric(metrics_port, HostUp(server->port()), 1, seconds(5)));
  CHECK(MetricSample(ScrapeMetrics(metrics_port), "pgtenant_backend_up{backend=\"app\"}") == 1);
  PgConn after = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  CHECK(QueryValue(after.get(), "SELECT 'after'") == "after");
  CHECK_THAT(proxy.Log(), Catch::Contains("is up again"));
}

// SHOW BACKENDS in the admin console, by libpq: row `index` of `result` as "col|col|...".
std::string BackendRow(const ProxyProcess& proxy, int port) {
  PgConn console = MustConnectProxy(proxy, "ops", "ops-secret", "pgtenant");
  auto results = ExecWithTimeout(console.get(), "SHOW BACKENDS", seconds(5));
  if (!results || results->size() != 1) return "<no answer>";
  const PGresult* result = (*results)[0].get();
  const std::string host = "127.0.0.1:" + std::to_string(port);
  for (int row = 0; row < PQntuples(result); ++row) {
    if (host != PQgetvalue(result, row, 1)) continue;
    std::string line;
    for (int column = 0; column < PQnfields(result); ++column) {
      if (column == 4 && !PQgetisnull(result, row, column)) {
        line += "<since>|";  // down_since: a wall-clock time
        continue;
      }
      line += std::string(PQgetvalue(result, row, column)) + "|";
    }
    return line;
  }
  return "<no row for " + host + ">";
}

TEST_CASE("failover: with two hosts, new connections go to the second while the first is down, and back to the "
          "first once it is up", "[health]") {
  std::unique_ptr<PostgresServer> first = PostgresServer::StartPrivate();
  PostgresServer& second = PostgresServer::Shared();
  TestDatabase db = CreateOnEach({first.get(), &second}, "failover");
  ProxyConfig config = StandardConfig(db);
  config.users["ops"] = "ops-secret";
  config.admins = {"ops"};
  config.backends["app"].hosts = "[ {host: 127.0.0.1, port: " + std::to_string(first->port()) +
                                 "}, {host: 127.0.0.1, port: " + std::to_string(second.port()) + "} ]";
  const int metrics_port = FreePort();
  config.extra_yaml += kHealthCheck;
  config.extra_yaml += "metrics: { address: 127.0.0.1, port: " + std::to_string(metrics_port) + " }\n";
  ProxyProcess proxy(config);
  REQUIRE(AwaitMetric(metrics_port, HostUp(first->port()), 1, seconds(5)));
  REQUIRE(AwaitMetric(metrics_port, HostUp(second.port()), 1, seconds(5)));

  auto served_by = [&](const char* user, const char* password) {
    PgConn conn = MustConnectProxy(proxy, user, password, "app");
    return std::stoi(QueryValue(conn.get(), "SELECT inet_server_port()"));
  };
  CHECK(served_by("alice", kAlicePassword) == first->port());

  first->Stop();
  REQUIRE(AwaitMetric(metrics_port, HostUp(first->port()), 0, seconds(5)));
  CHECK(MetricSample(ScrapeMetrics(metrics_port), "pgtenant_backend_up{backend=\"app\"}") == 1);
  CHECK(served_by("bob", kBobPassword) == second.port());
  CHECK(served_by("alice", kAlicePassword) == second.port());
  // The admin console shows the same: the first host down and why, new connections on the second.
  const std::string first_row = BackendRow(proxy, first->port());
  INFO(first_row);
  CHECK_THAT(first_row, Catch::StartsWith("app|127.0.0.1:" + std::to_string(first->port()) + "|primary|down|<since>|"));
  // Not current, checks on; then the backend's open server connections (a dead one may not be
  // noticed yet) and no cap.
  CHECK(std::regex_search(first_row, std::regex("\\|0\\|1\\|[0-9]+\\|0\\|$")));
  CHECK_THAT(BackendRow(proxy, second.port()),
             Catch::StartsWith("app|127.0.0.1:" + std::to_string(second.port()) + "|alternate|up|||1|1|"));

  first->Start();
  REQUIRE(AwaitMetric(metrics_port, HostUp(first->port()), 1, seconds(5)));
  // The pool's idle connections are on the second host; they are closed rather than reused.
  CHECK(served_by("alice", kAlicePassword) == first->port());
  CHECK(served_by("bob", kBobPassword) == first->port());
  CHECK_THAT(proxy.Log(), Catch::Contains("new server connections go to 127.0.0.1:" + std::to_string(second.port())));
}

}  // namespace
}  // namespace pgtenant::integration
