// The tenant catalog's rows merged into the YAML's Config (config/tenant_catalog.h): each bad row is left
// out with a note naming it and why, the good ones apply whole, and the YAML wins on conflict. Also the
// tenant_catalog: section of the YAML.
#include <catch2/catch.hpp>

#include <algorithm>

#include "config/config.h"
#include "config/tenant_catalog.h"

namespace pgtenant::config {
namespace {

const std::string kVerifier =
    "SCRAM-SHA-256$4096:zTU5Wue0iYK6zGxWWxlTXQ==$NNKgQtnfbFPhifhAywzDVOol98jHbI+THs+LKDDD4Xk=:"
    "dMpvkAnzUuJJW6SMexCZGu4cekeUFppBVCVDp2JmwlQ=";
const std::string kAcmeId = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
const std::string kNewId = "5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e";
const std::string kOtherId = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

const std::string kYaml =
    "backends:\n"
    "  shared: { host: 127.0.0.1, database: app, user: app_tenant }\n"
    "  initech_db: { host: 127.0.0.1, database: initech, user: initech_app }\n"
    "  spare_db: { host: 127.0.0.1, database: spare, user: spare_app }\n"
    "tenants:\n"
    "  acme: { id: " + kAcmeId + ", isolation: schema, schema: org_acme, backend: shared }\n"
    "  initech: { id: 3d1a0b2c-4e5f-4a6b-8c7d-9e0f1a2b3c4d, isolation: database, backend: initech_db }\n"
    "users:\n"
    "  alice: { password: \"" + kVerifier + "\", tenants: { acme: admin } }\n"
    "tenant_catalog: { backend: shared }\n";

std::shared_ptr<const Config> Yaml(const std::string& text = kYaml) {
  auto loaded = LoadConfigString(text, "catalog.yaml", [](std::string_view) { return std::nullopt; });
  INFO(loaded.status().message());
  REQUIRE(loaded.ok());
  return *loaded;
}

bool HasNote(const CatalogMerge& merge, const std::string& text) {
  return std::any_of(merge.notes.begin(), merge.notes.end(),
                     [&](const std::string& note) { return note.find(text) != std::string::npos; });
}

TEST_CASE("catalog tenants and memberships join the YAML's, marked as from the catalog", "[tenant_catalog]") {
  CatalogRows rows;
  rows.tenants = {{"globex", kNewId, "rls", "", "shared"}, {"hooli", kOtherId, "schema", "org_hooli", "shared"}};
  rows.memberships = {{"alice", "globex", "member"}, {"bob", "hooli", "viewer"}};
  rows.users = {{"bob", kVerifier}};
  CatalogMerge merge = MergeTenantCatalog(*Yaml(), rows);
  INFO(merge.notes.size());
  CHECK(merge.notes.empty());
  CHECK(merge.tenants == 2);
  CHECK(merge.memberships == 2);
  CHECK(merge.users == 1);
  const Config& config = *merge.config;
  REQUIRE(config.FindTenant("globex") != nullptr);
  CHECK(config.FindTenant("globex")->source == TenantSource::kCatalog);
  CHECK(config.FindTenant("acme")->source == TenantSource::kYaml);
  CHECK(config.FindTenantById(kNewId) == config.FindTenant("globex"));  // indexed
  CHECK(config.FindTenantBySchema("ORG_HOOLI") == config.FindTenant("hooli"));
  CHECK(config.FindUser("alice")->tenants.at("globex") == TenantRole::kMember);
  CHECK(config.FindUser("alice")->tenants.at("acme") == TenantRole::kAdmin);
  REQUIRE(config.FindUser("bob") != nullptr);
  CHECK(config.FindUser("bob")->scram.has_value());
  CHECK(config.FindUser("bob")->tenants.at("hooli") == TenantRole::kViewer);
  CHECK(ToString(TenantSource::kCatalog) == "catalog");
}

TEST_CASE("a bad catalog row is left out with a note, and what depends on it with it", "[tenant_catalog]") {
  struct Case {
    CatalogTenantRow row;
    std::string note;
  };
  const Case cases[] = {
      {{"bad name", kNewId, "rls", "", "shared"}, "invalid tenant name"},
      {{"globex", "not-a-uuid", "rls", "", "shared"}, "id: "},
      {{"globex", kAcmeId, "rls", "", "shared"}, "is already used by another tenant"},
      {{"globex", kNewId, "sharded", "", "shared"}, "isolation: expected rls, schema or database"},
      {{"globex", kNewId, "schema", "", "shared"}, "schema: required"},
      {{"globex", kNewId, "schema", "org-globex", "shared"}, "expected a plain SQL identifier"},
      {{"globex", kNewId, "schema", "ORG_ACME", "shared"}, "schema ORG_ACME is already used"},
      {{"globex", kNewId, "rls", "org_globex", "shared"}, "only allowed with isolation schema"},
      {{"globex", kNewId, "rls", "", "nowhere"}, "no backend named \"nowhere\""},
      {{"globex", kNewId, "database", "", "shared"}, "a tenant with isolation database needs a backend of its own"},
      {{"globex", kNewId, "rls", "", "initech_db"}, "belongs to a tenant with isolation database"},
      {{"acme", kNewId, "rls", "", "shared"}, "the YAML has a tenant of that name; the YAML wins"},
  };
  for (const Case& c : cases) {
    CatalogRows rows;
    rows.tenants = {c.row, {"hooli", kOtherId, "rls", "", "shared"}};
    rows.memberships = {{"alice", c.row.name, "member"}, {"alice", "hooli", "member"}};
    CatalogMerge merge = MergeTenantCatalog(*Yaml(), rows);
    INFO(c.note);
    CHECK(HasNote(merge, "tenant row \"" + c.row.name + "\" skipped: " ));
    CHECK(HasNote(merge, c.note));
    CHECK(merge.tenants == 1);  // the good row still applies
    CHECK(merge.config->FindTenant("hooli") != nullptr);
    CHECK(merge.config->FindUser("alice")->tenants.count("hooli") == 1);
    if (c.row.name != "acme") {
      CHECK(merge.config->FindTenant(c.row.name) == nullptr);
      CHECK(merge.config->FindUser("alice")->tenants.count(c.row.name) == 0);  // its membership goes too
      CHECK(HasNote(merge, "membership row \"alice in " + c.row.name + "\" skipped: no tenant named"));
    } else {
      CHECK(merge.config->FindTenant("acme")->id == kAcmeId);
    }
  }
}

TEST_CASE("a dedicated backend of its own is accepted from the catalog", "[tenant_catalog]") {
  CatalogRows rows;
  rows.tenants = {{"spare", kNewId, "database", "", "spare_db"}, {"late", kOtherId, "rls", "", "spare_db"}};
  CatalogMerge merge = MergeTenantCatalog(*Yaml(), rows);
  CHECK(merge.config->FindTenant("spare") != nullptr);
  CHECK(merge.config->FindTenant("late") == nullptr);  // the backend is spare's alone now
  CHECK(HasNote(merge, "tenant row \"late\" skipped: backend \"spare_db\" belongs to a tenant with isolation database"));
}

TEST_CASE("catalog users and memberships are checked as the YAML's are", "[tenant_catalog]") {
  CatalogRows rows;
  rows.tenants = {{"globex", kNewId, "rls", "", "shared"}};
  rows.users = {{"carol", "plaintext"},    {"dave", "md5b720ac445efd89a0a6bd0d1706392f2a"},
                {"al.ice", kVerifier},     {"alice", kVerifier},
                {"erin", kVerifier},       {"frank", kVerifier}};
  rows.memberships = {{"carol", "globex", "member"}, {"dave", "globex", "member"},  {"erin", "globex", "owner"},
                      {"alice", "acme", "viewer"},   {"alice", "globex", "member"}, {"alice", "globex", "viewer"},
                      {"ghost", "globex", "member"}};
  CatalogMerge merge = MergeTenantCatalog(*Yaml(), rows);
  CHECK(HasNote(merge, "user row \"carol\" skipped: password: expected a SCRAM-SHA-256 verifier or an MD5 hash"));
  CHECK(HasNote(merge, "user row \"dave\" skipped: password: auth.method is scram-sha-256"));
  CHECK(HasNote(merge, "user row \"al.ice\" skipped: invalid user name"));
  CHECK(HasNote(merge, "user row \"alice\" skipped: the YAML has a user of that name; the YAML wins"));
  CHECK(HasNote(merge, "membership row \"erin in globex\" skipped: role: expected admin, member or viewer"));
  CHECK(HasNote(merge, "user row \"erin\" skipped: no membership applies to it"));
  CHECK(HasNote(merge, "user row \"frank\" skipped: no membership applies to it"));
  CHECK(HasNote(merge, "membership row \"alice in acme\" skipped: the YAML lists this membership already"));
  CHECK(HasNote(merge, "membership row \"alice in globex\" skipped: listed twice"));
  CHECK(HasNote(merge, "membership row \"ghost in globex\" skipped: no user named"));
  for (const std::string& note : merge.notes) CHECK(note.find(kVerifier) == std::string::npos);  // no secret
  const Config& config = *merge.config;
  CHECK(config.FindUser("erin") == nullptr);
  CHECK(config.FindUser("carol") == nullptr);
  CHECK(config.FindUser("alice")->tenants.at("acme") == TenantRole::kAdmin);  // the YAML's role
  CHECK(config.FindUser("alice")->tenants.at("globex") == TenantRole::kMember);  // the first row
  CHECK(merge.users == 0);
  CHECK(merge.memberships == 1);
}

TEST_CASE("no rows leave the YAML's tenants and users as they are", "[tenant_catalog]") {
  auto yaml = Yaml();
  CatalogMerge merge = MergeTenantCatalog(*yaml, CatalogRows{});
  CHECK(merge.notes.empty());
  CHECK(merge.config->tenants.size() == yaml->tenants.size());
  CHECK(merge.config->users.size() == yaml->users.size());
}

TEST_CASE("tenant_catalog: is read with its defaults, and its backend must exist", "[tenant_catalog]") {
  auto config = Yaml();
  CHECK(config->tenant_catalog.enabled);
  CHECK(config->tenant_catalog.backend == "shared");
  CHECK(config->tenant_catalog.channel == "pgtenant_catalog");
  CHECK(config->tenant_catalog.refresh_interval == Duration(30000));
  CHECK(config->tenant_catalog.users_query.empty());
  CHECK_THAT(config->tenant_catalog.tenants_query, Catch::Contains("pgtenant_catalog.tenants"));

  std::string without = kYaml.substr(0, kYaml.find("tenant_catalog:"));
  CHECK_FALSE(Yaml(without)->tenant_catalog.enabled);

  auto error_of = [&](const std::string& section) {
    auto loaded = LoadConfigString(without + section, "catalog.yaml", [](std::string_view) { return std::nullopt; });
    REQUIRE_FALSE(loaded.ok());
    return loaded.status().message();
  };
  CHECK_THAT(error_of("tenant_catalog: { backend: shraed }\n"),
             Catch::Contains("tenant_catalog.backend: no backend named \"shraed\" (did you mean 'shared'?)"));
  CHECK_THAT(error_of("tenant_catalog: { refresh_interval: 5s }\n"), Catch::Contains("missing required key 'backend'"));
  CHECK_THAT(error_of("tenant_catalog: { backend: shared, channel: Catalog }\n"),
             Catch::Contains("tenant_catalog.channel: expected a lowercase SQL identifier"));
  CHECK_THAT(error_of("tenant_catalog: { backend: shared, tenants_query: \"\" }\n"),
             Catch::Contains("tenant_catalog.tenants_query"));
}

}  // namespace
}  // namespace pgtenant::config
