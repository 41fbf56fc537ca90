// A reload retires exactly the pools whose identity it changed (routing/pool_identity.h): rotating a
// backend's CA file or changing its connect_timeout gives new server connections; a reload that
// changes nothing keeps the ones there are.
#include <catch2/catch.hpp>
#include <libpq-fe.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/temp_dir.h"
#include "tests/support/test_pki.h"

namespace pgtenant::integration {
namespace {

// Up to ten seconds for `text` to be in the proxy's log `count` times.
bool WaitForLog(const ProxyProcess& proxy, const std::string& text, size_t count) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    const std::string log = proxy.Log();
    size_t seen = 0;
    for (size_t at = log.find(text); at != std::string::npos; at = log.find(text, at + text.size())) ++seen;
    if (seen >= count) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

TEST_CASE("a reload changing only a backend's sslrootcert or connect_timeout retires its pools; a reload "
          "changing nothing keeps them",
          "[lifecycle][reload][pool]") {
  TempDir dir("pgtenant-poolid-");
  testing::TestPki old_ca(dir.path(), "old");
  testing::TestPki new_ca(dir.path(), "new");
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("poolid");
  ProxyConfig config = StandardConfig(db);
  config.pool_mode = "transaction";
  config.pool_size = 1;                 // one server connection: its pid is the pool's
  config.extra_yaml += "workers: 1\n";  // and one pool
  // The suite's PostgreSQL has no TLS: `prefer` falls back to plaintext, and the CA file is what a
  // verify-full connection would check the server against.
  config.backends["app"].extra = "sslmode: prefer, sslrootcert: " + old_ca.ca_file();
  ProxyProcess proxy(config);
  config.port = proxy.port();  // the reloaded file keeps the listen address
  PgConn alice = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  const std::string kPid = "SELECT pg_backend_pid()";
  const std::string first = QueryValue(alice.get(), kPid);
  REQUIRE(QueryValue(alice.get(), kPid) == first);  // transaction after transaction on the pool's one connection

  size_t reloads = 0;
  auto reload = [&] {
    std::ofstream(proxy.config_path(), std::ios::trunc) << config.ToYaml();
    proxy.Signal(SIGHUP);
    REQUIRE(WaitForLog(proxy, "reloaded", ++reloads));
  };

  reload();  // the same file again
  CHECK(QueryValue(alice.get(), kPid) == first);
  CHECK(proxy.Log().find("closes: the reload changed") == std::string::npos);

  config.backends["app"].connect_timeout = "3s";  // was 2s
  reload();
  const std::string after_timeout = QueryValue(alice.get(), kPid);
  CHECK(after_timeout != first);
  CHECK(WaitForLog(proxy, "pool acme/app/" + db.role + "/rw closes: the reload changed", 1));

  config.backends["app"].extra = "sslmode: prefer, sslrootcert: " + new_ca.ca_file();  // the CA rotated
  reload();
  const std::string after_ca = QueryValue(alice.get(), kPid);
  CHECK(after_ca != after_timeout);
  CHECK(after_ca != first);

  reload();  // nothing changed again: the new connection stays
  CHECK(QueryValue(alice.get(), kPid) == after_ca);
  // bob, another client of the same pool, gets that connection too.
  PgConn bob = MustConnectProxy(proxy, "bob", kBobPassword, "app");
  CHECK(QueryValue(bob.get(), kPid) == after_ca);
}

}  // namespace
}  // namespace pgtenant::integration
