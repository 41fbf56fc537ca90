// Config: pool resolution (defaults <- top <- tenant <- user), lookups and enum spellings.
#include "config/config.h"

#include <catch2/catch.hpp>

namespace pgtenant::config {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

const std::string kVerifier =
    "SCRAM-SHA-256$4096:zTU5Wue0iYK6zGxWWxlTXQ==$NNKgQtnfbFPhifhAywzDVOol98jHbI+THs+LKDDD4Xk=:"
    "dMpvkAnzUuJJW6SMexCZGu4cekeUFppBVCVDp2JmwlQ=";

std::string Yaml(std::initializer_list<std::string_view> lines) {
  std::string out;
  for (std::string_view line : lines) {
    out += line;
    out += '\n';
  }
  return out;
}

// Lines 1-13 of a config whose pools differ at every level; `top_pool` is line 1.
std::string PoolConfig(std::string_view top_pool) {
  return Yaml({
      top_pool,
      "backends:",
      "  db: { host: h, database: d, user: u }",
      "tenants:",
      "  acme:",
      "    id: 7c9e6679-7425-40de-944b-e07fc1f90ae7",
      "    backend: db",
      "    pool: { mode: transaction, size: 10, idle_timeout: 1m }",
      "  globex: { id: 9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d, backend: db }",
      "users:",
      "  alice: { password: \"" + kVerifier + "\", tenants: { acme: admin, globex: viewer }, pool: { size: 5 } }",
      "  bob: { password: \"" + kVerifier + "\", tenants: { acme: member } }",
  });
}

std::shared_ptr<const Config> LoadOk(const std::string& yaml) {
  auto result = LoadConfigString(yaml, "pools.yaml", [](std::string_view) { return std::nullopt; });
  INFO(result.status().message());
  REQUIRE(result.ok());
  return *result;
}

std::string ErrorOf(const std::string& yaml) {
  auto result = LoadConfigString(yaml, "pools.yaml", [](std::string_view) { return std::nullopt; });
  REQUIRE_FALSE(result.ok());
  return result.status().message();
}

TEST_CASE("with no pool anywhere, every pool gets the defaults", "[config]") {
  Config config;
  const PoolSettings pool = config.ResolvePool(nullptr, nullptr);
  CHECK(pool.mode == PoolMode::kSession);
  CHECK(pool.size == 20);
  CHECK(pool.min_idle == 0);
  CHECK(pool.wait_timeout == seconds(5));
  CHECK(pool.idle_timeout == minutes(10));
  CHECK(pool.lifetime == std::chrono::hours(1));
}

TEST_CASE("the most specific level that sets a pool field wins", "[config]") {
  auto config = LoadOk(PoolConfig("pool: { size: 30, min_idle: 2, wait_timeout: 250ms }"));
  const TenantConfig* acme = config->FindTenant("acme");
  const TenantConfig* globex = config->FindTenant("globex");
  const UserConfig* alice = config->FindUser("alice");
  const UserConfig* bob = config->FindUser("bob");

  SECTION("top level over defaults") {
    const PoolSettings pool = config->ResolvePool(nullptr, nullptr);
    CHECK(pool.mode == PoolMode::kSession);  // default
    CHECK(pool.size == 30);
    CHECK(pool.min_idle == 2);
    CHECK(pool.wait_timeout == milliseconds(250));
  }
  SECTION("tenant over top level; what the tenant leaves unset falls through") {
    const PoolSettings pool = config->ResolvePool(acme, nullptr);
    CHECK(pool.mode == PoolMode::kTransaction);
    CHECK(pool.size == 10);
    CHECK(pool.idle_timeout == minutes(1));
    CHECK(pool.min_idle == 2);                      // top level
    CHECK(pool.wait_timeout == milliseconds(250));  // top level
    CHECK(pool.lifetime == std::chrono::hours(1));  // default
  }
  SECTION("user over tenant") {
    const PoolSettings pool = config->ResolvePool(acme, alice);
    CHECK(pool.size == 5);
    CHECK(pool.mode == PoolMode::kTransaction);
    CHECK(pool.idle_timeout == minutes(1));
  }
  SECTION("a user without a pool block takes the tenant's") {
    CHECK(config->ResolvePool(acme, bob).size == 10);
  }
  SECTION("a tenant without a pool block takes the top level's") {
    CHECK(config->ResolvePool(globex, nullptr).size == 30);
    CHECK(config->ResolvePool(globex, alice).size == 5);
  }
  SECTION("a user alone applies over the top level") {
    CHECK(config->ResolvePool(nullptr, alice).size == 5);
    CHECK(config->ResolvePool(nullptr, alice).min_idle == 2);
  }
}

TEST_CASE("pool values are validated", "[config]") {
  CHECK(ErrorOf(PoolConfig("pool: { size: 0 }")) == "pools.yaml:1:15: pool.size: expected an integer >= 1, got 0");
  CHECK(ErrorOf(PoolConfig("pool: { min_idle: -1 }")) ==
        "pools.yaml:1:19: pool.min_idle: expected an integer >= 0, got -1");
  CHECK(ErrorOf(PoolConfig("pool: { lifetime: 0 }")) == "pools.yaml:1:19: pool.lifetime: must be longer than 0");
  CHECK(ErrorOf(PoolConfig("pool: { mode: transactoin }")) ==
        "pools.yaml:1:15: pool.mode: expected one of session, transaction, got \"transactoin\"");
  CHECK(ErrorOf(PoolConfig("pool: { sise: 3 }")) == "pools.yaml:1:9: pool: unknown key 'sise' (did you mean 'size'?)");
}

TEST_CASE("min_idle may not exceed size in any resolved pool", "[config]") {
  CHECK(ErrorOf(PoolConfig("pool: { min_idle: 40 }")) ==
        "pools.yaml:1:7: pool: min_idle (40) is larger than size (20)");
  // Top level min_idle 12 is fine for the default size 20 but not for acme's size 10.
  CHECK(ErrorOf(PoolConfig("pool: { min_idle: 12 }")) ==
        "pools.yaml:8:11: tenants.acme.pool: min_idle (12) is larger than size (10) in the pool resolved for "
        "tenant acme");
  // Fine for every tenant, but alice's size 5 is below it: reported at alice's pool.
  CHECK(ErrorOf(PoolConfig("pool: { min_idle: 6 }")).find("pools.yaml:11:") == 0);
  CHECK(ErrorOf(PoolConfig("pool: { min_idle: 6 }"))
            .find("users.alice.pool: min_idle (6) is larger than size (5) in the pool resolved for user alice in "
                  "tenant acme") != std::string::npos);
}

TEST_CASE("lookups find entries by name and give null otherwise", "[config]") {
  auto config = LoadOk(PoolConfig("pool: { size: 20 }"));
  REQUIRE(config->FindBackend("db") != nullptr);
  CHECK(config->FindBackend("db")->database == "d");
  CHECK(config->FindBackend("nope") == nullptr);
  CHECK(config->FindTenant("acme")->name == "acme");
  CHECK(config->FindTenant("ACME") == nullptr);
  CHECK(config->FindUser("bob")->name == "bob");
  CHECK(config->FindUser("") == nullptr);
}

TEST_CASE("a tenant can be found by its id in either case", "[config]") {
  auto config = LoadOk(PoolConfig("pool: { size: 20 }"));
  CHECK(config->FindTenantById("7c9e6679-7425-40de-944b-e07fc1f90ae7") == config->FindTenant("acme"));
  CHECK(config->FindTenantById("9B2F1C4E-5D6A-4E8B-9C0D-1E2F3A4B5C6D") == config->FindTenant("globex"));
  CHECK(config->FindTenantById("00000000-0000-0000-0000-000000000000") == nullptr);
  CHECK(config->FindTenantById("acme") == nullptr);
}

TEST_CASE("id and schema lookups: indexed on a loaded config, scanned on an edited copy, same answers", "[config]") {
  auto loaded = LoadOk(Yaml({"backends: { db: { host: h, database: d, user: u } }",
                             "tenants:",
                             "  acme: { id: 7c9e6679-7425-40de-944b-e07fc1f90ae7, backend: db }",
                             "  globex: { id: 9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d, backend: db, isolation: schema, "
                             "schema: Org_Globex, server_role: { user: globex_app } }",
                             "users: { bob: { password: \"" + std::string(kVerifier) + "\", tenants: { acme: member } } }"}));
  REQUIRE(loaded->tenant_index.built);
  Config copy = *loaded;
  CHECK_FALSE(copy.tenant_index.built);  // it would point into `loaded`'s tenants
  for (const Config* config : {loaded.get(), static_cast<const Config*>(&copy)}) {
    INFO((config == loaded.get() ? "indexed" : "scanned"));
    CHECK(config->FindTenantBySchema("org_globex") == config->FindTenant("globex"));
    CHECK(config->FindTenantBySchema("ORG_GLOBEX") == config->FindTenant("globex"));
    CHECK(config->FindTenantBySchema("public") == nullptr);
    CHECK(config->FindTenantBySchema("") == nullptr);
    CHECK(config->FindTenantById("9B2F1C4E-5D6A-4E8B-9C0D-1E2F3A4B5C6D") == config->FindTenant("globex"));
    CHECK(config->FindTenantById("7c9e6679-7425-40de-944b-e07fc1f90ae7") == config->FindTenant("acme"));
  }
  // An edit to the copy is seen by its lookups (no stale index), and not by the original's.
  copy.tenants.at("globex").schema = "org_renamed";
  CHECK(copy.FindTenantBySchema("org_renamed") == copy.FindTenant("globex"));
  CHECK(copy.FindTenantBySchema("org_globex") == nullptr);
  CHECK(loaded->FindTenantBySchema("org_globex") == loaded->FindTenant("globex"));
}

TEST_CASE("enums print as they are spelt in the YAML", "[config]") {
  CHECK(ToString(PoolMode::kSession) == "session");
  CHECK(ToString(PoolMode::kTransaction) == "transaction");
  CHECK(ToString(AuthMethod::kScramSha256) == "scram-sha-256");
  CHECK(ToString(AuthMethod::kMd5) == "md5");
  CHECK(ToString(AuthMethod::kTrust) == "trust");
  CHECK(ToString(IsolationMode::kRls) == "rls");
  CHECK(ToString(IsolationMode::kSchema) == "schema");
  CHECK(ToString(IsolationMode::kDatabase) == "database");
  CHECK(ToString(TenantRole::kAdmin) == "admin");
  CHECK(ToString(TenantRole::kMember) == "member");
  CHECK(ToString(TenantRole::kViewer) == "viewer");
  CHECK(ToString(IdentificationMethod::kSni) == "sni");
  CHECK(ToString(IdentificationMethod::kUsernameSuffix) == "username_suffix");
  CHECK(ToString(IdentificationMethod::kStartupOption) == "startup_option");
  CHECK(ToString(IdentificationMethod::kDatabaseName) == "database_name");
  CHECK(ToString(IdentificationMethod::kSingleTenant) == "single_tenant");
}

}  // namespace
}  // namespace pgtenant::config
