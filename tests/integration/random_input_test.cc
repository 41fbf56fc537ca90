// 100,000 random blobs after login, 50,000 in each pool mode: whatever a logged-in client sends, pgtenant
// answers it or closes that client, keeps running, and serves everyone else (issue 22).
//
// The blobs are mostly frames that look like frontend messages (real tags, random lengths and
// bodies, statement and portal names, SQL-ish text), so that they get past the framing checks into
// the forwarding, renaming and policy code; the rest are raw bytes and absurd lengths. The seed is
// printed; PGTENANT_TEST_SEED replays one.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>

#include "tests/integration/harness/net.h"
#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

constexpr int kBlobs = 50000;  // per pool mode: 100,000 over the two test cases
constexpr int kBlobsPerConnection = 200;
// A connection the proxy closed, or on which it neither reads nor answers for this long, ends (and is
// counted): a blob may legitimately leave the server waiting (a Parse without Sync, an announced body).
constexpr auto kStallTimeout = std::chrono::milliseconds(2000);

class BlobMaker {
 public:
  explicit BlobMaker(uint64_t seed) : rng_(seed) {}

  std::string Next() {
    // Most blobs keep the connection open (so that many reach a session in every state); one in
    // twenty or so is fatal by construction (a bad tag, an absurd length).
    const int kind = Pick(100);
    if (kind < 70) return Frame(FrontendTag(), Body());
    if (kind < 95) return Frame('Q', Sql() + std::string(1, '\0'));
    if (kind < 98) {  // a header announcing anything, then a few bytes
      std::string out(1, static_cast<char>(Pick(2) == 0 ? FrontendTag() : Pick(256)));
      out += Int32(static_cast<uint32_t>(rng_()));
      return out + Bytes(Pick(16));
    }
    return Bytes(1 + Pick(32));
  }

 private:
  int Pick(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }
  char FrontendTag() {
    static constexpr char kTags[] = "PBDECSQHFdcf";  // no Terminate: it would end the run too often
    return kTags[Pick(sizeof kTags - 1)];
  }
  std::string Bytes(int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += static_cast<char>(Pick(256));
    return out;
  }
  std::string Name() {
    static const char* const kNames[] = {"", "s0", "s1", "S_1", "p", "pgt_0123"};
    return kNames[Pick(6)];
  }
  std::string Sql() {
    static const char* const kSql[] = {"SELECT 1", "BEGIN", "COMMIT", "ROLLBACK", "SELECT $1::int",
                                       "SET application_name = 'x'", "DEALLOCATE ALL", "SELECT pg_sleep(0)",
                                       "SELECT current_setting('app.current_organization_id')", "COPY (SELECT 1) TO STDOUT",
                                       "SELEC", "SELECT 1; SELECT 2", "DISCARD ALL", "PREPARE q AS SELECT 1"};
    return kSql[Pick(14)];
  }
  // Bodies shaped like Parse/Bind/Describe/Close/Execute bodies half of the time.
  std::string Body() {
    switch (Pick(6)) {
      case 0: return Name() + std::string(1, '\0') + Sql() + std::string(1, '\0') + Bytes(Pick(3) * 2);
      case 1: return Name() + std::string(1, '\0') + Name() + std::string(1, '\0') + Bytes(Pick(12));
      case 2: return std::string(1, Pick(2) == 0 ? 'S' : 'P') + Name() + std::string(1, '\0');
      case 3: return Name() + std::string(1, '\0') + Int32(static_cast<uint32_t>(Pick(3)));
      case 4: return Bytes(Pick(2048));
      default: return Bytes(Pick(24));
    }
  }
  static std::string Frame(char tag, const std::string& body) { return Message(tag, body); }

  std::mt19937_64 rng_;
};

enum class Sent { kAll, kClosed, kStalled };

// Sends `bytes` on a non-blocking socket, reading (and dropping) whatever comes back meanwhile.
Sent SendDraining(int fd, const std::string& bytes) {
  size_t sent = 0;
  char sink[65536];
  while (sent < bytes.size()) {
    pollfd pfd{fd, POLLIN | POLLOUT, 0};
    const int ready = poll(&pfd, 1, static_cast<int>(kStallTimeout.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return Sent::kStalled;
    if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t n = recv(fd, sink, sizeof sink, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return Sent::kClosed;
    }
    if (pfd.revents & POLLOUT) {
      const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EINTR) return Sent::kClosed;
      if (n > 0) sent += static_cast<size_t>(n);
    }
  }
  return Sent::kAll;
}

uint64_t Seed() {
  if (const char* fixed = std::getenv("PGTENANT_TEST_SEED")) return std::strtoull(fixed, nullptr, 10);
  return std::random_device{}();
}

// The lines of the proxy's log worth reading when the bystander (alice; the blobs come from bob) was
// failed: its own, and every warning and error. The whole log is too long for a CI report.
std::string NotableLines(const std::string& log) {
  std::string out;
  size_t start = 0;
  while (start < log.size()) {
    size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    const std::string_view line(log.data() + start, end - start);
    if (line.find("alice") != std::string_view::npos || line.find("level=warning") != std::string_view::npos ||
        line.find("level=error") != std::string_view::npos)
      out.append(line).append("\n");
    start = end + 1;
  }
  return out;
}

bool BystanderAnswers(const ProxyProcess& proxy, const PgConn& bystander, const std::string& text) {
  try {
    return QueryValue(bystander.get(), "SELECT '" + text + "'") == text;
  } catch (const std::exception& e) {
    FAIL(e.what() << "\nthe proxy's log, warnings and the bystander's lines:\n" << NotableLines(proxy.Log()));
  }
  return false;
}

void SendRandomBlobs(const std::string& mode) {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("randomblobs");
  {
    {
      const uint64_t seed = Seed();
      INFO("seed " << seed << " (PGTENANT_TEST_SEED replays it), pool mode " << mode);
      std::printf("random_input_test: %s pooling, seed %llu\n", mode.c_str(), static_cast<unsigned long long>(seed));
      ProxyConfig config = StandardConfig(db);
      config.pool_mode = mode;
      config.auth_method = "trust";  // a login per 200 blobs; SCRAM's 4,096 iterations would dominate
      ProxyProcess proxy(config);
      PgConn bystander = MustConnectProxy(proxy, "alice", kAlicePassword, "app");

      BlobMaker maker(seed);
      std::mt19937_64 split(seed ^ 0x9e3779b97f4a7c15ULL);
      int connections = 0;
      int closed = 0;
      int stalled = 0;
      for (int blob = 0; blob < kBlobs;) {
        RawClient raw(proxy.port());
        REQUIRE(raw.Login("bob", kBobPassword, "app").empty());
        ++connections;
        const int fd = raw.fd();
        REQUIRE(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0);
        // Blobs are written in batches of random size (messages arrive whole, split and glued); a
        // blob counts once its batch was written. A batch the proxy refused ends the connection.
        std::string pending;
        int in_pending = 0;
        for (int i = 0; i < kBlobsPerConnection && blob < kBlobs; ++i) {
          pending += maker.Next();
          ++in_pending;
          if (split() % 4 != 0 && i + 1 < kBlobsPerConnection) continue;
          const Sent sent = SendDraining(fd, pending);
          if (sent != Sent::kAll) {
            ++(sent == Sent::kClosed ? closed : stalled);
            break;
          }
          blob += in_pending;
          pending.clear();
          in_pending = 0;
        }
        // The proxy process is alive after every connection, and the bystander served now and then.
        REQUIRE_FALSE(proxy.WaitForExit(std::chrono::milliseconds(0)).has_value());
        if (connections % 50 == 0) REQUIRE(BystanderAnswers(proxy, bystander, "alive"));
      }
      std::printf("random_input_test: %d connections, %d closed by the proxy, %d given up\n", connections, closed,
                  stalled);
      REQUIRE_FALSE(proxy.WaitForExit(std::chrono::milliseconds(0)).has_value());
      CHECK(BystanderAnswers(proxy, bystander, "bystander fine"));
      PgConn newcomer = MustConnectProxy(proxy, "bob", kBobPassword, "app");
      CHECK(QueryValue(newcomer.get(), "SELECT current_setting('app.current_organization_id')") == kAcmeId);
    }
  }
}

TEST_CASE("50,000 random blobs after login in transaction pooling leave pgtenant running and serving others",
          "[malformed][random][cpu]") {
  SendRandomBlobs("transaction");
}

TEST_CASE("50,000 random blobs after login in session pooling leave pgtenant running and serving others",
          "[malformed][random][cpu]") {
  SendRandomBlobs("session");
}

}  // namespace
}  // namespace pgtenant::integration
