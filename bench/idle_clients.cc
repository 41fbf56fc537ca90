// idle_clients: opens N PostgreSQL client connections (libpq, non-blocking connects, a bounded number
// in flight) and holds them idle until SIGTERM/SIGINT. Used by bench/run for the "idle clients beside
// busy ones" row.
//
// Usage: idle_clients N CONNINFO [CONNINFO...]
//   Connections take the conninfos in turn (round robin). Prints "connected N" on stdout once every
//   connection is up (or "failed K: <first error>" and exits 1), then waits for a signal and closes them.
#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

constexpr size_t kMaxInFlight = 64;  // handshakes at once: SCRAM costs CPU on both sides

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

struct Pending {
  PGconn* conn = nullptr;
  PostgresPollingStatusType poll = PGRES_POLLING_WRITING;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: idle_clients N CONNINFO [CONNINFO...]\n");
    return 2;
  }
  const long total = std::strtol(argv[1], nullptr, 10);
  std::vector<std::string> conninfos(argv + 2, argv + argc);
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
  signal(SIGPIPE, SIG_IGN);

  std::vector<PGconn*> ready;
  ready.reserve(size_t(total));
  std::vector<Pending> pending;
  long started = 0, failed = 0;
  std::string first_error;

  while ((started < total || !pending.empty()) && !g_stop) {
    while (started < total && pending.size() < kMaxInFlight) {
      PGconn* conn = PQconnectStart(conninfos[size_t(started) % conninfos.size()].c_str());
      ++started;
      if (conn == nullptr || PQstatus(conn) == CONNECTION_BAD) {
        if (first_error.empty() && conn != nullptr) first_error = PQerrorMessage(conn);
        if (conn != nullptr) PQfinish(conn);
        ++failed;
        continue;
      }
      pending.push_back(Pending{conn, PGRES_POLLING_WRITING});
    }
    std::vector<pollfd> fds;
    fds.reserve(pending.size());
    for (const Pending& p : pending) {
      fds.push_back(pollfd{PQsocket(p.conn), short(p.poll == PGRES_POLLING_READING ? POLLIN : POLLOUT), 0});
    }
    if (poll(fds.data(), fds.size(), 1000) < 0) continue;  // EINTR: g_stop is checked by the loop
    std::vector<Pending> still;
    still.reserve(pending.size());
    for (size_t i = 0; i < pending.size(); ++i) {
      Pending p = pending[i];
      if (fds[i].revents == 0) {
        still.push_back(p);
        continue;
      }
      p.poll = PQconnectPoll(p.conn);
      if (p.poll == PGRES_POLLING_OK) {
        ready.push_back(p.conn);
      } else if (p.poll == PGRES_POLLING_FAILED) {
        if (first_error.empty()) first_error = PQerrorMessage(p.conn);
        PQfinish(p.conn);
        ++failed;
      } else {
        still.push_back(p);
      }
    }
    pending.swap(still);
  }

  int rc = 0;
  if (failed > 0) {
    std::printf("failed %ld: %s\n", failed, first_error.c_str());
    rc = 1;
  } else if (!g_stop) {
    std::printf("connected %zu\n", ready.size());
  }
  std::fflush(stdout);
  while (rc == 0 && !g_stop) pause();
  for (Pending& p : pending) PQfinish(p.conn);
  for (PGconn* conn : ready) PQfinish(conn);
  return rc;
}
