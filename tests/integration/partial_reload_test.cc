// A reload costs what it changed (issue 26): the pools and sessions of tenants it did not change are
// left alone, so their clients keep their server connections (the same pg_backend_pid) across it,
// while the changed tenant's pool is retired as before (pool_identity_reload_test.cc,
// lifecycle_reload_test.cc).
#include <catch2/catch.hpp>
#include <libpq-fe.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

using std::chrono::seconds;

constexpr char kCarolPassword[] = "carol-secret";
constexpr char kBetaId[] = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
constexpr char kBetaNewId[] = "5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e";
constexpr char kPid[] = "SELECT pg_backend_pid()";
constexpr char kSetting[] = "SELECT current_setting('app.current_organization_id')";

// The standard config (tenant acme: alice, bob) plus tenant beta (rls, a second backend to the same
// database) with carol; one worker, so that each tenant has one pool.
ProxyConfig TwoTenants(const TestDatabase& db, const std::string& pool_mode) {
  ProxyConfig config = StandardConfig(db);
  config.pool_mode = pool_mode;
  config.pool_size = 1;  // one server connection per pool: its pid is the pool's
  config.backends["app2"] = config.backends["app"];
  config.tenants["beta"] = TenantSpec{kBetaId, "rls", "app2", ""};
  config.users["carol"] = kCarolPassword;
  config.memberships["carol"]["beta"] = "member";
  config.extra_yaml += "workers: 1\n";
  return config;
}

void Reload(ProxyProcess& proxy, const ProxyConfig& config, size_t reloads_so_far) {
  std::ofstream(proxy.config_path(), std::ios::trunc) << config.ToYaml();
  proxy.Signal(SIGHUP);
  REQUIRE(proxy.AwaitLog("reloaded " + proxy.config_path(), reloads_so_far + 1));
}

TEST_CASE("a reload that changes one tenant keeps the other tenants' sessions on their server connections",
          "[lifecycle][reload][pool]") {
  const std::string mode = GENERATE(std::string("session"), std::string("transaction"));
  INFO("pool mode " << mode);
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("partial");
  ProxyConfig config = TwoTenants(db, mode);
  ProxyProcess proxy(config);
  config.port = proxy.port();  // the reloaded file keeps the listen address
  PgConn alice = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  PgConn carol = MustConnectProxy(proxy, "carol", kCarolPassword, "app2");
  const std::string alice_pid = QueryValue(alice.get(), kPid);
  REQUIRE(QueryValue(carol.get(), kSetting) == kBetaId);

  // Beta's max_clients: a setting a live pool takes on; acme is not even looked at.
  config.tenants["beta"].extra = "max_clients: 50";
  Reload(proxy, config, 0);
  CHECK(proxy.Log().find("changed: 1 tenants, 0 backends, 0 users") != std::string::npos);
  CHECK(QueryValue(alice.get(), kPid) == alice_pid);
  CHECK(QueryValue(carol.get(), kSetting) == kBetaId);

  // Beta's id: its pool's connections carry the old one, so that pool is retired; acme's stays.
  config.tenants["beta"].id = kBetaNewId;
  Reload(proxy, config, 1);
  CHECK(proxy.AwaitLog("pool beta/app2/" + db.role + "/rw closes: the reload changed"));
  CHECK(proxy.Log().find("pool acme/") == std::string::npos);
  CHECK(QueryValue(alice.get(), kPid) == alice_pid);
  PgConn carol_again = MustConnectProxy(proxy, "carol", kCarolPassword, "app2");
  CHECK(QueryValue(carol_again.get(), kSetting) == kBetaNewId);
  if (mode == "transaction") CHECK(QueryValue(carol.get(), kSetting) == kBetaNewId);  // its next transaction

  // A user of acme's tenant added: acme's pool (whose settings come from the tenant) stays too.
  config.users["dave"] = "dave-secret";
  config.memberships["dave"]["acme"] = "member";
  Reload(proxy, config, 2);
  CHECK(proxy.Log().find("changed: 0 tenants, 0 backends, 1 users") != std::string::npos);
  CHECK(QueryValue(alice.get(), kPid) == alice_pid);
  if (mode == "transaction") {  // (in session mode alice holds the pool's one connection)
    PgConn dave = MustConnectProxy(proxy, "dave", "dave-secret", "app");
    CHECK(QueryValue(dave.get(), kPid) == alice_pid);
  }
}

TEST_CASE("a SIGHUP reload of a 50,000-tenant file is read off the loop: a client is answered while it loads",
          "[lifecycle][reload]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("partial");
  ProxyConfig config = TwoTenants(db, "transaction");  // one worker: the loop that gets the SIGHUP
  for (int i = 0; i < 50000; ++i) {
    char id[37];
    std::snprintf(id, sizeof(id), "%08x-0000-4000-8000-000000000000", i);
    config.tenants["bulk" + std::to_string(i)] = TenantSpec{id, "rls", "app2", ""};  // acme has "app" to itself
  }
  ProxyProcess proxy(config);
  config.port = proxy.port();
  PgConn alice = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  const std::string alice_pid = QueryValue(alice.get(), kPid);

  config.tenants["beta"].extra = "max_clients: 50";
  std::ofstream(proxy.config_path(), std::ios::trunc) << config.ToYaml();
  proxy.Signal(SIGHUP);
  REQUIRE(proxy.AwaitLog("received SIGHUP"));
  // The file takes about 0.7 s to read (longer under ASan); a query takes a millisecond. Read on the
  // loop, the query would wait for the whole reload and come back after the "reloaded" line.
  CHECK(QueryValue(alice.get(), "SELECT 1") == "1");
  CHECK(proxy.Log().find("reloaded " + proxy.config_path()) == std::string::npos);
  REQUIRE(proxy.AwaitLog("reloaded " + proxy.config_path(), 1, seconds(60)));
  CHECK(proxy.Log().find("changed: 1 tenants, 0 backends, 0 users") != std::string::npos);
  CHECK(QueryValue(alice.get(), kPid) == alice_pid);
  PgConn carol = MustConnectProxy(proxy, "carol", kCarolPassword, "app2");
  CHECK(QueryValue(carol.get(), kSetting) == kBetaId);
}

}  // namespace
}  // namespace pgtenant::integration
