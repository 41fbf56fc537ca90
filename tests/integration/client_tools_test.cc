// Stock PostgreSQL client programs through pgtenant: psql and pgbench work unchanged.
#include <catch2/catch.hpp>

#include <string>

#include "tests/integration/harness/client_programs.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

TEST_CASE("psql -c 'select 1' through the proxy", "[tools]") {
  PostgresServer& server = PostgresServer::Shared();
  TestDatabase db = server.CreateTestDatabase("psql");
  ProxyProcess proxy(StandardConfig(db));
  const std::string target = "host=127.0.0.1 port=" + std::to_string(proxy.port()) + " user=alice dbname=app";

  CommandResult ok = RunCommand({server.bindir() + "/psql", "-X", "-At", "-c", "select 1", target},
                                ClientEnv(kAlicePassword));
  INFO(ok.output);
  CHECK(ok.exit_code == 0);
  CHECK(ok.output == "1\n");

  CommandResult error = RunCommand(
      {server.bindir() + "/psql", "-X", "-v", "ON_ERROR_STOP=1", "-c", "select 1/0", target}, ClientEnv(kAlicePassword));
  CHECK(error.exit_code == 1);
  CHECK_THAT(error.output, Catch::Contains("division by zero"));

  CommandResult refused =
      RunCommand({server.bindir() + "/psql", "-X", "-c", "select 1", target}, ClientEnv("wrong password"));
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.output, Catch::Contains("FATAL"));
}

TEST_CASE("pgbench -i -s 1 and an 8-client run through the proxy: no failed transactions", "[tools][pgbench][cpu]") {
  PostgresServer& server = PostgresServer::Shared();
  TestDatabase db = server.CreateTestDatabase("pgbench");
  ProxyConfig config = StandardConfig(db);
  config.pool_size = 10;
  ProxyProcess proxy(config);
  const std::vector<std::string> target = {"-h", "127.0.0.1", "-p", std::to_string(proxy.port()), "-U", "alice"};

  std::vector<std::string> init = {server.bindir() + "/pgbench", "-i", "-s", "1"};
  init.insert(init.end(), target.begin(), target.end());
  init.push_back("app");
  CommandResult initialized = RunCommand(init, ClientEnv(kAlicePassword), "", std::chrono::seconds(120));
  INFO(initialized.output);
  REQUIRE(initialized.exit_code == 0);
  CHECK_THAT(initialized.output, Catch::Contains("done in"));
  auto accounts = server.Exec("SELECT count(*) FROM pgbench_accounts", db.database);
  CHECK(accounts.at(0).at(0) == "100000");

  std::vector<std::string> run = {server.bindir() + "/pgbench", "-c", "8", "-j", "2", "-t", "50", "-n"};
  run.insert(run.end(), target.begin(), target.end());
  run.push_back("app");
  CheckPgbenchClean(RunCommand(run, ClientEnv(kAlicePassword), "", std::chrono::seconds(60)));
}

}  // namespace
}  // namespace pgtenant::integration
