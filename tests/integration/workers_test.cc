// workers: N event-loop threads (issue 5). The pools of four tenants are spread over four workers;
// each client's session moves to the worker that owns its pool, its cancel key names that worker,
// and a cancel request accepted by any worker reaches it. The admin console sees every worker.
#include <catch2/catch.hpp>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <future>
#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/temp_dir.h"
#include "tests/integration/harness/tenant_world.h"

namespace pgtenant::integration {
namespace {

using std::chrono::seconds;

constexpr char kOpsPassword[] = "ops-secret";
constexpr int kWorkerShift = 15;  // proxy/peer_cancel.h: bits 20..15 of the pid name the worker

// One login per tenant of the TenantWorld.
const std::map<std::string, std::string> kLogins = {
    {"acme", "bob.acme"}, {"umbrella", "uma.umbrella"}, {"globex", "gina.globex"}, {"initech", "carol.initech"}};

ProxyConfig WorkersConfig(const TenantWorld& world, int workers) {
  ProxyConfig config = world.Config();
  config.pool_mode = "transaction";
  config.pool_size = 3;
  config.pool_wait_timeout = "30s";
  config.users["ops"] = kOpsPassword;
  config.admins = {"ops"};
  config.extra_yaml += "workers: " + std::to_string(workers) + "\n";
  return config;
}

// The database a tenant's clients ask for: initech's own, the shared one for the others.
std::string DatabaseOf(const std::string& login) { return login == "carol.initech" ? "initech_db" : "app"; }

PgConn ConnectAs(const ProxyProcess& proxy, const std::string& login) {
  return MustConnectProxy(proxy, login, TenantWorld::PasswordOf(login.substr(0, login.find('.'))), DatabaseOf(login));
}

int WorkerOf(PGconn* conn) { return (PQbackendPID(conn) >> kWorkerShift) & 63; }

// The rows of a console SHOW, each as "col|col|...".
std::vector<std::string> Show(const ProxyProcess& proxy, const std::string& what) {
  PgConn console = MustConnectProxy(proxy, "ops", kOpsPassword, "pgtenant");
  auto results = ExecWithTimeout(console.get(), "SHOW " + what, seconds(5));
  REQUIRE(results.has_value());
  REQUIRE(results->size() == 1);
  const PGresult* result = (*results)[0].get();
  std::vector<std::string> rows;
  for (int row = 0; row < PQntuples(result); ++row) {
    std::string line;
    for (int column = 0; column < PQnfields(result); ++column)
      line += (column ? "|" : "") + std::string(PQgetvalue(result, row, column));
    rows.push_back(line);
  }
  return rows;
}

size_t CountStartingWith(const std::vector<std::string>& rows, const std::string& prefix) {
  size_t n = 0;
  for (const std::string& row : rows) n += row.rfind(prefix, 0) == 0 ? 1 : 0;
  return n;
}

TEST_CASE("workers: 4 spreads four tenants' pools over four workers; each client sees its own tenant, cancels "
          "reach every worker, and the console sees them all", "[workers]") {
  TenantWorld world = TenantWorld::Create();
  ProxyProcess proxy(WorkersConfig(world, 4));

  std::map<std::string, PgConn> clients;
  std::set<int> workers;
  for (const auto& [tenant, login] : kLogins) {
    PgConn conn = ConnectAs(proxy, login);
    INFO(login);
    CHECK(QueryColumn(conn.get(), "SELECT name FROM projects ORDER BY name") == TenantWorld::ProjectsOf(tenant));
    CHECK(QueryValue(conn.get(), "SELECT current_setting('app.current_organization_id')") ==
          TenantWorld::IdOf(tenant));
    workers.insert(WorkerOf(conn.get()));
    clients.emplace(tenant, std::move(conn));
  }
  CHECK(workers == std::set<int>{0, 1, 2, 3});  // one pool per worker: the fewest-pools placement

  // A second client of a pool joins the worker that owns it.
  PgConn second = ConnectAs(proxy, "bob.acme");
  CHECK(WorkerOf(second.get()) == WorkerOf(clients.at("acme").get()));

  // Cancel requests are accepted by whichever worker the kernel wakes; each reaches its session.
  for (auto& [tenant, conn] : clients) {
    INFO(tenant);
    REQUIRE(PQsendQuery(conn.get(), "SELECT pg_sleep(30)") == 1);
    REQUIRE(PostgresServer::Shared().AwaitActiveQuery(
        tenant == "initech" ? world.dedicated.database : world.shared.database, "SELECT pg_sleep(30)", seconds(5)));
    const auto started = std::chrono::steady_clock::now();
    PGcancel* cancel = PQgetCancel(conn.get());
    REQUIRE(cancel != nullptr);
    char error[256] = {0};
    CHECK(PQcancel(cancel, error, sizeof error) == 1);
    PQfreeCancel(cancel);
    auto results = CollectResults(conn.get(), seconds(3));
    REQUIRE(results.has_value());
    REQUIRE_FALSE(results->empty());
    CHECK(Sqlstate(results->front().get()) == "57014");
    CHECK(std::chrono::steady_clock::now() - started < seconds(2));
    CHECK(QueryValue(conn.get(), "SELECT 'after cancel'") == "after cancel");
  }

  // The console runs on one worker and shows every worker's sessions and pools.
  const std::vector<std::string> settings = Show(proxy, "CONFIG");
  CHECK(std::find(settings.begin(), settings.end(), "workers|4") != settings.end());
  const std::vector<std::string> shown = Show(proxy, "CLIENTS");
  for (const auto& [tenant, login] : kLogins) {
    INFO(tenant);
    CHECK(CountStartingWith(shown, "C|" + login.substr(0, login.find('.')) + "|" + tenant + "|") >= 1);
  }
  CHECK(CountStartingWith(shown, "C|bob|acme|") == 2);
  const std::vector<std::string> pools = Show(proxy, "POOLS");
  CHECK(pools.size() == 4);
  std::set<std::string> tenants_shown;
  for (const std::string& row : Show(proxy, "TENANTS")) tenants_shown.insert(row);
  CHECK(CountStartingWith(Show(proxy, "TENANTS"), "acme|") == 1);  // one row per tenant, counts summed
  bool acme_two = false;
  for (const std::string& row : tenants_shown)
    if (row.rfind("acme|", 0) == 0) acme_two = std::regex_search(row, std::regex("\\|2\\|0\\|0$"));
  CHECK(acme_two);  // current_clients 2 (bob twice), not paused, not disabled

  // KILL reaches the worker of the tenant's sessions.
  PgConn console = MustConnectProxy(proxy, "ops", kOpsPassword, "pgtenant");
  REQUIRE(ExecWithTimeout(console.get(), "KILL umbrella", seconds(5)).has_value());
  PgResult gone = Exec(clients.at("umbrella").get(), "SELECT 1");
  CHECK(PQresultStatus(gone.get()) != PGRES_TUPLES_OK);
  CHECK(QueryValue(clients.at("acme").get(), "SELECT 'still here'") == "still here");
}

TEST_CASE("workers: 4 under pgbench on four tenants at once: no failed transaction, and SIGTERM exits 0",
          "[workers]") {
  TenantWorld world = TenantWorld::Create();
  ProxyProcess proxy(WorkersConfig(world, 4));
  TempDir dir("pgtenant-workers-");
  const std::string script = dir.File("count.sql");
  WriteFile(script, "SELECT count(*) FROM projects;\n");

  std::vector<std::future<CommandResult>> runs;
  for (const auto& [tenant, login] : kLogins) {
    const std::string user = login.substr(0, login.find('.'));
    std::vector<std::string> argv = {PostgresServer::Shared().bindir() + "/pgbench", "-n", "-c", "4", "-j", "1",
                                     "-T", "4", "-f", script, "-h", "127.0.0.1", "-p", std::to_string(proxy.port()),
                                     "-U", login, DatabaseOf(login)};
    runs.push_back(std::async(std::launch::async, [argv, user] {
      return RunCommand(argv, {{"PGPASSWORD", TenantWorld::PasswordOf(user)}, {"PGGSSENCMODE", "disable"}}, "",
                        seconds(60));
    }));
  }
  for (auto& run : runs) {
    CommandResult ran = run.get();
    INFO(ran.output);
    REQUIRE(ran.exit_code == 0);
    std::smatch failed, processed;
    REQUIRE(std::regex_search(ran.output, failed, std::regex("number of failed transactions: (\\d+)")));
    CHECK(failed[1] == "0");
    REQUIRE(std::regex_search(ran.output, processed, std::regex("actually processed: (\\d+)")));
    CHECK(std::stoi(processed[1]) > 100);
  }
  proxy.Signal(SIGTERM);
  auto status = proxy.WaitForExit(seconds(10));
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
}

}  // namespace
}  // namespace pgtenant::integration
