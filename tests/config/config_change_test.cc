// ConfigChange: two loaded configs compared entry by entry (what a reload applies is what changed).
#include "config/config_change.h"

#include <catch2/catch.hpp>

#include <string>

namespace pgtenant::config {
namespace {

const std::string kVerifier =
    "SCRAM-SHA-256$4096:zTU5Wue0iYK6zGxWWxlTXQ==$NNKgQtnfbFPhifhAywzDVOol98jHbI+THs+LKDDD4Xk=:"
    "dMpvkAnzUuJJW6SMexCZGu4cekeUFppBVCVDp2JmwlQ=";

struct Parts {
  std::string top = "tenant_setting: app.org\n";
  std::string backend = "  db: { host: h, database: d, user: u }\n";
  std::string acme = "  acme: { id: 7c9e6679-7425-40de-944b-e07fc1f90ae7, backend: db }\n";
  std::string globex = "  globex: { id: 9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d, backend: db }\n";
  std::string alice = "  alice: { password: \"" + kVerifier + "\", tenants: { acme: admin } }\n";
  std::string bob = "  bob: { password: \"" + kVerifier + "\", tenants: { globex: member } }\n";
};

std::shared_ptr<const Config> Load(const Parts& p) {
  auto config = LoadConfigString(p.top + "backends:\n" + p.backend + "tenants:\n" + p.acme + p.globex + "users:\n" +
                                     p.alice + p.bob,
                                 "change.yaml");
  REQUIRE(config.ok());
  return *config;
}

TEST_CASE("the same file twice changes nothing", "[config][change]") {
  const ConfigChange change = CompareConfigs(*Load(Parts{}), *Load(Parts{}));
  CHECK(change.empty());
}

TEST_CASE("a change names the entries it touched, and only those", "[config][change]") {
  Parts after;
  after.globex = "  globex: { id: 9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d, backend: db, max_clients: 3 }\n";
  after.bob = "  bob: { password: \"" + kVerifier + "\", tenants: { globex: viewer } }\n";
  ConfigChange change = CompareConfigs(*Load(Parts{}), *Load(after));
  CHECK_FALSE(change.all_pools);
  CHECK(change.tenants == std::unordered_set<std::string>{"globex"});
  CHECK(change.users == std::unordered_set<std::string>{"bob"});
  CHECK(change.backends.empty());

  // A part that is out of line (Sparse) and set to its defaults reads the same as one left unset.
  Parts sparse;
  sparse.acme = "  acme: { id: 7c9e6679-7425-40de-944b-e07fc1f90ae7, backend: db, pool: {} }\n";
  CHECK(CompareConfigs(*Load(Parts{}), *Load(sparse)).tenants.empty());
  sparse.acme = "  acme: { id: 7c9e6679-7425-40de-944b-e07fc1f90ae7, backend: db, pool: { size: 4 } }\n";
  CHECK(CompareConfigs(*Load(Parts{}), *Load(sparse)).tenants == std::unordered_set<std::string>{"acme"});
}

TEST_CASE("entries added and removed are changes; settings every pool follows change all pools", "[config][change]") {
  Parts before;
  Parts after;
  after.globex = "  initech: { id: 1b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d, backend: db }\n";
  after.bob = "  bob: { password: \"" + kVerifier + "\", tenants: { initech: member } }\n";
  after.backend = "  db: { host: h2, database: d, user: u }\n";
  ConfigChange change = CompareConfigs(*Load(before), *Load(after));
  CHECK(change.tenants == std::unordered_set<std::string>{"globex", "initech"});
  CHECK(change.backends == std::unordered_set<std::string>{"db"});
  CHECK_FALSE(change.all_pools);

  Parts setting;
  setting.top = "tenant_setting: app.tenant\n";
  CHECK(CompareConfigs(*Load(before), *Load(setting)).all_pools);
  Parts pool;
  pool.top = "tenant_setting: app.org\npool: { size: 3 }\n";
  CHECK(CompareConfigs(*Load(before), *Load(pool)).all_pools);
}

}  // namespace
}  // namespace pgtenant::config
