// Backpressure: a client that stops reading makes pgtenant stop reading its server, so the
// proxy's memory stays bounded however large the result is.
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <chrono>
#include <fstream>
#include <string>

#include "tests/integration/harness/net.h"
#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/poll.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

// Resident set size of a process in KiB, from /proc/PID/status.
long ResidentKiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

TEST_CASE("a client that stops reading a 200 MB result does not make the proxy buffer it", "[backpressure]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("backpressure");
  ProxyProcess proxy(StandardConfig(db));
  RawClient raw(proxy.port());
  REQUIRE(raw.Login("alice", kAlicePassword, "app").empty());
  const long before = ResidentKiB(proxy.pid());
  REQUIRE(before > 0);

  // 200,000 rows of 1,000 bytes: far more than the kernel's socket buffers hold.
  REQUIRE(raw.Send(Message('Q', std::string("SELECT repeat('x', 1000) FROM generate_series(1, 200000)") + '\0')));
  // The client reads nothing meanwhile. Once the proxy has stopped reading its server, PostgreSQL's session
  // waits to write (wait_event ClientWrite): measure then. A proxy that buffered the whole result would let
  // the query finish instead.
  PostgresServer& server = PostgresServer::Shared();
  const std::string blocked_sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = '" + db.database +
                                  "' AND state = 'active' AND wait_event = 'ClientWrite'";
  REQUIRE(PollUntil([&] { return server.Exec(blocked_sql).at(0).at(0) != "0"; }, std::chrono::seconds(10),
                    std::chrono::milliseconds(50)));
  const long stalled = ResidentKiB(proxy.pid());
  INFO("RSS before " << before << " KiB, while the client stalls " << stalled << " KiB");
  CHECK(stalled - before < 16 * 1024);

  // Reading resumes: every row arrives, then the command tag and ReadyForQuery.
  size_t rows = 0;
  bool done = false;
  while (!done) {
    auto message = raw.Read(std::chrono::seconds(10));
    REQUIRE(message.has_value());
    if (message->type == 'D') ++rows;
    if (message->type == 'Z') done = true;
    REQUIRE(message->type != 'E');
  }
  CHECK(rows == 200000);
  const long after = ResidentKiB(proxy.pid());
  INFO("RSS after the result " << after << " KiB");
  CHECK(after - before < 16 * 1024);
}

}  // namespace
}  // namespace pgtenant::integration
