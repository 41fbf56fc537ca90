// Session pooling: many clients share a few server connections; a full pool answers 53300 after its wait.
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/poll.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

int ServerConnectionsOf(const TestDatabase& db) {
  auto rows = PostgresServer::Shared().Exec("SELECT count(*) FROM pg_stat_activity WHERE datname = '" + db.database +
                                            "' AND usename = '" + db.role + "'");
  return std::stoi(rows.at(0).at(0));
}

TEST_CASE("200 concurrent clients on a pool of 10 all get their answers", "[pool][cpu]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("pool");
  ProxyConfig config = StandardConfig(db);
  config.pool_size = 10;
  config.pool_wait_timeout = "30s";
  ProxyProcess proxy(config);

  constexpr int kClients = 200;
  std::mutex mu;
  std::vector<std::string> failures;  // GUARDED_BY(mu)
  std::set<std::string> server_pids;  // GUARDED_BY(mu)
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      std::string failure;
      std::string pid;
      try {
        PgConn conn = Connect(proxy.ConnString("alice", kAlicePassword, "app"), std::chrono::seconds(60));
        if (PQstatus(conn.get()) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(conn.get()));
        pid = QueryValue(conn.get(), "SELECT pg_backend_pid()");
        if (QueryValue(conn.get(), "SELECT " + std::to_string(i) + " * 2") != std::to_string(i * 2)) {
          throw std::runtime_error("wrong answer");
        }
        const char* values[1] = {"client"};
        PgResult params(PQexecParams(conn.get(), "SELECT $1::text || pg_sleep(0.01)", 1, nullptr, values, nullptr,
                                     nullptr, 0));
        if (PQresultStatus(params.get()) != PGRES_TUPLES_OK) throw std::runtime_error(PQresultErrorMessage(params.get()));
        MustExec(conn.get(), "BEGIN; SELECT 1; COMMIT");
      } catch (const std::exception& e) {
        failure = "client " + std::to_string(i) + ": " + e.what();
      }
      std::lock_guard<std::mutex> lock(mu);
      if (!failure.empty()) failures.push_back(failure);
      if (!pid.empty()) server_pids.insert(pid);
    });
  }
  for (auto& t : clients) t.join();

  INFO((failures.empty() ? std::string() : failures.front()));
  CHECK(failures.size() == 0);
  // Never more server connections than the pool size.
  CHECK(server_pids.size() <= 10);
  CHECK(ServerConnectionsOf(db) <= 10);
}

TEST_CASE("a server connection returns to the pool after DISCARD ALL when its client leaves", "[pool]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("pool");
  ProxyConfig config = StandardConfig(db);
  config.pool_size = 1;
  ProxyProcess proxy(config);

  std::string first_pid;
  {
    PgConn first = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
    first_pid = QueryValue(first.get(), "SELECT pg_backend_pid()");
    MustExec(first.get(), "SET work_mem = '7MB'");
    MustExec(first.get(), "CREATE TEMP TABLE scratch (x int)");
    PgResult prepared(PQprepare(first.get(), "leftover", "SELECT 1", 0, nullptr));
    REQUIRE(PQresultStatus(prepared.get()) == PGRES_COMMAND_OK);
  }
  PgConn second = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  CHECK(QueryValue(second.get(), "SELECT pg_backend_pid()") == first_pid);  // reused, not reopened
  CHECK(QueryValue(second.get(), "SHOW work_mem") != "7MB");
  CHECK(QueryValue(second.get(), "SELECT count(*) FROM pg_prepared_statements") == "0");
  CHECK(QueryValue(second.get(), "SELECT count(*) FROM pg_class WHERE relname = 'scratch' AND relpersistence = 't'") ==
        "0");
}

TEST_CASE("when the pool is exhausted past wait_timeout, the waiting client gets 53300", "[pool]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("pool");
  ProxyConfig config = StandardConfig(db);
  config.pool_size = 1;
  config.pool_wait_timeout = "1s";
  ProxyProcess proxy(config);

  PgConn holder = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  MustExec(holder.get(), "BEGIN");
  MustExec(holder.get(), "SELECT 1");

  // Session mode may take the server connection at login or at the first query: accept either.
  const auto started = std::chrono::steady_clock::now();
  PgConn waiter = ConnectProxy(proxy, "bob", kBobPassword, "app");
  std::string state;
  if (PQstatus(waiter.get()) == CONNECTION_BAD) {
    INFO(PQerrorMessage(waiter.get()));
    state = StartupSqlstate(waiter.get());
  } else {
    auto results = ExecWithTimeout(waiter.get(), "SELECT 1", std::chrono::seconds(10));
    REQUIRE(results.has_value());
    REQUIRE_FALSE(results->empty());
    INFO(PQresultErrorMessage(results->front().get()));
    state = Sqlstate(results->front().get());
  }
  const auto waited = std::chrono::steady_clock::now() - started;
  CHECK(state == "53300");
  CHECK(waited >= std::chrono::milliseconds(900));
  CHECK(waited < std::chrono::seconds(4));

  // The holder is unaffected, and once it leaves the pool serves again.
  MustExec(holder.get(), "COMMIT");
  holder.reset();
  PgConn next = Connect(proxy.ConnString("bob", kBobPassword, "app"));
  REQUIRE(PQstatus(next.get()) == CONNECTION_OK);
  CHECK(QueryValue(next.get(), "SELECT 'served'") == "served");
}

TEST_CASE("more than max_client_connections clients: the extra one gets FATAL 53300", "[pool][limits]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("limits");
  ProxyConfig config = StandardConfig(db);
  config.max_client_connections = 2;
  ProxyProcess proxy(config);

  PgConn first = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  PgConn second = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  PgConn third = ConnectProxy(proxy, "alice", kAlicePassword, "app");
  REQUIRE(PQstatus(third.get()) == CONNECTION_BAD);
  INFO(PQerrorMessage(third.get()));
  CHECK(StartupSqlstate(third.get()) == "53300");
  CHECK(QueryValue(first.get(), "SELECT 1") == "1");

  // A slot frees when a client leaves (the proxy may need a moment to notice).
  first.reset();
  CHECK(PollUntil([&] { return PQstatus(ConnectProxy(proxy, "alice", kAlicePassword, "app").get()) == CONNECTION_OK; },
                  std::chrono::seconds(5), std::chrono::milliseconds(50)));
}

}  // namespace
}  // namespace pgtenant::integration
