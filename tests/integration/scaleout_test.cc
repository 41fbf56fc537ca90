// Scale-out: pgtenant instances sharing one YAML (peers:) and a cancel request that lands on another
// instance than the one running the query. The key names the instance that issued it; the instance
// that receives the cancel forwards it there, once.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "tests/integration/harness/net.h"
#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/poll.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

using std::chrono::seconds;

constexpr uint32_t kCancelRequestCode = 80877102;  // 1234 << 16 | 5678
constexpr int kInstanceShift = 21;                 // proxy/worker/peer_cancel.h: bits 30..21 of the pid

std::string CancelRequest(int32_t pid, int32_t key) {
  return Int32(16) + Int32(kCancelRequestCode) + Int32(static_cast<uint32_t>(pid)) + Int32(static_cast<uint32_t>(key));
}

// Delivers a CancelRequest to 127.0.0.1:port on a connection of its own, as libpq's PQcancel does.
void SendCancel(int port, int32_t pid, int32_t key) {
  RawClient cancel(port);
  REQUIRE(cancel.Send(CancelRequest(pid, key)));
  cancel.WaitForClose(seconds(2));
}

std::string Peers(int port1, int port2) {
  return "peers:\n  - { id: 1, address: \"127.0.0.1:" + std::to_string(port1) + "\" }\n" +
         "  - { id: 2, address: \"127.0.0.1:" + std::to_string(port2) + "\" }\n";
}

TEST_CASE("a cancel request sent to another instance cancels SELECT pg_sleep(30) with 57014 within 2 seconds",
          "[scaleout]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("scaleout");
  const int port1 = FreePort();
  const int port2 = FreePort();
  ProxyConfig config = StandardConfig(db);
  config.extra_yaml += Peers(port1, port2);  // the same peers in both: one shared file
  config.port = port1;
  ProxyProcess instance1(config, {"--instance-id", "1"});
  config.port = port2;
  ProxyProcess instance2(config, {"--instance-id", "2"});

  RawClient client(instance1.port());
  REQUIRE(client.Login("alice", kAlicePassword, "app").empty());
  REQUIRE(client.backend_key().has_value());
  const auto [pid, key] = *client.backend_key();
  CHECK(((pid >> kInstanceShift) & 1023) == 1);  // the key names instance 1

  const std::string sql = "SELECT pg_sleep(30)";
  REQUIRE(client.Send(Message('Q', sql + std::string(1, '\0'))));
  REQUIRE(PostgresServer::Shared().AwaitActiveQuery(db.database, sql, seconds(5)));

  const auto started = std::chrono::steady_clock::now();
  SendCancel(instance2.port(), pid, key);
  auto error = client.ReadError(seconds(2));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  REQUIRE(error.has_value());
  CHECK((*error)['C'] == "57014");
  CHECK(elapsed < seconds(2));
  CHECK_THAT(instance2.Log(), Catch::Contains("forwarded to 127.0.0.1:" + std::to_string(port1)));

  // The session goes on.
  auto ready = client.Read(seconds(5));
  while (ready && ready->type != 'Z') ready = client.Read(seconds(5));
  REQUIRE(ready.has_value());
}

// Two instances on one port (listen.reuse_port), each also on its own port under peers: the kernel
// hands each connection, cancel requests included, to either. Rounds go on until a cancel has
// landed on the instance that does not run the query (each round has an even chance); every cancel,
// crossing or not, must end the query with 57014.
TEST_CASE("two instances on one port: a cancel the kernel hands to the other instance still cancels",
          "[scaleout]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("scaleout");
  const int shared_port = FreePort();
  const int own1 = FreePort();
  const int own2 = FreePort();
  ProxyConfig config = StandardConfig(db);
  config.port = shared_port;
  config.extra_yaml += Peers(own1, own2);
  std::string yaml = config.ToYaml();
  const std::string listen = "port: " + std::to_string(shared_port) + " }";
  REQUIRE(yaml.find(listen) != std::string::npos);
  yaml.replace(yaml.find(listen), listen.size(), "port: " + std::to_string(shared_port) + ", reuse_port: true }");
  // Each is ready once its own port accepts; the shared one may answer for either.
  ProxyProcess instance1(yaml, own1, {"--instance-id", "1"});
  ProxyProcess instance2(yaml, own2, {"--instance-id", "2"});
  const ProxyProcess* instances[] = {&instance1, &instance2};

  const std::string sql = "SELECT pg_sleep(30)";
  int crossed = 0;
  int served[2] = {0, 0};
  for (int round = 0; round < 24 && crossed == 0; ++round) {
    INFO("round " << round);
    RawClient client(shared_port);
    REQUIRE(client.Login("alice", kAlicePassword, "app").empty());
    REQUIRE(client.backend_key().has_value());
    const auto [pid, key] = *client.backend_key();
    const int owner = (pid >> kInstanceShift) & 1023;
    REQUIRE((owner == 1 || owner == 2));
    ++served[owner - 1];
    const ProxyProcess& other = *instances[2 - owner];
    const std::string forwarded = "forwarded to 127.0.0.1:" + std::to_string(owner == 1 ? own1 : own2);
    const size_t forwards_before = CountOf(other.Log(), forwarded);

    REQUIRE(client.Send(Message('Q', sql + std::string(1, '\0'))));
    REQUIRE(PostgresServer::Shared().AwaitActiveQuery(db.database, sql, seconds(5)));
    const auto started = std::chrono::steady_clock::now();
    SendCancel(shared_port, pid, key);
    auto error = client.ReadError(seconds(2));
    REQUIRE(error.has_value());
    CHECK((*error)['C'] == "57014");
    CHECK(std::chrono::steady_clock::now() - started < seconds(2));
    if (CountOf(other.Log(), forwarded) > forwards_before) ++crossed;
  }
  INFO("sessions served by instance 1: " << served[0] << ", by instance 2: " << served[1]);
  CHECK(crossed == 1);  // 24 rounds without a crossing: a chance of 1 in 16 million
}

TEST_CASE("a forwarded cancel is never forwarded again, even when the peer addresses are wrong", "[scaleout]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("scaleout");
  const int port = FreePort();
  ProxyConfig config = StandardConfig(db);
  config.port = port;
  // Misconfigured: instance 1's address is this instance's own port.
  config.extra_yaml += Peers(port, FreePort());
  ProxyProcess instance2(config, {"--instance-id", "2"});

  const int32_t pid = (1 << kInstanceShift) | 12345;  // names instance 1
  SendCancel(instance2.port(), pid, 42);
  // The chain ends where the forwarded request is refused: once both hops have logged, a loop would have
  // shown as a second forward before the refusal.
  const std::string forwarded = "forwarded to 127.0.0.1:" + std::to_string(port);
  REQUIRE(PollUntil([&] {
    const std::string log = instance2.Log();
    return CountOf(log, forwarded) >= 1 && CountOf(log, "already forwarded") >= 1;
  }, seconds(5)));
  const std::string log = instance2.Log();
  INFO(log);
  CHECK(CountOf(log, forwarded) == 1);
  CHECK(CountOf(log, "already forwarded") == 1);
}

TEST_CASE("an instance that is not under peers refuses to start, naming the flag to use", "[scaleout]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("scaleout");
  ProxyConfig config = StandardConfig(db);
  config.port = FreePort();
  config.extra_yaml += Peers(config.port, FreePort());
  try {
    ProxyProcess no_id(config);
    FAIL("pgtenant started without an instance id");
  } catch (const std::runtime_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("--instance-id"));
  }
  try {
    ProxyProcess unlisted(config, {"--instance-id", "7"});
    FAIL("pgtenant started with an id that is not under peers");
  } catch (const std::runtime_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("id 7 is not listed under peers"));
  }
}

}  // namespace
}  // namespace pgtenant::integration
