// Faults through the real proxy: PostgreSQL killed or frozen under a session, clients that vanish
// mid-transaction or mid-COPY, a slow-drip startup, and a flood of connection attempts. Each fault
// must end in an error or a close (never a hang), and the pool must come back clean.
//
// A test that stops or freezes PostgreSQL does it to a private one (other test processes use the shared
// one meanwhile), and restarts or thaws it in the same test, through a guard that also runs when an
// assertion fails: the recovery is part of what is tested.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <dirent.h>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/harness/net.h"
#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

// Starts the server again when the test leaves, whatever happened in between.
class RestartOnExit {
 public:
  explicit RestartOnExit(PostgresServer& server) : server_(server) {}
  ~RestartOnExit() { server_.Start(); }
  RestartOnExit(const RestartOnExit&) = delete;
  RestartOnExit& operator=(const RestartOnExit&) = delete;

 private:
  PostgresServer& server_;
};

// The postmaster's children (its sessions and auxiliary processes), from /proc.
std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> children;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return children;
  while (dirent* entry = readdir(proc)) {
    const pid_t pid = static_cast<pid_t>(atoi(entry->d_name));
    if (pid <= 0) continue;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so parse after the last ')'.
    const size_t close_paren = line.rfind(')');
    if (close_paren == std::string::npos) continue;
    std::istringstream rest(line.substr(close_paren + 1));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) children.push_back(pid);
  }
  closedir(proc);
  return children;
}

// SIGSTOPs the postmaster and its children (a frozen host); SIGCONTs them when destroyed.
class FrozenServer {
 public:
  explicit FrozenServer(PostgresServer& server) : postmaster_(server.pid()) {
    kill(postmaster_, SIGSTOP);
    children_ = ChildrenOf(postmaster_);
    for (pid_t child : children_) kill(child, SIGSTOP);
  }
  ~FrozenServer() {
    for (pid_t child : children_) kill(child, SIGCONT);
    kill(postmaster_, SIGCONT);
  }
  FrozenServer(const FrozenServer&) = delete;
  FrozenServer& operator=(const FrozenServer&) = delete;

 private:
  pid_t postmaster_;
  std::vector<pid_t> children_;
};

// A database with table faults(v int) owned by the test role, and a proxy config for it.
struct FaultSetup {
  TestDatabase db;
  ProxyConfig config;
};

FaultSetup MakeSetup(const std::string& prefix, PostgresServer& server = PostgresServer::Shared()) {
  FaultSetup setup{server.CreateTestDatabase(prefix), {}};
  server.Exec("CREATE TABLE faults (v int); ALTER TABLE faults OWNER TO " + setup.db.role, setup.db.database);
  setup.config = StandardConfig(setup.db);
  return setup;
}

// Reads messages until ReadyForQuery; returns its transaction status byte, or 0 on error/timeout.
char ReadUntilReady(RawClient& client, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    auto message = client.Read(std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
    if (!message) return 0;
    if (message->type == 'Z') return message->body.empty() ? 0 : message->body[0];
  }
  return 0;
}

std::string CopyRow(int v) { return Message('d', std::to_string(v) + "\n"); }

// The first failure a new client meets, at login or at its first query: SQLSTATE and message.
std::pair<std::string, std::string> NewClientFailure(const ProxyProcess& proxy, milliseconds timeout) {
  PgConn conn = Connect(proxy.ConnString("alice", kAlicePassword, "app"), timeout);
  if (PQstatus(conn.get()) == CONNECTION_BAD) {
    const std::string message = PQerrorMessage(conn.get());
    return {SqlstateOf(message), message};
  }
  auto results = ExecWithTimeout(conn.get(), "SELECT 1", timeout);
  if (!results || results->empty()) return {"", "no answer"};
  return {Sqlstate(results->front().get()), PQresultErrorMessage(results->front().get())};
}

// With a pool of one, the client after a vanished one must find a server session outside any
// transaction and without the vanished client's rows.
void CheckServedClean(const ProxyProcess& proxy) {
  PgConn next = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  CHECK(QueryValue(next.get(), "SELECT txid_current_if_assigned() IS NULL") == "t");
  CHECK(QueryValue(next.get(), "SELECT now() = statement_timestamp()") == "t");
  CHECK(QueryValue(next.get(), "SELECT count(*) FROM faults") == "0");
}

TEST_CASE("PostgreSQL stopped during an open transaction: the client gets an error, the pool recovers",
          "[faults]") {
  std::unique_ptr<PostgresServer> own = PostgresServer::StartPrivate();
  PostgresServer& server = *own;
  FaultSetup setup = MakeSetup("fault_txn", server);
  ProxyProcess proxy(setup.config);

  PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  MustExec(conn.get(), "BEGIN");
  MustExec(conn.get(), "INSERT INTO faults VALUES (1)");
  {
    RestartOnExit restart(server);
    server.Stop();
    auto results = ExecWithTimeout(conn.get(), "INSERT INTO faults VALUES (2)", seconds(10));
    REQUIRE(results.has_value());  // an answer, not a hang
    REQUIRE_FALSE(results->empty());
    INFO(PQresultErrorMessage(results->front().get()));
    CHECK(PQresultStatus(results->front().get()) == PGRES_FATAL_ERROR);
  }
  PgConn after = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  CHECK(QueryValue(after.get(), "SELECT count(*) FROM faults") == "0");  // never committed
  CHECK(QueryValue(after.get(), "SELECT txid_current_if_assigned() IS NULL") == "t");
}

TEST_CASE("PostgreSQL stopped during COPY FROM STDIN: the client gets an error, the pool recovers", "[faults]") {
  std::unique_ptr<PostgresServer> own = PostgresServer::StartPrivate();
  PostgresServer& server = *own;
  FaultSetup setup = MakeSetup("fault_copy", server);
  ProxyProcess proxy(setup.config);

  RawClient client(proxy.port());
  REQUIRE(client.Login("alice", kAlicePassword, "app").empty());
  REQUIRE(client.Send(Message('Q', std::string("COPY faults FROM STDIN") + '\0')));
  auto copy_in = client.Read(seconds(5));
  REQUIRE(copy_in.has_value());
  REQUIRE(copy_in->type == 'G');
  for (int v = 0; v < 100; ++v) REQUIRE(client.Send(CopyRow(v)));
  {
    RestartOnExit restart(server);
    server.Stop();
    // More rows, then the end of the COPY: the client must hear about the dead server either way.
    for (int v = 100; v < 200 && client.Send(CopyRow(v)); ++v) {
    }
    (void)client.Send(Message('c', ""));
    const auto started = Clock::now();
    auto error = client.ReadError(seconds(10));
    const bool told = error.has_value() || client.closed();
    CHECK(told);
    CHECK(Clock::now() - started < seconds(10));
    if (error) {
      INFO((*error)['M']);
      CHECK(((*error)['S'] == "FATAL" || (*error)['S'] == "ERROR"));
    }
  }
  PgConn after = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  CHECK(QueryValue(after.get(), "SELECT count(*) FROM faults") == "0");
}

TEST_CASE("PostgreSQL frozen (SIGSTOP): a new client gets FATAL 08006 within connect_timeout, then recovery",
          "[faults][long]") {
  std::unique_ptr<PostgresServer> own = PostgresServer::StartPrivate();
  PostgresServer& server = *own;
  FaultSetup setup = MakeSetup("fault_frozen", server);
  setup.config.backends["app"].connect_timeout = "2s";
  ProxyProcess proxy(setup.config);  // no idle server connection yet: a new client needs a new one

  {
    FrozenServer frozen(server);
    const auto started = Clock::now();
    auto [state, message] = NewClientFailure(proxy, seconds(15));
    const auto elapsed = Clock::now() - started;
    INFO(message);
    CHECK(state == "08006");
    CHECK_THAT(message, Catch::Contains("app"));
    CHECK(elapsed >= milliseconds(1500));
    CHECK(elapsed < seconds(5));
  }
  PgConn after = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  CHECK(QueryValue(after.get(), "SELECT 'thawed'") == "thawed");
}

// The same freeze with a server connection idle in the pool: the new client is handed that one, and
// pgtenant's own statement for it (the SET of its application_name) is what goes unanswered.
TEST_CASE("PostgreSQL frozen with a connection idle in the pool: a new client gets FATAL 08006 within "
          "connect_timeout, not a wait without end",
          "[faults][long]") {
  std::unique_ptr<PostgresServer> own = PostgresServer::StartPrivate();
  PostgresServer& server = *own;
  FaultSetup setup = MakeSetup("fault_frozen_idle", server);
  setup.config.pool_mode = "transaction";
  setup.config.backends["app"].connect_timeout = "2s";
  ProxyProcess proxy(setup.config);
  {
    PgConn first = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
    REQUIRE(QueryValue(first.get(), "SELECT 'before'") == "before");
  }  // its server connection stays in the pool, idle

  {
    FrozenServer frozen(server);
    const auto started = Clock::now();
    PgConn conn =
        Connect(proxy.ConnString("alice", kAlicePassword, "app", "application_name=after_freeze"), seconds(15));
    const auto elapsed = Clock::now() - started;
    const std::string message = PQerrorMessage(conn.get());
    INFO(message);
    REQUIRE(PQstatus(conn.get()) == CONNECTION_BAD);
    CHECK(SqlstateOf(message) == "08006");
    CHECK_THAT(message, Catch::Contains("did not answer within 2000 ms"));
    CHECK(elapsed >= milliseconds(1500));
    CHECK(elapsed < seconds(5));
  }
  PgConn after = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  CHECK(QueryValue(after.get(), "SELECT 'thawed'") == "thawed");
  CHECK_THAT(proxy.Log(), Catch::Contains("did not answer pgtenant's own query"));
}

TEST_CASE("a client vanishing mid-transaction: its server session is not handed on dirty", "[faults]") {
  FaultSetup setup = MakeSetup("fault_vanish_txn");
  setup.config.pool_size = 1;
  ProxyProcess proxy(setup.config);

  {
    RawClient client(proxy.port());
    REQUIRE(client.Login("alice", kAlicePassword, "app").empty());
    REQUIRE(client.Send(Message('Q', std::string("BEGIN; INSERT INTO faults VALUES (42)") + '\0')));
    REQUIRE(ReadUntilReady(client, seconds(5)) == 'T');
  }  // closed without Terminate, inside the transaction
  CheckServedClean(proxy);
}

TEST_CASE("a client vanishing mid-COPY: its server session is not handed on dirty", "[faults]") {
  FaultSetup setup = MakeSetup("fault_vanish_copy");
  setup.config.pool_size = 1;
  ProxyProcess proxy(setup.config);

  {
    RawClient client(proxy.port());
    REQUIRE(client.Login("alice", kAlicePassword, "app").empty());
    REQUIRE(client.Send(Message('Q', std::string("COPY faults FROM STDIN") + '\0')));
    auto copy_in = client.Read(seconds(5));
    REQUIRE(copy_in.has_value());
    REQUIRE(copy_in->type == 'G');
    for (int v = 0; v < 100; ++v) REQUIRE(client.Send(CopyRow(v)));
  }  // closed without CopyDone or Terminate
  CheckServedClean(proxy);
}

TEST_CASE("a slow-drip startup packet (a byte per 200 ms) is cut by startup_timeout", "[faults]") {
  FaultSetup setup = MakeSetup("fault_drip");
  setup.config.startup_timeout = "1s";
  ProxyProcess proxy(setup.config);

  const std::string packet = StartupPacket({{"user", "alice"}, {"database", "app"}});
  RawClient client(proxy.port());
  const auto started = Clock::now();
  bool cut = false;
  for (char byte : packet) {
    if (!client.Send(std::string_view(&byte, 1))) {
      cut = true;
      break;
    }
    auto message = client.Read(milliseconds(200));  // an ErrorResponse or EOF ends the drip
    if (message || client.closed()) {
      if (message) CHECK(message->type == 'E');
      cut = true;
      break;
    }
    if (Clock::now() - started > seconds(5)) break;
  }
  const auto elapsed = Clock::now() - started;
  CHECK(cut);
  CHECK(elapsed >= milliseconds(900));
  CHECK(elapsed < milliseconds(1800));
}

// Polls `fds` for `events` until each has reported something (ready, EOF or a reset) or `timeout` has
// passed, calling `ready` once per descriptor as it does; how many did.
size_t AwaitEach(const std::vector<int>& fds, short events, milliseconds timeout,
                 const std::function<void(int fd, short revents)>& ready) {
  std::vector<bool> done(fds.size(), false);
  size_t count = 0;
  const auto deadline = Clock::now() + timeout;
  while (count < fds.size() && Clock::now() < deadline) {
    std::vector<pollfd> waiting;
    std::vector<size_t> index;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!done[i]) {
        waiting.push_back({fds[i], events, 0});
        index.push_back(i);
      }
    }
    if (poll(waiting.data(), waiting.size(), 200) <= 0) continue;
    for (size_t w = 0; w < waiting.size(); ++w) {
      if (waiting[w].revents == 0) continue;
      done[index[w]] = true;
      ++count;
      ready(waiting[w].fd, waiting[w].revents);
    }
  }
  return count;
}

// A non-blocking connect to 127.0.0.1:port; -1 if the socket could not be made.
int StartConnect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

TEST_CASE("5,000 simultaneous connection attempts: the proxy stays up and serves a client afterwards",
          "[faults][flood]") {
  constexpr int kAttempts = 5000;
  // Room for the attempts in this process and, inherited, in the proxy (spawned below).
  rlimit files{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &files) == 0);
  const rlim_t wanted = kAttempts * 2 + 1024;
  if (files.rlim_cur < wanted) {
    files.rlim_cur = std::min<rlim_t>(wanted, files.rlim_max == RLIM_INFINITY ? wanted : files.rlim_max);
    if (files.rlim_max != RLIM_INFINITY && files.rlim_max < wanted) {
      rlimit raised{wanted, wanted};
      if (setrlimit(RLIMIT_NOFILE, &raised) == 0) files = raised;  // root may raise the hard limit
    }
    setrlimit(RLIMIT_NOFILE, &files);
    REQUIRE(getrlimit(RLIMIT_NOFILE, &files) == 0);
  }
  const int attempts = static_cast<int>(std::min<rlim_t>(kAttempts, files.rlim_cur > 200 ? files.rlim_cur - 200 : 0));
  INFO("RLIMIT_NOFILE " << files.rlim_cur << ", attempts " << attempts);
  CHECK(attempts == kAttempts);

  FaultSetup setup = MakeSetup("fault_flood");
  ProxyProcess proxy(setup.config);  // max_client_connections 1000: the rest get 53300 or are cut

  std::vector<int> fds;
  fds.reserve(attempts);
  for (int i = 0; i < attempts; ++i) {
    const int fd = StartConnect(proxy.port());
    if (fd >= 0) fds.push_back(fd);
  }
  // Send each a startup packet once it is connected (a few seconds at most).
  const std::string packet = StartupPacket({{"user", "alice"}, {"database", "app"}});
  const size_t sent_count = AwaitEach(fds, POLLOUT, seconds(10), [&](int fd, short revents) {
    if (revents & POLLOUT) (void)send(fd, packet.data(), packet.size(), MSG_NOSIGNAL);
  });
  // Every connection the proxy took is answered: an authentication request, a 53300, or a close.
  const size_t answered = AwaitEach(fds, POLLIN, seconds(10), [](int, short) {});
  INFO("connected " << fds.size() << ", startup sent " << sent_count << ", answered or closed " << answered);
  CHECK(fds.size() == static_cast<size_t>(attempts));
  CHECK(answered > 0);
  CHECK_FALSE(proxy.WaitForExit(milliseconds(0)).has_value());  // still running
  for (int fd : fds) close(fd);

  // A normal client is served once the flood has gone (the proxy may take a moment to notice).
  PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  CHECK(QueryValue(conn.get(), "SELECT 'after the flood'") == "after the flood");
  CHECK_FALSE(proxy.WaitForExit(milliseconds(0)).has_value());
}

}  // namespace
}  // namespace pgtenant::integration
