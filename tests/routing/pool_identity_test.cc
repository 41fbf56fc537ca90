// PoolIdentity: which changes of the config give a pool another identity (and so retire it on a
// reload), which leave it alone, and the display name built from it.
#include "routing/pool_identity.h"

#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "routing/route.h"

namespace pgtenant::routing {
namespace {

constexpr const char* kVerifier =
    "SCRAM-SHA-256$4096:VQMcjlo5m/81MbanKVeoDg==$EL288QUwCMmU7lgLqhITT7+oasXEU4fS9RXZZv+JFEY=:"
    "YWhJFDiGSjTbGNz98C5TdxRLDnMNyvbOzYKM1iHr+8M=";

// Backend app: acme (rls) and globex (schema) have pools of their own. Backend pooled shares its
// connections among its rls tenants (initech); umbrella is a schema tenant there, with its own pool.
// dave has pool settings of his own.
std::shared_ptr<const config::Config> LoadTestConfig() {
  const std::string yaml =
      std::string() +
      "listen: { address: 127.0.0.1, port: 6432 }\n"
      "backends:\n"
      "  app: { host: 127.0.0.1, port: 5432, database: app, user: app_tenant, password: x }\n"
      "  pooled: { host: 127.0.0.1, port: 5432, database: pooled, user: pooled_app, password: y, shared_pool: true }\n"
      "tenants:\n"
      "  acme: { id: 7c9e6679-7425-40de-944b-e07fc1f90ae7, isolation: rls, backend: app }\n"
      "  globex: { id: 9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d, isolation: schema, schema: org_globex, backend: app }\n"
      "  initech: { id: 3d1a7b2c-8e9f-4a0b-b1c2-d3e4f5a6b7c8, isolation: rls, backend: pooled }\n"
      "  umbrella: { id: 11111111-2222-4333-8444-555555555555, isolation: schema, schema: umb, backend: pooled }\n"
      "users:\n"
      "  alice: { password: \"" + kVerifier + "\", tenants: { acme: admin, globex: viewer, initech: member, umbrella: member } }\n"
      "  dave: { password: \"" + kVerifier + "\", tenants: { acme: member }, pool: { size: 3 } }\n";
  auto config = config::LoadConfigString(yaml, "test.yaml", [](std::string_view) { return std::nullopt; });
  REQUIRE(config.ok());
  return *config;
}

PoolIdentity IdentityOf(const config::Config& config, const std::string& user, const std::string& tenant) {
  const config::UserConfig* u = config.FindUser(user);
  REQUIRE(u != nullptr);
  const config::TenantConfig* t = config.FindTenant(tenant);
  REQUIRE(t != nullptr);
  const std::string database = config.FindBackend(t->backend)->database;  // the client asks for its tenant's
  auto route = ResolveRoute(config, *u, {user + "." + tenant, database, "", "", std::nullopt});
  INFO(route.status().message());
  REQUIRE(route.ok());
  return route->pool_identity;
}

// The pools of the test config, one of each kind.
struct Pools {
  PoolIdentity tenant_rw, tenant_ro, schema_tenant, shared, user_own;
};

Pools PoolsOf(const config::Config& config) {
  return {IdentityOf(config, "alice", "acme"), IdentityOf(config, "alice", "globex"),
          IdentityOf(config, "alice", "umbrella"), IdentityOf(config, "alice", "initech"),
          IdentityOf(config, "dave", "acme")};
}

std::vector<PoolIdentity> All(const Pools& p) { return {p.tenant_rw, p.tenant_ro, p.schema_tenant, p.shared, p.user_own}; }

// Whether the pool `identity` would keep its connections across a reload to `next`.
bool Survives(const config::Config& next, const PoolIdentity& identity) {
  return PoolIdentityUnder(next, identity) == identity;
}

void Change(std::string& s) { s += "-changed"; }
void Change(int& n) { n += 1; }
void Change(bool& b) { b = !b; }
void Change(config::Duration& d) { d += config::Duration(1); }
void Change(std::vector<config::BackendHost>& hosts) { hosts.push_back({"10.0.0.9", 5433}); }

// Every field of config::BackendConfig in declaration order, with its name. A field added to
// BackendConfig stops this binding from compiling: give it a name here, and a place in
// BackendTarget (routing/pool_identity.h) unless a live pool can take it on.
constexpr const char* kBackendFields[] = {"name",     "host",        "port",            "hosts",
                                          "database", "user",        "password",        "sslmode",
                                          "sslrootcert", "max_connections", "connect_timeout", "shared_pool"};
constexpr size_t kBackendFieldCount = std::size(kBackendFields);

void ChangeField(config::BackendConfig& backend, size_t index) {
  auto& [name, host, port, hosts, database, user, password, sslmode, sslrootcert, max_connections, connect_timeout,
         shared_pool] = backend;
  auto fields = std::tie(name, host, port, hosts, database, user, password, sslmode, sslrootcert, max_connections,
                         connect_timeout, shared_pool);
  static_assert(std::tuple_size_v<decltype(fields)> == kBackendFieldCount);
  size_t i = 0;
  std::apply([&](auto&... field) { ((i++ == index ? Change(field) : void()), ...); }, fields);
}

TEST_CASE("every field of a backend but max_connections is part of its pools' identity") {
  const auto config = LoadTestConfig();
  const Pools pools = PoolsOf(*config);
  for (size_t field = 0; field < kBackendFieldCount; ++field) {
    const std::string name = kBackendFields[field];
    for (const char* backend : {"app", "pooled"}) {
      INFO("backends." << backend << "." << name << " changed");
      config::Config next = *config;
      ChangeField(next.backends.at(backend), field);
      // The changed value is really different (a Change that did nothing would pass the checks below).
      const BackendTarget target = BackendTargetOf(next.backends.at(backend));
      REQUIRE((target != BackendTargetOf(config->backends.at(backend)) || name == "max_connections"));
      // A pool's connections are made with every one of them.
      CHECK(BackendTargetOf(BackendConfigOf(target)) == target);
      for (const PoolIdentity& pool : All(pools)) {
        INFO("pool " << PoolName(pool));
        const bool on_backend = pool.backend.backend == backend;
        if (name == "max_connections" || !on_backend) {
          CHECK(Survives(next, pool));  // a live setting, or another backend's
        } else {
          CHECK_FALSE(Survives(next, pool));
        }
      }
    }
  }
}

TEST_CASE("a reload that changes nothing gives every pool its identity, and its hash, back") {
  const auto config = LoadTestConfig();
  const auto again = LoadTestConfig();  // another snapshot of the same file
  for (const PoolIdentity& pool : All(PoolsOf(*config))) {
    INFO(PoolName(pool));
    CHECK(Survives(*again, pool));
    CHECK(Hash(*PoolIdentityUnder(*again, pool)) == Hash(pool));
  }
}

TEST_CASE("routes share a pool exactly when they should") {
  const auto config = LoadTestConfig();
  const Pools p = PoolsOf(*config);
  const std::vector<PoolIdentity> all = All(p);
  for (size_t i = 0; i < all.size(); ++i) {
    for (size_t j = i + 1; j < all.size(); ++j) {
      INFO(PoolName(all[i]) << " vs " << PoolName(all[j]));
      CHECK(all[i] != all[j]);
      CHECK(PoolName(all[i]) != PoolName(all[j]));  // names tell them apart in logs and SHOW POOLS
    }
  }
  // An admin and a member of one tenant share its read-write pool.
  config::Config with_bob = *config;
  config::UserConfig bob = with_bob.users.at("alice");
  bob.name = "bob";
  bob.tenants = {{"acme", config::TenantRole::kMember}};
  with_bob.users.emplace("bob", bob);
  CHECK(IdentityOf(with_bob, "bob", "acme") == p.tenant_rw);
  CHECK(Hash(IdentityOf(with_bob, "bob", "acme")) == Hash(p.tenant_rw));
}

TEST_CASE("the names of pools are built from their identity") {
  const Pools p = PoolsOf(*LoadTestConfig());
  CHECK(PoolName(p.tenant_rw) == "acme/app/app_tenant/rw");
  CHECK(PoolName(p.tenant_ro) == "globex/app/app_tenant/ro");
  CHECK(PoolName(p.shared) == "shared/pooled/pooled_app");
  CHECK(PoolName(p.user_own) == "acme/app/app_tenant/rw/user=dave");
  CHECK(p.shared.shared());
  CHECK_FALSE(p.schema_tenant.shared());  // a schema tenant on a sharing backend keeps its own pool
}

TEST_CASE("the tenant context a pool's connections carry is part of its identity") {
  const auto config = LoadTestConfig();
  const Pools pools = PoolsOf(*config);
  struct Case {
    const char* what;
    std::function<void(config::Config&)> change;
    std::vector<const PoolIdentity*> retired;
  };
  const std::vector<Case> cases = {
      {"acme's id", [](config::Config& c) { c.tenants.at("acme").id = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"; },
       {&pools.tenant_rw, &pools.user_own}},
      {"globex's schema", [](config::Config& c) { c.tenants.at("globex").schema = "org_globex2"; }, {&pools.tenant_ro}},
      {"acme's isolation", [](config::Config& c) { c.tenants.at("acme").isolation = config::IsolationMode::kDatabase; },
       {}},  // the same startup context: rls and database isolation differ in what the server enforces
      {"acme removed", [](config::Config& c) { c.tenants.erase("acme"); }, {&pools.tenant_rw, &pools.user_own}},
      {"acme moved to another backend", [](config::Config& c) { c.tenants.at("acme").backend = "pooled"; },
       {&pools.tenant_rw, &pools.user_own}},
      {"umbrella becomes an rls tenant of the sharing backend",
       [](config::Config& c) { c.tenants.at("umbrella").isolation = config::IsolationMode::kRls; },
       {&pools.schema_tenant}},
      {"the tenant setting", [](config::Config& c) { c.tenant_setting = "app.org"; },
       {&pools.tenant_rw, &pools.tenant_ro, &pools.schema_tenant, &pools.shared, &pools.user_own}},
      {"dave removed", [](config::Config& c) { c.users.erase("dave"); }, {&pools.user_own}},
      {"dave's own pool settings removed", [](config::Config& c) { c.users.at("dave").pool = config::PoolOverrides{}; }, {&pools.user_own}},
      {"pool sizes, modes and timeouts",
       [](config::Config& c) {
         c.pool.size = 50;
         c.pool.mode = config::PoolMode::kTransaction;
         c.pool.wait_timeout = config::Duration(1234);
         c.users.at("dave").pool.Mutable().size = 4;
       },
       {}},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    config::Config next = *config;
    c.change(next);
    for (const PoolIdentity& pool : All(pools)) {
      INFO("pool " << PoolName(pool));
      bool retired = false;
      for (const PoolIdentity* r : c.retired) retired |= (*r == pool);
      CHECK(Survives(next, pool) != retired);
    }
  }
}

TEST_CASE("a schema tenant's server_role is the user of its pool, which no tenant with another role shares") {
  const std::string yaml =
      std::string() +
      "backends:\n"
      "  app: { host: 127.0.0.1, port: 5432, database: app, user: app_tenant, password: x }\n"
      "tenants:\n"
      "  acme: { id: 7c9e6679-7425-40de-944b-e07fc1f90ae7, isolation: rls, backend: app }\n"
      "  globex: { id: 9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d, isolation: schema, schema: org_globex, backend: app,\n"
      "            server_role: { user: globex_app, password: g } }\n"
      "  hooli: { id: 3d1a7b2c-8e9f-4a0b-b1c2-d3e4f5a6b7c8, isolation: schema, schema: org_hooli, backend: app,\n"
      "           server_role: { user: hooli_app, password: h } }\n"
      "users:\n"
      "  alice: { password: \"" + kVerifier + "\", tenants: { acme: admin, globex: admin, hooli: admin } }\n";
  auto loaded = config::LoadConfigString(yaml, "test.yaml", [](std::string_view) { return std::nullopt; });
  INFO(loaded.status().message());
  REQUIRE(loaded.ok());
  const config::Config& config = **loaded;
  const PoolIdentity acme = IdentityOf(config, "alice", "acme");
  const PoolIdentity globex = IdentityOf(config, "alice", "globex");
  const PoolIdentity hooli = IdentityOf(config, "alice", "hooli");
  // The role logs in (startup packet user, its own password): it is the session user, not a SET ROLE.
  CHECK(globex.backend.user == "globex_app");
  CHECK(globex.backend.password == "g");
  CHECK(BackendConfigOf(globex.backend).user == "globex_app");
  CHECK(hooli.backend.user == "hooli_app");
  CHECK(acme.backend.user == "app_tenant");
  CHECK(PoolName(globex) == "globex/app/globex_app/rw");
  CHECK(PoolName(hooli) == "hooli/app/hooli_app/rw");
  // Same tenant context otherwise, different role: never the same pool.
  PoolIdentity globex_as_backend_user = globex;
  globex_as_backend_user.backend.user = "app_tenant";
  globex_as_backend_user.backend.password = "x";
  CHECK(globex_as_backend_user != globex);
  CHECK(Hash(globex_as_backend_user) != Hash(globex));
  CHECK(globex != hooli);

  // A reload that changes the role or its password retires the tenant's pool, and only it.
  for (const auto& change : std::vector<std::function<void(config::Config&)>>{
           [](config::Config& c) { c.tenants.at("globex").server_role.Mutable().user = "globex_app2"; },
           [](config::Config& c) { c.tenants.at("globex").server_role.Mutable().password = "g2"; },
           [](config::Config& c) { c.tenants.at("globex").server_role = config::ServerRoleConfig{}; }}) {
    config::Config next = config;
    change(next);
    CHECK_FALSE(Survives(next, globex));
    CHECK(Survives(next, hooli));
    CHECK(Survives(next, acme));
  }
  CHECK(Survives(config, globex));
}

}  // namespace
}  // namespace pgtenant::routing
