// The example files in config/examples/ load, and say what their comments say.
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>

#include "config/config.h"

namespace pgtenant::config {
namespace {

namespace fs = std::filesystem;

// tests/config/examples_test.cc -> config/examples/
const fs::path kExamples = fs::path(__FILE__).parent_path().parent_path().parent_path() / "config" / "examples";

// Every variable the examples use, as ./scripts/demo exports them.
const std::map<std::string, std::string> kDemoEnvironment = {
    {"DEMO_PG_PORT", "54329"},
    {"DEMO_PROXY_PORT", "64329"},
    {"APP_TENANT_PASSWORD", "app-secret"},
    {"GLOBEX_PASSWORD", "globex-secret"},
    {"INITECH_PASSWORD", "initech-secret"},
};

std::optional<std::string> DemoEnv(std::string_view name) {
  auto it = kDemoEnvironment.find(std::string(name));
  if (it == kDemoEnvironment.end()) return std::nullopt;
  return it->second;
}

std::shared_ptr<const Config> LoadExample(const std::string& name) {
  auto result = LoadConfigFile((kExamples / name).string(), DemoEnv);
  INFO(result.status().message());
  REQUIRE(result.ok());
  return *result;
}

TEST_CASE("every example in config/examples loads", "[examples]") {
  size_t count = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(kExamples)) {
    if (entry.path().extension() != ".yaml") continue;
    ++count;
    auto result = LoadConfigFile(entry.path().string(), DemoEnv);
    INFO(result.status().message());
    CHECK(result.ok());
  }
  CHECK(count >= 3);
}

TEST_CASE("demo.yaml is what ./scripts/demo expects", "[examples]") {
  auto config = LoadExample("demo.yaml");
  CHECK(config->listen.address == "127.0.0.1");
  CHECK(config->listen.port == 64329);
  CHECK(config->auth_method == AuthMethod::kScramSha256);
  CHECK(config->pool.mode == PoolMode::kTransaction);

  const BackendConfig& app = *config->FindBackend("app");
  CHECK(app.port == 54329);
  CHECK(app.database == "app");
  CHECK(app.user == "app_tenant");
  CHECK(app.password == "app-secret");
  const BackendConfig& initech_db = *config->FindBackend("initech_db");
  CHECK(initech_db.port == 54329);
  CHECK(initech_db.database == "initech");
  CHECK(initech_db.user == "initech_app");
  CHECK(initech_db.password == "initech-secret");

  const TenantConfig& acme = *config->FindTenant("acme");
  CHECK(acme.id == "7c9e6679-7425-40de-944b-e07fc1f90ae7");
  CHECK(acme.isolation == IsolationMode::kRls);
  CHECK(acme.backend == "app");
  const TenantConfig& globex = *config->FindTenant("globex");
  CHECK(globex.id == "9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d");
  CHECK(globex.isolation == IsolationMode::kSchema);
  CHECK(globex.schema == "org_globex");
  CHECK(globex.backend == "app");
  CHECK(globex.server_role->user == "globex_app");  // a role of its own: pgtenant doctor passes the demo
  CHECK(globex.server_role->password == "globex-secret");
  const TenantConfig& initech = *config->FindTenant("initech");
  CHECK(initech.id == "3d1a7b2c-8e9f-4a0b-b1c2-d3e4f5a6b7c8");
  CHECK(initech.isolation == IsolationMode::kDatabase);
  CHECK(initech.backend == "initech_db");
  CHECK(config->ResolvePool(&initech, nullptr).mode == PoolMode::kSession);
  CHECK(config->ResolvePool(&acme, nullptr).mode == PoolMode::kTransaction);

  using Roles = std::map<std::string, TenantRole>;
  CHECK(config->FindUser("alice")->tenants == Roles{{"acme", TenantRole::kAdmin}, {"globex", TenantRole::kViewer}});
  CHECK(config->FindUser("bob")->tenants == Roles{{"globex", TenantRole::kMember}});
  CHECK(config->FindUser("carol")->tenants == Roles{{"initech", TenantRole::kAdmin}});
  for (const auto& [name, user] : config->users) {
    INFO(name);
    CHECK(user.scram.has_value());
  }
}

TEST_CASE("demo.yaml fails clearly when the demo script's variables are missing", "[examples]") {
  auto result = LoadConfigFile((kExamples / "demo.yaml").string(), [](std::string_view) { return std::nullopt; });
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().message().find("environment variable DEMO_PROXY_PORT is not set") != std::string::npos);
}

TEST_CASE("full.yaml sets every key to a value that shows it was read", "[examples]") {
  auto config = LoadExample("full.yaml");
  CHECK(config->tenant_identification.size() == 5);
  CHECK(config->FindBackend("shared")->max_connections == 50);
  CHECK(config->FindBackend("initech_db")->password == "initech-secret");
  CHECK(config->FindBackend("initech_db")->hosts.size() == 2);
  CHECK(config->health_check.enabled);
  CHECK(config->peers.size() == 2);
  CHECK(config->workers == 2);
  CHECK(config->FindTenant("acme")->max_clients == 100);
  CHECK(config->FindTenant("globex")->server_role->user == "globex_app");
  CHECK(config->FindTenant("globex")->server_role->password == "globex-secret");
  CHECK(config->ResolvePool(config->FindTenant("acme"), config->FindUser("alice")).size == 5);
  CHECK(config->ResolveIdleTransactionTimeout(config->FindTenant("acme"), nullptr) == std::chrono::minutes(5));
  CHECK(config->ResolveIdleTransactionTimeout(config->FindTenant("acme"), config->FindUser("alice")) ==
        std::chrono::seconds(30));
  CHECK(config->max_function_call_size == 16 << 20);
  CHECK(config->IsAdmin("ops"));
  CHECK(config->FindUser("ops")->tenants.empty());
  CHECK(config->metrics.enabled);
  CHECK(config->metrics.port == 9187);
  CHECK(config->audit.sinks.size() == 2);
  CHECK(config->FindTenant("acme")->compliance->retention_days == 365);
  CHECK(config->policy.roles.count(TenantRole::kViewer) == 1);
}

TEST_CASE("full.yaml's ${INITECH_PASSWORD:-} leaves the password empty when the variable is unset", "[examples]") {
  auto result = LoadConfigFile((kExamples / "full.yaml").string(), [](std::string_view name) {
    return name == "APP_TENANT_PASSWORD" ? std::optional<std::string>("x") : std::nullopt;
  });
  INFO(result.status().message());
  REQUIRE(result.ok());
  CHECK((*result)->FindBackend("initech_db")->password.empty());
}

TEST_CASE("minimal.yaml is the defaults plus one backend, tenant and user", "[examples]") {
  auto config = LoadExample("minimal.yaml");
  CHECK(config->listen.port == 6432);
  CHECK(config->backends.size() == 1);
  CHECK(config->tenants.size() == 1);
  CHECK(config->users.size() == 1);
  CHECK(config->workers == 0);  // one per CPU core
}

}  // namespace
}  // namespace pgtenant::config
