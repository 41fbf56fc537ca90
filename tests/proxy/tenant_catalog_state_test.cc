// TenantCatalogState: a catalog refresh merged and compared off the loop (Prepare) and applied on it
// (Apply), a reload that comes between the two, and a reload's YAML merged beside its read (PrepareYaml).
#include <catch2/catch.hpp>

#include <string>
#include <unordered_set>
#include <utility>

#include "config/config.h"
#include "config/config_change.h"
#include "config/tenant_catalog.h"
#include "proxy/worker/config_thread.h"
#include "proxy/worker/tenant_catalog_state.h"

namespace pgtenant::proxy {
namespace {

const std::string kVerifier =
    "SCRAM-SHA-256$4096:zTU5Wue0iYK6zGxWWxlTXQ==$NNKgQtnfbFPhifhAywzDVOol98jHbI+THs+LKDDD4Xk=:"
    "dMpvkAnzUuJJW6SMexCZGu4cekeUFppBVCVDp2JmwlQ=";

// The YAML with one tenant (acme) and, if `extra` names one, a second YAML tenant of that name.
std::shared_ptr<const config::Config> Yaml(const std::string& extra = "") {
  std::string text =
      "backends:\n"
      "  shared: { host: 127.0.0.1, database: app, user: app_tenant, shared_pool: true }\n"
      "tenants:\n"
      "  acme: { id: 7c9e6679-7425-40de-944b-e07fc1f90ae7, isolation: rls, backend: shared }\n";
  if (!extra.empty()) text += "  " + extra + ": { id: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d, isolation: rls, backend: shared }\n";
  text += "users:\n  alice: { password: \"" + kVerifier + "\", tenants: { acme: admin } }\n";
  text += "tenant_catalog: { backend: shared }\n";
  auto loaded = config::LoadConfigString(text, "catalog.yaml", [](std::string_view) { return std::nullopt; });
  INFO(loaded.status().message());
  REQUIRE(loaded.ok());
  return RetireOffLoop(*loaded);
}

// Catalog rows with the tenants named, each with a user of its own.
config::CatalogRows Rows(std::initializer_list<std::pair<std::string, std::string>> tenants) {
  config::CatalogRows rows;
  for (const auto& [name, id] : tenants) {
    rows.tenants.push_back({name, id, "rls", "", "shared"});
    rows.users.push_back({"user_" + name, kVerifier});
    rows.memberships.push_back({"user_" + name, name, "member"});
  }
  return rows;
}

using Names = std::unordered_set<std::string>;  // as config::ConfigChange holds them

const std::pair<std::string, std::string> kGlobex{"globex", "5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e"};
const std::pair<std::string, std::string> kHooli{"hooli", "1b2c3d4e-5f60-4718-92a3-b4c5d6e7f809"};

TEST_CASE("catalog rows prepared off the loop apply as prepared, compared with what ran before", "[catalog]") {
  TenantCatalogState state;
  const std::shared_ptr<const config::Config> yaml = Yaml();
  state.Start(yaml);

  TenantCatalogState::Prepared first = state.Prepare(Rows({kGlobex}));
  CHECK(first.base.get() == yaml.get());
  CHECK(first.change.tenants == Names{"globex"});
  CHECK(first.change.users.count("user_globex") == 1);
  // A second refresh read before the first applied is compared with the first, not with the YAML.
  TenantCatalogState::Prepared second = state.Prepare(Rows({kGlobex, kHooli}));
  CHECK(second.base.get() == first.merge.config.get());
  CHECK(second.change.tenants == Names{"hooli"});

  const config::Config* first_config = first.merge.config.get();
  bool as_prepared = false;
  std::shared_ptr<const config::Config> running = state.Apply(std::move(first), &as_prepared);
  CHECK(as_prepared);
  CHECK(running.get() == first_config);
  REQUIRE(running->FindTenant("globex") != nullptr);
  CHECK(running->FindTenant("globex")->source == config::TenantSource::kCatalog);
  CHECK(running->FindTenant("acme") != nullptr);

  running = state.Apply(std::move(second), &as_prepared);
  CHECK(as_prepared);
  CHECK(running->FindTenant("hooli") != nullptr);
  CHECK(running->FindTenant("globex") != nullptr);
  // The change a later reload applies is against the catalog's last config, and keeps its tenants.
  std::shared_ptr<const config::Config> reloaded = state.WithYaml(Yaml("initech"));
  CHECK(reloaded->FindTenant("initech") != nullptr);
  CHECK(reloaded->FindTenant("hooli") != nullptr);
  CHECK(config::CompareConfigs(*running, *reloaded).tenants == Names{"initech"});
  WaitForRetiredConfigs();
}

TEST_CASE("a reload between a refresh's merge and its apply is not undone by it", "[catalog]") {
  TenantCatalogState state;
  state.Start(Yaml());
  TenantCatalogState::Prepared prepared = state.Prepare(Rows({kGlobex}));
  REQUIRE(prepared.merge.config->FindTenant("initech") == nullptr);

  // SIGHUP adds a YAML tenant after the rows were merged with the old YAML, before they apply.
  std::shared_ptr<const config::Config> reloaded = state.WithYaml(Yaml("initech"));
  CHECK(reloaded->FindTenant("initech") != nullptr);
  CHECK(reloaded->FindTenant("globex") == nullptr);  // the rows are not the last rows until applied

  bool as_prepared = true;
  std::shared_ptr<const config::Config> running = state.Apply(std::move(prepared), &as_prepared);
  CHECK_FALSE(as_prepared);  // merged again, with the reloaded YAML
  CHECK(running->FindTenant("initech") != nullptr);
  CHECK(running->FindTenant("globex") != nullptr);
  // And the next refresh is compared with that.
  TenantCatalogState::Prepared next = state.Prepare(Rows({kGlobex, kHooli}));
  CHECK(next.base.get() == running.get());
  CHECK(next.change.tenants == Names{"hooli"});
  WaitForRetiredConfigs();
}

TEST_CASE("a reload's YAML merged beside the read applies as merged, unless a refresh applied since", "[catalog]") {
  TenantCatalogState state;
  state.Start(Yaml());
  // No rows yet: nothing to merge, the YAML runs as it is.
  std::shared_ptr<const config::Config> plain = Yaml("initech");
  TenantCatalogState::PreparedYaml none = state.PrepareYaml(*plain);
  CHECK(none.rows == nullptr);
  CHECK(state.WithYaml(plain, &none).get() == plain.get());

  bool as_prepared = false;
  (void)state.Apply(state.Prepare(Rows({kGlobex})), &as_prepared);
  std::shared_ptr<const config::Config> yaml = Yaml("initech");
  TenantCatalogState::PreparedYaml prepared = state.PrepareYaml(*yaml);
  REQUIRE(prepared.merge.config != nullptr);
  std::shared_ptr<const config::Config> running = state.WithYaml(yaml, &prepared);
  CHECK(running.get() == prepared.merge.config.get());  // no second merge on the loop
  CHECK(running->FindTenant("globex") != nullptr);
  CHECK(running->FindTenant("initech") != nullptr);

  // A refresh that applies between the read's merge and the reload is kept: merged again.
  prepared = state.PrepareYaml(*yaml);
  (void)state.Apply(state.Prepare(Rows({kGlobex, kHooli})), &as_prepared);
  running = state.WithYaml(yaml, &prepared);
  CHECK(running.get() != prepared.merge.config.get());
  CHECK(running->FindTenant("hooli") != nullptr);
  CHECK(running->FindTenant("initech") != nullptr);
  WaitForRetiredConfigs();
}

}  // namespace
}  // namespace pgtenant::proxy
