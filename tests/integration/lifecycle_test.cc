// The pgtenant command line: --check-config, --hash-password, and shutdown on SIGTERM/SIGINT.
#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/wait.h>

#include <string>

#include "tests/integration/harness/net.h"
#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/poll.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/temp_dir.h"

namespace pgtenant::integration {
namespace {

int ExitCodeOf(int wait_status) { return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1; }

TEST_CASE("SIGTERM and SIGINT make pgtenant close its port and exit 0", "[lifecycle]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("lifecycle");
  for (const int sig : {SIGTERM, SIGINT}) {
    ProxyProcess proxy(StandardConfig(db));
    {
      PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
      CHECK(QueryValue(conn.get(), "SELECT 1") == "1");
    }
    proxy.Signal(sig);
    auto status = proxy.WaitForExit(std::chrono::seconds(10));
    INFO("signal " << sig << "; log:\n" << proxy.Log());
    REQUIRE(status.has_value());
    CHECK(ExitCodeOf(*status) == 0);
    CHECK_FALSE(CanConnect(proxy.port()));
  }
}

TEST_CASE("--check-config exits 0 for a valid file and 1 with a message for an invalid one", "[lifecycle]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("lifecycle");
  TempDir dir("pgtenant-config-");
  ProxyConfig config = StandardConfig(db);
  config.port = FreePort();
  WriteFile(dir.File("good.yaml"), config.ToYaml());
  ProxyConfig bad_size = config;
  bad_size.max_query_size = "a lot";
  WriteFile(dir.File("bad.yaml"), bad_size.ToYaml());
  WriteFile(dir.File("unknown_key.yaml"), config.ToYaml() + "no_such_section: { x: 1 }\n");

  CommandResult good = RunCommand({PGTENANT_BINARY, "--check-config", dir.File("good.yaml")});
  INFO(good.output);
  CHECK(good.exit_code == 0);

  CommandResult bad = RunCommand({PGTENANT_BINARY, "--check-config", dir.File("bad.yaml")});
  INFO(bad.output);
  CHECK(bad.exit_code == 1);
  CHECK_FALSE(bad.output.empty());

  CommandResult unknown = RunCommand({PGTENANT_BINARY, "--check-config", dir.File("unknown_key.yaml")});
  INFO(unknown.output);
  CHECK(unknown.exit_code == 1);

  CommandResult missing = RunCommand({PGTENANT_BINARY, "--check-config", dir.File("missing.yaml")});
  CHECK(missing.exit_code == 1);
}

TEST_CASE("a command line pgtenant does not know exits 2 and names what it did not know", "[lifecycle]") {
  CommandResult unknown = RunCommand({PGTENANT_BINARY, "--config", "unused.yaml", "--no-such-flag"});
  INFO(unknown.output);
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.output, Catch::Contains("--no-such-flag"));
  CHECK_THAT(unknown.output, Catch::Contains("usage:"));

  CommandResult orphan = RunCommand({PGTENANT_BINARY, "--md5", "bob"});
  INFO(orphan.output);
  CHECK(orphan.exit_code == 2);
  CHECK_THAT(orphan.output, Catch::Contains("--md5 requires --hash-password"));

  CommandResult version = RunCommand({PGTENANT_BINARY, "--version"});
  CHECK(version.exit_code == 0);
  CHECK_THAT(version.output, Catch::StartsWith("pgtenant "));
}

TEST_CASE("--hash-password prints a SCRAM verifier that logs the user in", "[lifecycle][auth]") {
  CommandResult hashed = RunCommand({PGTENANT_BINARY, "--hash-password"}, {}, "carol's s3cret\n");
  REQUIRE(hashed.exit_code == 0);
  std::string verifier = hashed.output;
  while (!verifier.empty() && verifier.back() == '\n') verifier.pop_back();
  CHECK_THAT(verifier, Catch::StartsWith("SCRAM-SHA-256$4096:"));
  CHECK(verifier.find("carol") == std::string::npos);

  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("lifecycle");
  ProxyConfig config = StandardConfig(db);
  config.user_secrets["carol"] = verifier;
  config.memberships["carol"]["acme"] = "member";
  ProxyProcess proxy(config);
  PgConn carol = MustConnectProxy(proxy, "carol", "carol's s3cret", "app");
  CHECK(QueryValue(carol.get(), "SELECT 'carol in'") == "carol in");
  PgConn wrong = ConnectProxy(proxy, "carol", "carol's secret", "app");
  CHECK(PQstatus(wrong.get()) == CONNECTION_BAD);
}

TEST_CASE("limits.client_idle_timeout closes idle clients with 57P05, in either pool mode", "[lifecycle]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("lifecycle");
  for (const std::string mode : {"session", "transaction"}) {
    INFO("pool mode " << mode);
    ProxyConfig config = StandardConfig(db);
    config.pool_mode = mode;
    config.client_idle_timeout = "1s";
    ProxyProcess proxy(config);
    PgConn idle = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
    PgConn busy = MustConnectProxy(proxy, "bob", kBobPassword, "app");
    PgConn open_transaction = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
    MustExec(open_transaction.get(), "BEGIN");
    // The idle client's last word comes after BEGIN: once it is closed, the client in a transaction has
    // been silent longer, and would have been closed too if idle in a transaction counted as idle.
    REQUIRE(QueryValue(idle.get(), "SELECT 1") == "1");
    // The busy client keeps asking (every 100 ms); the others say nothing, until pgtenant tells the idle one.
    REQUIRE(PollUntil(
        [&] {
          CHECK(QueryValue(busy.get(), "SELECT 2") == "2");
          return WaitReadable(idle.get(), std::chrono::milliseconds(10));
        },
        std::chrono::seconds(10), std::chrono::milliseconds(100)));
    PgResult after = Exec(idle.get(), "SELECT 1");
    CHECK(PQresultStatus(after.get()) == PGRES_FATAL_ERROR);
    CHECK(std::string(PQerrorMessage(idle.get())).find("idle-session timeout") != std::string::npos);
    CHECK(PQstatus(idle.get()) == CONNECTION_BAD);
    // Idle in a transaction is not idle between transactions: that session stays.
    CHECK(QueryValue(open_transaction.get(), "SELECT 3") == "3");
    MustExec(open_transaction.get(), "COMMIT");
    CHECK(QueryValue(busy.get(), "SELECT 2") == "2");
  }
}

}  // namespace
}  // namespace pgtenant::integration
