// SIGTERM's drain. Its deadline: a transaction left open past limits.shutdown_timeout is rolled back and
// its connection ended at the deadline, and the process has exited within one second of it (it used to
// linger five more seconds when a client did not read: its last error waited for a flush). And clients
// that were logging in when SIGTERM came finish their login and first transaction.
#include <catch2/catch.hpp>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/harness/net.h"
#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/poll.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_CASE("SIGTERM with a transaction left open past limits.shutdown_timeout exits within the timeout plus one "
          "second", "[lifecycle][shutdown]") {
  PostgresServer& server = PostgresServer::Shared();
  TestDatabase db = server.CreateTestDatabase("deadline");
  server.Exec("CREATE TABLE kept (x int); ALTER TABLE kept OWNER TO " + db.role, db.database);
  ProxyConfig config = StandardConfig(db);
  config.limits_extra = "shutdown_timeout: 2s";
  const milliseconds shutdown_timeout = seconds(2);
  ProxyProcess proxy(config);
  PgConn open = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  PgConn idle = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  MustExec(open.get(), "BEGIN");
  MustExec(open.get(), "INSERT INTO kept VALUES (1)");
  // A client inside a transaction whose result it does not read: pgtenant's output to it backs up.
  RawClient deaf(proxy.port());
  REQUIRE(deaf.Login("alice", kAlicePassword, "app").empty());
  REQUIRE(deaf.Send(Message('Q', std::string("BEGIN") + '\0')));
  auto ready = deaf.Read(seconds(5));
  while (ready && ready->type != 'Z') ready = deaf.Read(seconds(5));
  REQUIRE(ready.has_value());
  const std::string flood = "SELECT repeat('x', 1000) FROM generate_series(1, 500000)";
  REQUIRE(deaf.Send(Message('Q', flood + '\0')));
  REQUIRE(server.AwaitActiveQuery(db.database, flood, seconds(5)));

  const auto signalled = std::chrono::steady_clock::now();
  proxy.Signal(SIGTERM);
  std::optional<int> status = proxy.WaitForExit(shutdown_timeout + seconds(10));
  const auto exited_after = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - signalled);
  INFO("exited " << exited_after.count() << " ms after SIGTERM; log:\n" << proxy.Log());
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK(exited_after >= shutdown_timeout);  // the transaction had its time
  CHECK(exited_after < shutdown_timeout + seconds(1));

  // The open transaction was rolled back and its connection ended. (Its 57P01 does not reach libpq
  // here: COMMIT after the exit reads "server closed the connection unexpectedly". Open question,
  // recorded in the closing note of issue 25; the rollback and the exit time are what is checked.)
  PgResult after = Exec(open.get(), "COMMIT");
  CHECK(PQresultStatus(after.get()) == PGRES_FATAL_ERROR);
  CHECK(server.Exec("SELECT count(*) FROM kept", db.database).at(0).at(0) == "0");
  PgResult idle_result = Exec(idle.get(), "SELECT 1");
  CHECK(PQresultStatus(idle_result.get()) == PGRES_FATAL_ERROR);
}

TEST_CASE("clients logging in at SIGTERM finish their login and first transaction, also those whose pool "
          "lives on a worker that had drained", "[lifecycle][shutdown]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("drainlogin");
  ProxyConfig config = StandardConfig(db);
  config.pool_mode = "transaction";
  // Pools fill worker 0 (worker_placement adaptive); the kernel spreads accepts over all eight. A worker
  // with no session drains its pools at SIGTERM: a client accepted elsewhere that then moved to the
  // pool's worker used to wait in a closed pool until pool.wait_timeout (53300), found by the restart
  // recipe's loop. Seven in eight runs have such a client last, after worker 0's own clients are done.
  config.extra_yaml += "workers: 8\n";
  ProxyProcess proxy(config);
  {
    PgConn warm = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
    MustExec(warm.get(), "SELECT 1");  // the pool exists, on worker 0
  }
  constexpr int kClients = 8;
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<RawClient>(proxy.port()));
    REQUIRE(clients.back()->BeginLogin("alice", "app").empty());  // accepted, asked for a password
  }
  proxy.Signal(SIGTERM);
  REQUIRE(PollUntil([&] { return !CanConnect(proxy.port()); }, seconds(10)));  // every worker is draining

  for (int i = 0; i < kClients; ++i) {
    INFO("client " << i << "; log:\n" << proxy.Log());
    REQUIRE(clients[i]->FinishLogin(kAlicePassword).empty());
    REQUIRE(clients[i]->Send(Message('Q', std::string("SELECT 1") + '\0')));
    std::string error;
    std::optional<BackendMessage> message = clients[i]->Read(seconds(10));
    for (; message && message->type != 'Z'; message = clients[i]->Read(seconds(10))) {
      if (message->type == 'E') error = ParseErrorFields(message->body)['M'];
    }
    CHECK(error.empty());
    CHECK(message.has_value());
  }
  std::optional<int> status = proxy.WaitForExit(seconds(10));
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
}

}  // namespace
}  // namespace pgtenant::integration
