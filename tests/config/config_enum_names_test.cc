// Config enum spellings (config/config_enum_names.h): each table names every enumerator once, in
// declaration order, with a unique name that ToString returns and the loader reads back as the same value.
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/config_enum_names.h"
#include "tests/support/enumerators.h"

namespace pgtenant::config {
namespace {

constexpr std::string_view kVerifier =
    "SCRAM-SHA-256$4096:zTU5Wue0iYK6zGxWWxlTXQ==$NNKgQtnfbFPhifhAywzDVOol98jHbI+THs+LKDDD4Xk=:"
    "dMpvkAnzUuJJW6SMexCZGu4cekeUFppBVCVDp2JmwlQ=";

template <typename E>
std::vector<int> AsInts(const std::vector<E>& values) {
  std::vector<int> ints;
  for (E value : values) ints.push_back(static_cast<int>(value));
  return ints;
}

template <typename E, size_t N>
void CheckTable(const std::array<EnumName<E>, N>& names) {
  std::vector<E> listed;
  std::set<std::string_view> seen;
  for (const EnumName<E>& entry : names) {
    INFO("name: " << entry.name);
    listed.push_back(entry.value);
    CHECK(!entry.name.empty());
    CHECK(seen.insert(entry.name).second);
    CHECK(ToString(entry.value) == entry.name);
    CHECK(ValueNamed(names, entry.name) == entry.value);
  }
  CHECK(AsInts(listed) == AsInts(testing::Enumerators<E>()));
  CHECK_FALSE(ValueNamed(names, "no-such-name").has_value());
}

TEST_CASE("every config enum has one table naming each enumerator once, uniquely", "[config_enum_names]") {
  CheckTable(kPoolModeNames);
  CheckTable(kAuthMethodNames);
  CheckTable(kIsolationModeNames);
  CheckTable(kTenantRoleNames);
  CheckTable(kIdentificationMethodNames);
  CheckTable(kWorkerPlacementNames);
  CheckTable(kTlsClientModeNames);
  CheckTable(kAuditSinkTypeNames);
  CheckTable(kAuditOverflowNames);
  CheckTable(kLogLevelNames);
  CheckTable(kLogFormatNames);
}

TEST_CASE("the enumerator probe tells enumerators from other values", "[config_enum_names]") {
  CHECK(testing::IsEnumerator<PoolMode::kTransaction>());
  CHECK_FALSE(testing::IsEnumerator<static_cast<PoolMode>(2)>());
  CHECK(AsInts(testing::Enumerators<AuthMethod>()) == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("an out-of-range value prints as ?", "[config_enum_names]") {
  CHECK(ToString(static_cast<PoolMode>(7)) == "?");
}

std::string Password() { return "password: \"" + std::string(kVerifier) + "\""; }

// A config with one tenant (acme) and one user (alice): `top` is appended at the top level, `tenant`
// inside acme's mapping, and `user` is alice's mapping (by default a member of acme with a password).
std::string Document(std::string_view top, std::string_view tenant = "", std::string_view user = "") {
  std::string yaml = "backends:\n  main: { host: 127.0.0.1, database: app, user: app_tenant }\n";
  yaml += "tenants:\n  acme: { id: 7c9e6679-7425-40de-944b-e07fc1f90ae7, backend: main";
  yaml += tenant;
  yaml += " }\nusers:\n  alice: { ";
  yaml += user.empty() ? "tenants: { acme: member }, " + Password() : std::string(user);
  yaml += " }\n";
  yaml += top;
  yaml += '\n';
  return yaml;
}

template <typename E, size_t N, typename MakeYaml, typename ReadBack>
void CheckLoaderReadsEachName(const std::array<EnumName<E>, N>& names, MakeYaml make_yaml, ReadBack read_back) {
  for (const EnumName<E>& entry : names) {
    const std::string yaml = make_yaml(std::string(entry.name));
    INFO(yaml);
    Result<std::shared_ptr<const Config>> config = LoadConfigString(yaml, "test.yaml", [](std::string_view) {
      return std::optional<std::string>();
    });
    INFO(config.status().message());
    REQUIRE(config.ok());
    CHECK(read_back(**config) == entry.value);
  }
}

TEST_CASE("the loader reads every name of every config enum as its value", "[config_enum_names]") {
  CheckLoaderReadsEachName(
      kPoolModeNames, [](const std::string& name) { return Document("pool: { mode: " + name + " }"); },
      [](const Config& config) { return config.ResolvePool(nullptr, nullptr).mode; });
  CheckLoaderReadsEachName(
      kWorkerPlacementNames, [](const std::string& name) { return Document("worker_placement: " + name); },
      [](const Config& config) { return config.worker_placement; });
  CheckLoaderReadsEachName(
      kTenantRoleNames,
      [](const std::string& name) {
        return Document("", "", "tenants: { acme: " + name + " }, " + Password());
      },
      [](const Config& config) { return config.FindUser("alice")->tenants.at("acme"); });
  CheckLoaderReadsEachName(
      kIsolationModeNames,
      [](const std::string& name) {
        return Document("", ", isolation: " + name + (name == "schema" ? ", schema: acme_data" : ""));
      },
      [](const Config& config) { return config.FindTenant("acme")->isolation; });
  CheckLoaderReadsEachName(
      kTlsClientModeNames,
      [](const std::string& name) {
        return Document("tls: { client: { mode: " + name + ", certificate: server.crt, key: server.key } }");
      },
      [](const Config& config) { return config.tls.client.mode; });
  CheckLoaderReadsEachName(
      kIdentificationMethodNames,
      [](const std::string& name) {
        return Document("tenant_identification: [" + name +
                        "]\ntls: { client: { mode: allow, certificate: server.crt, key: server.key } }");
      },
      [](const Config& config) { return config.tenant_identification.at(0); });
  CheckLoaderReadsEachName(
      kAuditSinkTypeNames,
      [](const std::string& name) {
        return Document("audit: { sinks: [ { type: " + name + (name == "file" ? ", path: audit.log" : "") + " } ] }");
      },
      [](const Config& config) { return config.audit.sinks.at(0).type; });
  CheckLoaderReadsEachName(
      kAuditOverflowNames, [](const std::string& name) { return Document("audit: { on_overflow: " + name + " }"); },
      [](const Config& config) { return config.audit.on_overflow; });
  CheckLoaderReadsEachName(
      kLogLevelNames, [](const std::string& name) { return Document("log: { level: " + name + " }"); },
      [](const Config& config) { return config.log.level; });
  CheckLoaderReadsEachName(
      kLogFormatNames, [](const std::string& name) { return Document("log: { format: " + name + " }"); },
      [](const Config& config) { return config.log.format; });
  CheckLoaderReadsEachName(
      kAuthMethodNames,
      [](const std::string& name) {
        const std::string password = name == "scram-sha-256" ? ", " + Password()
                                     : name == "md5"         ? ", password: md5" + std::string(32, 'a')
                                                             : std::string();
        return Document("auth: { method: " + name +
                            ", jwt: { secret: s3cret } }\n"
                            "tls: { client: { mode: allow, certificate: server.crt, key: server.key, ca: ca.crt } }",
                        "", "tenants: { acme: member }" + password);
      },
      [](const Config& config) { return config.auth_method; });
}

}  // namespace
}  // namespace pgtenant::config
