// Metrics that count what happens: statement executions (each Execute, each statement of a simple
// Query), client states (idle is not active), pool saturation gauges and refusals by reason.
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/integration/harness/metrics_scrape.h"
#include "tests/integration/harness/net.h"
#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

const std::string kStatements = "pgtenant_statements_total{tenant=\"acme\"}";
const std::string kErrors = "pgtenant_statement_errors_total{tenant=\"acme\"}";
const std::string kQueries = "pgtenant_query_duration_seconds_count{tenant=\"acme\"}";

std::string Clients(const std::string& state) {
  return "pgtenant_client_connections{state=\"" + state + "\",tenant=\"acme\"}";
}

ProxyConfig MetricsConfig(const TestDatabase& db, const std::string& pool_mode, int* metrics_port) {
  ProxyConfig config = StandardConfig(db);
  config.pool_mode = pool_mode;
  *metrics_port = FreePort();
  config.extra_yaml += "metrics: { address: 127.0.0.1, port: " + std::to_string(*metrics_port) + " }\n";
  return config;
}

TEST_CASE("statements_total counts executions: each Execute of a prepared statement and each statement of a Query",
          "[metrics]") {
  const std::string pool_mode = GENERATE(std::string("session"), std::string("transaction"));
  INFO("pool mode " << pool_mode);
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("metricsexec");
  int metrics_port = 0;
  ProxyProcess proxy(MetricsConfig(db, pool_mode, &metrics_port));
  PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app");

  // Prepared once, executed 40 times (pgbench -M prepared, pgjdbc, asyncpg, pgx): 40 executions.
  PgResult prepared(PQprepare(conn.get(), "s1", "SELECT $1::int + 1", 1, nullptr));
  REQUIRE(PQresultStatus(prepared.get()) == PGRES_COMMAND_OK);
  for (int i = 0; i < 40; ++i) {
    const std::string value = std::to_string(i);
    const char* params[] = {value.c_str()};
    PgResult r(PQexecPrepared(conn.get(), "s1", 1, params, nullptr, nullptr, 0));
    REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
  }
  // One simple Query of three statements: three executions, one request.
  MustExec(conn.get(), "SELECT 1; SELECT 2; SELECT 3");
  // An empty query is answered (EmptyQueryResponse); a failing one is an error, not an execution.
  REQUIRE(PQresultStatus(Exec(conn.get(), ";").get()) == PGRES_EMPTY_QUERY);
  REQUIRE(Sqlstate(Exec(conn.get(), "SELECT 1/0").get()) == "22012");

  const double executions = 40 + 3 + 1;
  const double requests = 1 + 40 + 1 + 1 + 1;  // Parse+Sync, 40 Bind/Execute+Sync, three Queries
  const std::string scrape = AwaitScrape(metrics_port, [&](const std::string& s) {
    return MetricSample(s, kStatements) == executions && MetricSample(s, kErrors) == 1 &&
           MetricSample(s, kQueries) == requests;
  });
  INFO(scrape);
  CHECK(MetricSample(scrape, kStatements) == executions);
  CHECK(MetricSample(scrape, kErrors) == 1);
  CHECK(MetricSample(scrape, kQueries) == requests);
  CHECK(MetricSample(scrape, "pgtenant_query_duration_seconds_sum{tenant=\"acme\"}") > 0);
}

TEST_CASE("client_connections: six idle clients are idle, one in a transaction is active", "[metrics]") {
  const std::string pool_mode = GENERATE(std::string("session"), std::string("transaction"));
  INFO("pool mode " << pool_mode);
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("metricsidle");
  int metrics_port = 0;
  ProxyConfig config = MetricsConfig(db, pool_mode, &metrics_port);
  config.pool_size = 8;
  ProxyProcess proxy(config);

  std::vector<PgConn> idle;
  for (int i = 0; i < 6; ++i) {
    idle.push_back(MustConnectProxy(proxy, "alice", kAlicePassword, "app"));
    MustExec(idle.back().get(), "SELECT 1");
  }
  PgConn busy = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  MustExec(busy.get(), "BEGIN");
  std::string scrape = AwaitScrape(metrics_port, [&](const std::string& s) {
    return MetricSample(s, Clients("idle")) == 6 && MetricSample(s, Clients("active")) == 1;
  });
  INFO(scrape);
  CHECK(MetricSample(scrape, Clients("idle")) == 6);
  CHECK(MetricSample(scrape, Clients("active")) == 1);
  CHECK(MetricSample(scrape, Clients("waiting")) == 0);
  CHECK(MetricSample(scrape, "pgtenant_pool_size{tenant=\"acme\"}") == 8);
  // Session pooling: every client holds its server; transaction pooling: only the one in a transaction.
  const double held = pool_mode == "session" ? 7 : 1;
  CHECK(MetricSample(scrape, "pgtenant_server_connections{state=\"active\",tenant=\"acme\"}") == held);
  const std::string host = "127.0.0.1:" + std::to_string(db.port);
  CHECK(MetricSample(scrape, "pgtenant_backend_server_connections{backend=\"app\",host=\"" + host + "\",state=\"active\"}") == held);

  MustExec(busy.get(), "COMMIT");
  scrape = AwaitScrape(metrics_port, [&](const std::string& s) { return MetricSample(s, Clients("idle")) == 7; });
  CHECK(MetricSample(scrape, Clients("idle")) == 7);
  CHECK(MetricSample(scrape, Clients("active")) == 0);
}

TEST_CASE("a saturated pool shows its waiting client and longest wait, then a pool_timeout refusal (53)",
          "[metrics][long]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("metricssat");
  int metrics_port = 0;
  ProxyConfig config = MetricsConfig(db, "transaction", &metrics_port);
  config.pool_size = 1;
  config.pool_wait_timeout = "3s";
  ProxyProcess proxy(config);

  PgConn holder = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  PgConn waiter = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  MustExec(holder.get(), "BEGIN");
  REQUIRE(PQsendQuery(waiter.get(), "SELECT 'never'") == 1);

  std::string scrape = AwaitScrape(metrics_port, [&](const std::string& s) {
    return MetricSample(s, Clients("waiting")) == 1 && MetricSample(s, "pgtenant_pool_max_wait_seconds{tenant=\"acme\"}") > 0;
  });
  INFO(scrape);
  CHECK(MetricSample(scrape, Clients("waiting")) == 1);
  CHECK(MetricSample(scrape, "pgtenant_pool_max_wait_seconds{tenant=\"acme\"}") > 0);
  CHECK(MetricSample(scrape, "pgtenant_pool_max_wait_seconds{tenant=\"acme\"}") < 3.5);
  CHECK(MetricSample(scrape, "pgtenant_server_connections{state=\"active\",tenant=\"acme\"}") == 1);
  CHECK(MetricSample(scrape, "pgtenant_pool_size{tenant=\"acme\"}") == 1);

  std::optional<std::vector<PgResult>> results = CollectResults(waiter.get(), std::chrono::seconds(10));
  REQUIRE(results);
  REQUIRE(!results->empty());
  CHECK(Sqlstate(results->front().get()) == "53300");
  const std::string refusal = "pgtenant_refusals_total{reason=\"pool_timeout\",sqlstate_class=\"53\",tenant=\"acme\"}";
  scrape = AwaitScrape(metrics_port, [&](const std::string& s) {
    return MetricSample(s, refusal) == 1 && MetricSample(s, Clients("waiting")) == 0 &&
           MetricSample(s, "pgtenant_pool_max_wait_seconds{tenant=\"acme\"}") == 0;
  });
  CHECK(MetricSample(scrape, refusal) == 1);
  CHECK(MetricSample(scrape, "pgtenant_pool_max_wait_seconds{tenant=\"acme\"}") == 0);
  MustExec(holder.get(), "COMMIT");
}

TEST_CASE("refusals name their reason: unknown tenant, max_clients and an admin KILL", "[metrics]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("metricsrefuse");
  int metrics_port = 0;
  ProxyConfig config = MetricsConfig(db, "session", &metrics_port);
  config.admins = {"alice"};
  ProxyProcess proxy(config);

  PgConn unknown = ConnectProxy(proxy, "bob.nosuch", kBobPassword, "app");
  REQUIRE(StartupSqlstate(unknown.get()).substr(0, 2) == "28");
  PgConn victim = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  PgConn console = MustConnectProxy(proxy, "alice", kAlicePassword, "pgtenant");
  MustExec(console.get(), "KILL acme");

  const std::string tenant_refused = "pgtenant_refusals_total{reason=\"tenant_refused\",sqlstate_class=\"28\",tenant=\"unknown\"}";
  const std::string killed = "pgtenant_refusals_total{reason=\"admin_kill\",sqlstate_class=\"57\",tenant=\"acme\"}";
  const std::string scrape = AwaitScrape(metrics_port, [&](const std::string& s) {
    return MetricSample(s, tenant_refused) == 1 && MetricSample(s, killed) == 1;
  });
  INFO(scrape);
  CHECK(MetricSample(scrape, tenant_refused) == 1);
  CHECK(MetricSample(scrape, killed) == 1);
}

}  // namespace
}  // namespace pgtenant::integration
