// /healthz and /readyz on the metrics listener: liveness of the process and its loops, readiness that
// follows the backends' health and the drain after SIGTERM (issue 25).
//
// The backend test stops a PostgreSQL of its own (PostgresServer::StartPrivate), never the shared one.
#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>

#include "tests/integration/harness/free_port.h"
#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/poll.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

using std::chrono::seconds;

struct HttpAnswer {
  int status = 0;  // 0: no answer
  std::string body;
};

// GET `path` from 127.0.0.1:port, one request per connection as the endpoint serves them.
HttpAnswer HttpGet(int port, const std::string& path) {
  HttpAnswer answer;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return answer;
  timeval wait{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return answer;
  }
  std::string response;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof(buffer))) > 0;) response.append(buffer, static_cast<size_t>(n));
  ::close(fd);
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return answer;
  answer.status = std::stoi(response.substr(9, 3));
  const size_t body = response.find("\r\n\r\n");
  if (body != std::string::npos) answer.body = response.substr(body + 4);
  return answer;
}

// Polls `path` until it answers `status`; the last answer.
HttpAnswer AwaitStatus(int port, const std::string& path, int status, std::chrono::milliseconds timeout) {
  HttpAnswer last;
  PollUntil([&] { return (last = HttpGet(port, path)).status == status; }, timeout, std::chrono::milliseconds(50));
  return last;
}

std::string MetricsYaml(int port) {
  return "metrics: { address: 127.0.0.1, port: " + std::to_string(port) + " }\n";
}

TEST_CASE("/readyz answers 503 while the only backend is down and 200 again once it is back; /healthz stays 200",
          "[health][probes]") {
  std::unique_ptr<PostgresServer> server = PostgresServer::StartPrivate();
  TestDatabase db{"probes_" + RandomHex(4) + "_role", RandomHex(12), ""};
  db.database = "probes_" + RandomHex(4) + "_db";
  server->CreateRoleAndDatabase(db.role, db.password, db.database);
  db.port = server->port();
  ProxyConfig config = StandardConfig(db);
  config.backends["app"].port = server->port();
  const int metrics_port = FreePort();
  config.extra_yaml += "health_check: { interval: 300ms, timeout: 1s }\n";
  config.extra_yaml += MetricsYaml(metrics_port);
  ProxyProcess proxy(config);

  HttpAnswer ready = AwaitStatus(metrics_port, "/readyz", 200, seconds(5));
  INFO("readyz: " << ready.status << " " << ready.body);
  REQUIRE(ready.status == 200);
  CHECK(ready.body == "ready: listening on 127.0.0.1:" + std::to_string(proxy.port()) + ", backends up: app\n");
  HttpAnswer alive = HttpGet(metrics_port, "/healthz");
  CHECK(alive.status == 200);
  CHECK_THAT(alive.body, Catch::StartsWith("alive: "));

  server->Stop();
  HttpAnswer down = AwaitStatus(metrics_port, "/readyz", 503, seconds(5));
  INFO("readyz with the backend stopped: " << down.status << " " << down.body);
  REQUIRE(down.status == 503);
  CHECK_THAT(down.body, Catch::StartsWith("not ready: no backend is up: app (127.0.0.1:" +
                                          std::to_string(server->port()) + ": "));
  CHECK(HttpGet(metrics_port, "/healthz").status == 200);  // the process is fine: only its backend is not

  server->Start();
  HttpAnswer back = AwaitStatus(metrics_port, "/readyz", 200, seconds(5));
  INFO("readyz once the backend is back: " << back.status << " " << back.body);
  CHECK(back.status == 200);
  PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  CHECK(QueryValue(conn.get(), "SELECT 'served'") == "served");
}

TEST_CASE("/readyz answers 503 during the drain after SIGTERM while a client holds a transaction open, and /healthz "
          "200", "[health][probes][shutdown]") {
  PostgresServer& server = PostgresServer::Shared();
  TestDatabase db = server.CreateTestDatabase("probes");
  server.Exec("CREATE TABLE drained (x int); ALTER TABLE drained OWNER TO " + db.role, db.database);
  ProxyConfig config = StandardConfig(db);
  const int metrics_port = FreePort();
  config.extra_yaml += MetricsYaml(metrics_port);
  ProxyProcess proxy(config);
  // Without health checks a backend counts as up until a connection to it fails.
  REQUIRE(AwaitStatus(metrics_port, "/readyz", 200, seconds(5)).status == 200);

  PgConn busy = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  MustExec(busy.get(), "BEGIN");
  MustExec(busy.get(), "INSERT INTO drained VALUES (1)");
  proxy.Signal(SIGTERM);

  HttpAnswer draining = AwaitStatus(metrics_port, "/readyz", 503, seconds(5));
  INFO("readyz while draining: " << draining.status << " " << draining.body);
  REQUIRE(draining.status == 503);
  CHECK_THAT(draining.body, Catch::Contains("draining"));
  CHECK(HttpGet(metrics_port, "/healthz").status == 200);

  // The transaction finishes, and then the process exits.
  MustExec(busy.get(), "INSERT INTO drained VALUES (2)");
  MustExec(busy.get(), "COMMIT");
  CHECK(server.Exec("SELECT count(*) FROM drained", db.database).at(0).at(0) == "2");
  std::optional<int> status = proxy.WaitForExit(seconds(10));
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
}

}  // namespace
}  // namespace pgtenant::integration
