// Transaction pooling with tenants: many clients per tenant share a few server connections, every
// transaction carries its tenant's context, and named prepared statements follow their client from
// server to server (issue 3).
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness/client_programs.h"
#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/tenant_world.h"

namespace pgtenant::integration {
namespace {

// The world's config in transaction pooling with `size` server connections per pool.
ProxyConfig TransactionConfig(const TenantWorld& world, int size) {
  ProxyConfig config = world.Config();
  config.pool_mode = "transaction";
  config.pool_size = size;
  config.pool_wait_timeout = "30s";
  // 90 clients log in at once; under ASan a server connection may take longer than the default 2 s.
  for (auto& [name, backend] : config.backends) backend.connect_timeout = "10s";
  return config;
}

// One row of a prepared statement's result, as text.
std::vector<std::string> ExecPrepared(PGconn* conn, const std::string& name, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  for (const std::string& p : params) values.push_back(p.c_str());
  PgResult result(PQexecPrepared(conn, name.c_str(), static_cast<int>(values.size()), values.data(), nullptr, nullptr, 0));
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK || PQntuples(result.get()) != 1) {
    throw std::runtime_error("EXECUTE " + name + " failed: " + PQresultErrorMessage(result.get()));
  }
  std::vector<std::string> row;
  for (int c = 0; c < PQnfields(result.get()); ++c) row.emplace_back(PQgetvalue(result.get(), 0, c));
  return row;
}

void MustPrepare(PGconn* conn, const std::string& name, const std::string& sql, int params) {
  PgResult prepared(PQprepare(conn, name.c_str(), sql.c_str(), params, nullptr));
  if (PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
    throw std::runtime_error("PREPARE " + name + " failed: " + PQresultErrorMessage(prepared.get()));
  }
}

TEST_CASE("three tenants, 30 clients each, in transaction pooling: no transaction sees another tenant",
          "[tenants][transaction][cpu]") {
  TenantWorld world = TenantWorld::Create();
  ProxyProcess proxy(TransactionConfig(world, 5));

  constexpr int kClientsPerTenant = 30;
  constexpr int kTransactions = 20;
  const std::map<std::string, std::string> logins = {
      {"acme", "bob.acme"}, {"umbrella", "uma.umbrella"}, {"globex", "gina.globex"}};

  std::atomic<int> transactions{0};
  std::atomic<int> wrong_context{0};
  std::atomic<int> foreign_rows{0};
  std::atomic<int> server_switch_inside_transaction{0};
  std::mutex mu;
  std::vector<std::string> failures;                   // GUARDED_BY(mu)
  std::map<std::string, std::set<std::string>> pids;  // GUARDED_BY(mu): tenant -> server pids

  std::vector<std::thread> clients;
  for (const auto& [tenant_name, login_name] : logins) {
    for (int i = 0; i < kClientsPerTenant; ++i) {
      clients.emplace_back([&, tenant = tenant_name, login = login_name, i] {
        const std::string me = TenantWorld::IdOf(tenant);
        std::set<std::string> seen_pids;
        try {
          const std::string user = login.substr(0, login.find('.'));
          PgConn conn = Connect(proxy.ConnString(login, TenantWorld::PasswordOf(user), "app"), std::chrono::seconds(60));
          if (PQstatus(conn.get()) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(conn.get()));
          PGconn* c = conn.get();
          for (int t = 0; t < kTransactions; ++t) {
            if (t % 2 == 0) {
              // An explicit transaction: several statements, one server connection.
              MustExec(c, "BEGIN");
              if (QueryValue(c, "SELECT current_setting('app.current_organization_id')") != me) ++wrong_context;
              const std::string pid = QueryValue(c, "SELECT pg_backend_pid()");
              for (const std::string& org : QueryColumn(c, "SELECT org_id FROM projects"))
                if (org != me) ++foreign_rows;
              for (const std::string& org : QueryColumn(c, "SELECT org_id FROM public.projects"))
                if (org != me) ++foreign_rows;
              MustExec(c, "INSERT INTO projects (org_id, name) VALUES "
                          "(current_setting('app.current_organization_id')::uuid, '" +
                              tenant + " client " + std::to_string(i) + " txn " + std::to_string(t) + "')");
              if (QueryValue(c, "SELECT pg_backend_pid()") != pid) ++server_switch_inside_transaction;
              MustExec(c, "COMMIT");
              seen_pids.insert(pid);
            } else {
              // One statement, one implicit transaction.
              PgResult row = MustExec(
                  c, "SELECT current_setting('app.current_organization_id'), (SELECT count(*) FROM projects WHERE "
                     "org_id <> '" + me + "'), (SELECT count(*) FROM public.projects WHERE org_id <> '" + me +
                         "'), pg_backend_pid()");
              if (std::string(PQgetvalue(row.get(), 0, 0)) != me) ++wrong_context;
              foreign_rows += std::stoi(PQgetvalue(row.get(), 0, 1)) + std::stoi(PQgetvalue(row.get(), 0, 2));
              seen_pids.insert(PQgetvalue(row.get(), 0, 3));
            }
            ++transactions;
          }
        } catch (const std::exception& e) {
          std::lock_guard<std::mutex> lock(mu);
          failures.push_back(tenant + " client " + std::to_string(i) + ": " + e.what());
        }
        std::lock_guard<std::mutex> lock(mu);
        pids[tenant].insert(seen_pids.begin(), seen_pids.end());
      });
    }
  }
  for (auto& t : clients) t.join();

  INFO((failures.empty() ? std::string() : failures.front()));
  CHECK(failures.empty());
  CHECK(transactions == 3 * kClientsPerTenant * kTransactions);
  CHECK(wrong_context == 0);
  CHECK(foreign_rows == 0);
  CHECK(server_switch_inside_transaction == 0);

  // Each tenant's pool stayed within its size, and no server connection served two tenants.
  std::set<std::string> all_pids;
  size_t pid_count = 0;
  for (const auto& [tenant, tenant_pids] : pids) {
    INFO(tenant);
    CHECK(tenant_pids.size() <= 5);
    pid_count += tenant_pids.size();
    all_pids.insert(tenant_pids.begin(), tenant_pids.end());
  }
  CHECK(all_pids.size() == pid_count);

  // Every row written landed in its writer's organization (and the schema tenant's in its schema).
  const int per_tenant = kClientsPerTenant * kTransactions / 2;
  for (const std::string tenant : {"acme", "umbrella"}) {
    INFO(tenant);
    CHECK(world.ExecShared("SELECT count(*) FROM public.projects WHERE name LIKE '" + tenant + " client %' AND org_id = '" +
                           TenantWorld::IdOf(tenant) + "'")
              .at(0)
              .at(0) == std::to_string(per_tenant));
  }
  CHECK(world.ExecShared("SELECT count(*) FROM public.projects WHERE name LIKE '% client % txn %' AND org_id <> "
                         "(CASE split_part(name, ' ', 1) WHEN 'acme' THEN '" + std::string(kAcmeId) +
                         "' ELSE '" + kTenantWorldUmbrellaId + "' END)::uuid")
            .at(0)
            .at(0) == "0");
  CHECK(world.ExecShared("SELECT count(*) FROM org_globex.projects WHERE name LIKE 'globex client %' AND org_id = '" +
                         std::string(kTenantWorldGlobexId) + "'")
            .at(0)
            .at(0) == std::to_string(per_tenant));
  CHECK(world.ExecShared("SELECT count(*) FROM public.projects WHERE name LIKE 'globex client %'").at(0).at(0) == "0");
}

TEST_CASE("a named prepared statement follows its client to another server connection",
          "[tenants][transaction][prepared]") {
  TenantWorld world = TenantWorld::Create();
  ProxyProcess proxy(TransactionConfig(world, 2));
  PgConn client = MustConnectAs(proxy, "bob.acme");
  // Two more clients of the same pool hold server connections to steer the client to the other one.
  PgConn first_holder = MustConnectAs(proxy, "alice.acme");
  PgConn second_holder = MustConnectAs(proxy, "bob.acme");

  MustPrepare(client.get(), "S_1",
              "SELECT $1::int * 2 AS doubled, pg_backend_pid() AS pid, "
              "current_setting('app.current_organization_id') AS org, (SELECT count(*) FROM projects) AS visible",
              1);
  std::string last_pid = ExecPrepared(client.get(), "S_1", {"0"}).at(1);
  std::set<std::string> client_pids = {last_pid};

  for (int i = 1; i <= 10; ++i) {
    INFO("iteration " << i);
    MustExec(first_holder.get(), "BEGIN");
    const std::string first_pid = QueryValue(first_holder.get(), "SELECT pg_backend_pid()");
    MustExec(second_holder.get(), "BEGIN");
    const std::string second_pid = QueryValue(second_holder.get(), "SELECT pg_backend_pid()");
    REQUIRE(first_pid != second_pid);
    // Free the server connection the client did not use last: its statement must be prepared there.
    const bool first_has_last = first_pid == last_pid;
    PGconn* keeper = first_has_last ? first_holder.get() : second_holder.get();
    PGconn* releaser = first_has_last ? second_holder.get() : first_holder.get();
    const std::string freed_pid = first_has_last ? second_pid : first_pid;
    MustExec(releaser, "COMMIT");

    std::vector<std::string> row = ExecPrepared(client.get(), "S_1", {std::to_string(i)});
    CHECK(row.at(0) == std::to_string(2 * i));
    CHECK(row.at(1) == freed_pid);
    CHECK(row.at(2) == kAcmeId);
    CHECK(row.at(3) == "3");
    if (i == 5) {
      // Describe on a server that may not have seen the statement yet.
      PgResult described(PQdescribePrepared(client.get(), "S_1"));
      REQUIRE(PQresultStatus(described.get()) == PGRES_COMMAND_OK);
      CHECK(PQnparams(described.get()) == 1);
      CHECK(PQparamtype(described.get(), 0) == 23);  // int4
      REQUIRE(PQnfields(described.get()) == 4);
      CHECK(std::string(PQfname(described.get(), 0)) == "doubled");
      CHECK(std::string(PQfname(described.get(), 3)) == "visible");
    }
    MustExec(keeper, "COMMIT");
    last_pid = row.at(1);
    client_pids.insert(last_pid);
  }
  CHECK(client_pids.size() >= 2);

  // An unknown statement is still an error, and the session goes on.
  PgResult missing(PQexecPrepared(client.get(), "S_404", 0, nullptr, nullptr, nullptr, 0));
  CHECK(Sqlstate(missing.get()) == "26000");
  CHECK(ExecPrepared(client.get(), "S_1", {"21"}).at(0) == "42");
}

TEST_CASE("two clients preparing different statements under one name each get their own",
          "[tenants][transaction][prepared]") {
  TenantWorld world = TenantWorld::Create();
  ProxyProcess proxy(TransactionConfig(world, 2));

  struct Client {
    PgConn conn;
    std::string prefix;
  };
  std::vector<Client> clients;
  clients.push_back({MustConnectAs(proxy, "alice.acme"), "first"});
  clients.push_back({MustConnectAs(proxy, "bob.acme"), "second"});
  clients.push_back({MustConnectAs(proxy, "bob.acme"), "third"});
  clients.push_back({MustConnectAs(proxy, "uma.umbrella"), "fourth"});  // another tenant, another pool
  for (Client& c : clients) {
    MustPrepare(c.conn.get(), "S_1",
                "SELECT '" + c.prefix + ":' || $1::text, current_setting('app.current_organization_id')", 1);
  }
  // The same text under another name in another client: servers may share it, clients must not notice.
  MustPrepare(clients[1].conn.get(), "S_2",
              "SELECT 'first:' || $1::text, current_setting('app.current_organization_id')", 1);

  std::atomic<int> wrong{0};
  std::mutex mu;
  std::vector<std::string> failures;  // GUARDED_BY(mu)
  std::vector<std::thread> threads;
  for (size_t k = 0; k < clients.size(); ++k) {
    threads.emplace_back([&, k] {
      Client& c = clients[k];
      const std::string org = k == 3 ? kTenantWorldUmbrellaId : kAcmeId;
      try {
        for (int i = 0; i < 200; ++i) {
          std::vector<std::string> row = ExecPrepared(c.conn.get(), "S_1", {std::to_string(i)});
          if (row.at(0) != c.prefix + ":" + std::to_string(i) || row.at(1) != org) ++wrong;
          if (k == 1 && i % 10 == 0) {
            std::vector<std::string> same_text = ExecPrepared(c.conn.get(), "S_2", {std::to_string(i)});
            if (same_text.at(0) != "first:" + std::to_string(i)) ++wrong;
          }
        }
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mu);
        failures.push_back(c.prefix + ": " + e.what());
      }
    });
  }
  for (auto& t : threads) t.join();
  INFO((failures.empty() ? std::string() : failures.front()));
  CHECK(failures.empty());
  CHECK(wrong == 0);
}

// Reads a pipeline's results one by one (libpq: each query's results end with a null result, each
// sync point with PGRES_PIPELINE_SYNC).
class PipelineReader {
 public:
  explicit PipelineReader(PGconn* conn) : conn_(conn) {}

  // The next result, which must have status `expected`; for a query result, also its null end.
  PgResult Next(ExecStatusType expected, const std::string& what) {
    INFO("pipeline step: " << what);
    PgResult result(PQgetResult(conn_));
    REQUIRE(result != nullptr);
    INFO(PQresultErrorMessage(result.get()));
    REQUIRE(PQresultStatus(result.get()) == expected);
    if (expected != PGRES_PIPELINE_SYNC) {
      PgResult end(PQgetResult(conn_));
      CHECK(end == nullptr);
    }
    return result;
  }

  std::string Value(ExecStatusType expected, const std::string& what, int column = 0) {
    PgResult result = Next(expected, what);
    REQUIRE(PQntuples(result.get()) == 1);
    return PQgetvalue(result.get(), 0, column);
  }

 private:
  PGconn* conn_;
};

void SendPrepared(PGconn* conn, const std::string& name, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  for (const std::string& p : params) values.push_back(p.c_str());
  REQUIRE(PQsendQueryPrepared(conn, name.c_str(), static_cast<int>(values.size()), values.data(), nullptr, nullptr,
                              0) == 1);
}

TEST_CASE("pipeline mode with prepared statements in transaction pooling", "[tenants][transaction][prepared]") {
  TenantWorld world = TenantWorld::Create();
  ProxyProcess proxy(TransactionConfig(world, 2));
  PgConn conn = MustConnectAs(proxy, "bob.acme");
  PGconn* c = conn.get();
  MustPrepare(c, "S_1", "SELECT $1::int * 10, current_setting('app.current_organization_id')", 1);

  // Two other clients keep the pool busy, so the pipeline's segments meet different server connections.
  std::vector<std::jthread> churners;
  for (int k = 0; k < 2; ++k) {
    churners.emplace_back([&proxy](std::stop_token stop) {
      PgConn other = Connect(proxy.ConnString("alice.acme", TenantWorld::PasswordOf("alice"), "app"));
      if (PQstatus(other.get()) != CONNECTION_OK) return;
      while (!stop.stop_requested()) {
        PgResult r(PQexec(other.get(), "BEGIN; SELECT pg_sleep(0.002); COMMIT"));
      }
    });
  }

  PipelineReader reader(c);
  for (int round = 0; round < 30; ++round) {
    INFO("round " << round);
    const std::string name = "P_" + std::to_string(round);
    REQUIRE(PQenterPipelineMode(c) == 1);
    // Segment 1: prepare a statement (the same text every round, a new name) and run it three times.
    REQUIRE(PQsendPrepare(c, name.c_str(), "SELECT $1::int + $2::int", 2, nullptr) == 1);
    for (int k = 0; k < 3; ++k) SendPrepared(c, name, {std::to_string(k), std::to_string(round * 100)});
    REQUIRE(PQpipelineSync(c) == 1);
    // Segment 2: statements prepared earlier, outside the pipeline and in segment 1.
    for (int k = 1; k <= 2; ++k) {
      SendPrepared(c, "S_1", {std::to_string(round + k)});
      SendPrepared(c, name, {std::to_string(round + k), std::to_string(round + k)});
    }
    REQUIRE(PQpipelineSync(c) == 1);
    // Segment 3: a new statement described, then run.
    const std::string described = "D_" + std::to_string(round);
    REQUIRE(PQsendPrepare(c, described.c_str(), "SELECT $1::text AS echoed", 1, nullptr) == 1);
    REQUIRE(PQsendDescribePrepared(c, described.c_str()) == 1);
    SendPrepared(c, described, {"round " + std::to_string(round)});
    REQUIRE(PQpipelineSync(c) == 1);

    reader.Next(PGRES_COMMAND_OK, "prepare " + name);
    for (int k = 0; k < 3; ++k) {
      CHECK(reader.Value(PGRES_TUPLES_OK, "execute " + name) == std::to_string(k + round * 100));
    }
    reader.Next(PGRES_PIPELINE_SYNC, "sync 1");
    for (int k = 1; k <= 2; ++k) {
      CHECK(reader.Value(PGRES_TUPLES_OK, "execute S_1") == std::to_string((round + k) * 10));
      CHECK(reader.Value(PGRES_TUPLES_OK, "execute " + name) == std::to_string((round + k) * 2));
    }
    reader.Next(PGRES_PIPELINE_SYNC, "sync 2");
    reader.Next(PGRES_COMMAND_OK, "prepare " + described);
    PgResult description = reader.Next(PGRES_COMMAND_OK, "describe " + described);
    CHECK(PQnparams(description.get()) == 1);
    REQUIRE(PQnfields(description.get()) == 1);
    CHECK(std::string(PQfname(description.get(), 0)) == "echoed");
    CHECK(reader.Value(PGRES_TUPLES_OK, "execute " + described) == "round " + std::to_string(round));
    reader.Next(PGRES_PIPELINE_SYNC, "sync 3");
    REQUIRE(PQexitPipelineMode(c) == 1);
  }
  CHECK(QueryValue(c, "SELECT current_setting('app.current_organization_id')") == kAcmeId);
}

// A statement prepared on demand in a pipeline segment that then fails does not exist when the
// next segment, already sent, runs: pgtenant prepares it again there (ServerStatementCache::Ready).
TEST_CASE("an error in one pipeline segment does not lose statements for the next segments",
          "[tenants][transaction][prepared]") {
  TenantWorld world = TenantWorld::Create();
  ProxyProcess proxy(TransactionConfig(world, 2));
  PgConn conn = MustConnectAs(proxy, "bob.acme");
  PgConn holder = MustConnectAs(proxy, "alice.acme");
  PGconn* c = conn.get();
  MustPrepare(c, "S_1", "SELECT $1::int * 10", 1);  // prepared on the pool's first server connection...
  MustExec(holder.get(), "BEGIN");                 // ...which the holder now keeps
  MustExec(holder.get(), "SELECT 1");

  PipelineReader reader(c);
  REQUIRE(PQenterPipelineMode(c) == 1);
  // Segment 1 fails before S_1 (which pgtenant must prepare on this new server connection) runs.
  SendPrepared(c, "S_missing", {"1"});
  SendPrepared(c, "S_1", {"1"});
  REQUIRE(PQpipelineSync(c) == 1);
  // Segment 2 runs S_1 on the same server connection.
  SendPrepared(c, "S_1", {"2"});
  REQUIRE(PQpipelineSync(c) == 1);

  PgResult missing = reader.Next(PGRES_FATAL_ERROR, "execute S_missing");
  CHECK(Sqlstate(missing.get()) == "26000");
  reader.Next(PGRES_PIPELINE_ABORTED, "execute S_1, skipped");
  reader.Next(PGRES_PIPELINE_SYNC, "sync 1");
  CHECK(reader.Value(PGRES_TUPLES_OK, "execute S_1 after the failed segment") == "20");
  reader.Next(PGRES_PIPELINE_SYNC, "sync 2");
  REQUIRE(PQexitPipelineMode(c) == 1);
  MustExec(holder.get(), "COMMIT");
  CHECK(ExecPrepared(c, "S_1", {"3"}).at(0) == "30");
}

TEST_CASE("pgbench -M prepared in transaction pooling through pgtenant: no failed transaction",
          "[tenants][transaction][pgbench][cpu]") {
  PostgresServer& server = PostgresServer::Shared();
  TenantWorld world = TenantWorld::Create();
  ProxyConfig config = TransactionConfig(world, 4);
  // initech's login role owns its database: pgbench -i may create, truncate and vacuum its tables.
  config.tenants["initech"].extra = "policy: { rules: { ddl.schema_change: off, rls.bypass: off } }";
  ProxyProcess proxy(config);

  const std::map<std::string, std::string> env = ClientEnv(TenantWorld::PasswordOf("carol"));
  const std::vector<std::string> target = {"-h", "127.0.0.1", "-p", std::to_string(proxy.port()), "-U",
                                           "carol.initech"};

  std::vector<std::string> init = {server.bindir() + "/pgbench", "-i", "-s", "1", "-q"};
  init.insert(init.end(), target.begin(), target.end());
  init.push_back("initech_db");
  CommandResult initialized = RunCommand(init, env, "", std::chrono::seconds(120));
  INFO(initialized.output);
  REQUIRE(initialized.exit_code == 0);
  CHECK(world.ExecDedicated("SELECT count(*) FROM pgbench_accounts").at(0).at(0) == "100000");

  // 8 clients on a pool of 4; -j 8 gives each client its own thread (see the pgbench note in the
  // README: synchronous PQprepare of clients sharing a thread can wait on each other).
  std::vector<std::string> run = {server.bindir() + "/pgbench", "-M", "prepared", "-c", "8", "-j", "8", "-t", "60", "-n"};
  run.insert(run.end(), target.begin(), target.end());
  run.push_back("initech_db");
  CommandResult ran = RunCommand(run, env, "", std::chrono::seconds(60));
  CHECK_THAT(ran.output, Catch::Contains("query mode: prepared"));
  CheckPgbenchClean(ran, 8 * 60 - 1);  // a count, not a duration: the same work however loaded the machine
  // No more than the pool's 4 server connections served the 8 clients (counted by pgtenant's server
  // role: the harness's own superuser connections may not have left pg_stat_activity yet).
  CHECK(std::stoi(server.Exec("SELECT count(*) FROM pg_stat_activity WHERE datname = '" + world.dedicated.database +
                              "' AND usename = '" + world.dedicated.role + "'")
                      .at(0)
                      .at(0)) <= 4);
  // And every transaction was whole: the balances add up to the history (tpcb-like updates all four).
  CHECK(world.ExecDedicated("SELECT (SELECT sum(abalance) FROM pgbench_accounts) = (SELECT sum(delta) FROM "
                            "pgbench_history) AND (SELECT sum(bbalance) FROM pgbench_branches) = (SELECT sum(delta) "
                            "FROM pgbench_history)")
            .at(0)
            .at(0) == "t");
}

TEST_CASE("transaction pooling: a full pool answers 53300 and the session goes on; session state is refused",
          "[tenants][transaction]") {
  TenantWorld world = TenantWorld::Create();
  ProxyConfig config = TransactionConfig(world, 1);
  config.pool_wait_timeout = "1s";
  ProxyProcess proxy(config);
  PgConn holder = MustConnectAs(proxy, "alice.acme");
  PgConn waiter = MustConnectAs(proxy, "bob.acme");

  MustExec(holder.get(), "BEGIN");
  MustExec(holder.get(), "SELECT 1");
  const auto started = std::chrono::steady_clock::now();
  auto results = ExecWithTimeout(waiter.get(), "SELECT 1", std::chrono::seconds(10));
  const auto waited = std::chrono::steady_clock::now() - started;
  REQUIRE(results.has_value());
  REQUIRE_FALSE(results->empty());
  CHECK(Sqlstate(results->front().get()) == "53300");
  CHECK(waited >= std::chrono::milliseconds(900));
  CHECK(waited < std::chrono::seconds(4));
  // Another tenant has its own pool: not blocked by acme's.
  PgConn umbrella = MustConnectAs(proxy, "uma.umbrella");
  CHECK(QueryValue(umbrella.get(), "SELECT current_setting('app.current_organization_id')") == kTenantWorldUmbrellaId);

  MustExec(holder.get(), "COMMIT");
  CHECK(PQstatus(waiter.get()) == CONNECTION_OK);
  CHECK(QueryValue(waiter.get(), "SELECT current_setting('app.current_organization_id')") == kAcmeId);

  // What would outlive the transaction on a shared server connection is refused, not silently lost.
  for (const char* sql : {"LISTEN acme_events", "SET work_mem = '64MB'", "PREPARE p AS SELECT 1",
                          "CREATE TEMP TABLE scratch (x int)"}) {
    INFO(sql);
    PgResult refused = Exec(waiter.get(), sql);
    CHECK(Sqlstate(refused.get()) == "42501");
    CHECK_THAT(ErrorMessage(refused.get()), Catch::Contains("pooling.session_state"));
  }
  // SET LOCAL lives and dies with its transaction: allowed.
  MustExec(waiter.get(), "BEGIN");
  MustExec(waiter.get(), "SET LOCAL work_mem = '64MB'");
  CHECK(QueryValue(waiter.get(), "SHOW work_mem") == "64MB");
  MustExec(waiter.get(), "COMMIT");
  CHECK(QueryValue(waiter.get(), "SHOW work_mem") != "64MB");
}

TEST_CASE("transaction pooling: clients taking turns on one server connection each find their own startup parameters",
          "[tenants][transaction]") {
  TenantWorld world = TenantWorld::Create();
  ProxyProcess proxy(TransactionConfig(world, 1));
  auto connect = [&](const std::string& login, const std::string& application) {
    return MustConnectProxy(proxy, login, TenantWorld::PasswordOf(login.substr(0, login.find('.'))), "app",
                            "application_name=" + application);
  };
  PgConn billing = connect("alice.acme", "billing");
  PgConn billing_too = connect("alice.acme", "billing");  // an equal login: the same parameters
  PgConn reports = connect("bob.acme", "reports");
  const std::string server_pid = QueryValue(billing.get(), "SELECT pg_backend_pid()");
  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    CHECK(QueryValue(billing.get(), "SHOW application_name") == "billing");
    CHECK(QueryValue(reports.get(), "SHOW application_name") == "reports");
    CHECK(QueryValue(billing_too.get(), "SHOW application_name") == "billing");
    CHECK(QueryValue(billing.get(), "SHOW application_name") == "billing");
    // A parameter changed inside a transaction is back to the client's own value in the next one.
    MustExec(billing_too.get(), "BEGIN");
    MustExec(billing_too.get(), "SET LOCAL application_name = 'for a moment'");
    CHECK(QueryValue(billing_too.get(), "SHOW application_name") == "for a moment");
    MustExec(billing_too.get(), "COMMIT");
    CHECK(QueryValue(billing.get(), "SHOW application_name") == "billing");
    CHECK(QueryValue(reports.get(), "SELECT pg_backend_pid()") == server_pid);  // one server connection throughout
  }
}

}  // namespace
}  // namespace pgtenant::integration
