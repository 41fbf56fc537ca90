// Loading audit:, doctor: and tenants.NAME.compliance: — defaults, every key, and located errors.
#include <catch2/catch.hpp>

#include <string>

#include "config/config.h"

namespace pgtenant::config {
namespace {

constexpr std::string_view kVerifier =
    "SCRAM-SHA-256$4096:zTU5Wue0iYK6zGxWWxlTXQ==$NNKgQtnfbFPhifhAywzDVOol98jHbI+THs+LKDDD4Xk=:"
    "dMpvkAnzUuJJW6SMexCZGu4cekeUFppBVCVDp2JmwlQ=";

// `top` goes first (line 1 on), then a valid body whose tenant line ends with `tenant_extra`.
std::string Document(const std::string& top, const std::string& tenant_extra = "") {
  return top +
         "backends:\n"
         "  db: { host: 127.0.0.1, database: app, user: app_tenant }\n"
         "tenants:\n"
         "  acme: { id: 7c9e6679-7425-40de-944b-e07fc1f90ae7, backend: db" +
         tenant_extra +
         " }\n"
         "users:\n"
         "  alice: { password: \"" +
         std::string(kVerifier) + "\", tenants: { acme: admin } }\n";
}

Result<std::shared_ptr<const Config>> Load(const std::string& yaml) {
  return LoadConfigString(yaml, "t.yaml", [](std::string_view) { return std::optional<std::string>(); });
}

std::shared_ptr<const Config> LoadOk(const std::string& yaml) {
  auto result = Load(yaml);
  INFO(result.status().message());
  REQUIRE(result.ok());
  return *result;
}

std::string LoadError(const std::string& yaml) {
  auto result = Load(yaml);
  REQUIRE_FALSE(result.ok());
  return result.status().message();
}

TEST_CASE("without audit:, doctor: or compliance: the defaults hold", "[config][audit]") {
  auto config = LoadOk(Document(""));
  CHECK_FALSE(config->audit.enabled());
  CHECK(config->audit.queue_size == 10000);
  CHECK(config->audit.on_overflow == AuditOverflow::kDrop);
  CHECK_FALSE(config->audit.statements);
  CHECK(config->doctor.tenant_column == "org_id");
  const TenantConfig& acme = *config->FindTenant("acme");
  CHECK(acme.compliance->regulations.empty());
  CHECK_FALSE(acme.compliance->retention_days.has_value());
}

TEST_CASE("audit: reads sinks, queue size, overflow and statements", "[config][audit]") {
  auto config = LoadOk(Document(
      "audit:\n"
      "  sinks: [ { type: file, path: /var/log/pgtenant/audit.jsonl }, { type: stdout } ]\n"
      "  queue_size: 500\n"
      "  on_overflow: block\n"
      "  statements: true\n"));
  REQUIRE(config->audit.sinks.size() == 2);
  CHECK(config->audit.sinks[0].type == AuditSinkType::kFile);
  CHECK(config->audit.sinks[0].path == "/var/log/pgtenant/audit.jsonl");
  CHECK(config->audit.sinks[1].type == AuditSinkType::kStdout);
  CHECK(config->audit.enabled());
  CHECK(config->audit.queue_size == 500);
  CHECK(config->audit.on_overflow == AuditOverflow::kBlock);
  CHECK(config->audit.statements);
}

TEST_CASE("audit: errors point at the offending value", "[config][audit]") {
  CHECK(LoadError(Document("audit:\n  sinks: [ { type: file } ]\n")) ==
        "t.yaml:2:12: audit.sinks[0]: missing required key 'path' (type is file)");
  CHECK(LoadError(Document("audit:\n  sinks: [ { type: stdout, path: /tmp/x } ]\n")) ==
        "t.yaml:2:34: audit.sinks[0].path: only allowed with type: file");
  CHECK_THAT(LoadError(Document("audit:\n  sinks: [ { type: syslog } ]\n")),
             Catch::StartsWith("t.yaml:2:20: audit.sinks[0].type: expected one of file, stdout"));
  CHECK(LoadError(Document("audit:\n  sinks: [ { type: stdout }, { type: stdout } ]\n")) ==
        "t.yaml:2:30: audit.sinks[1]: stdout is listed twice");
  CHECK(LoadError(Document("audit:\n  sinks: [ { type: file, path: a }, { type: file, path: a } ]\n")) ==
        "t.yaml:2:37: audit.sinks[1]: file a is listed twice");
  CHECK_THAT(LoadError(Document("audit:\n  on_overflow: wait\n")),
             Catch::StartsWith("t.yaml:2:16: audit.on_overflow: expected one of block, drop"));
  CHECK_THAT(LoadError(Document("audit:\n  queue_size: 0\n")), Catch::StartsWith("t.yaml:2:15: audit.queue_size:"));
  CHECK(LoadError(Document("audit:\n  statements: yes\n")) ==
        "t.yaml:2:15: audit.statements: expected true or false, got \"yes\"");
  CHECK_THAT(LoadError(Document("audit:\n  sink: []\n")), Catch::Contains("did you mean 'sinks'"));
}

TEST_CASE("compliance: reads regulations and a retention in days", "[config][audit]") {
  auto config = LoadOk(Document("", ", compliance: { regulations: [GDPR, LGPD], retention: 365d }"));
  const TenantConfig& acme = *config->FindTenant("acme");
  CHECK(acme.compliance->regulations == std::vector<std::string>{"GDPR", "LGPD"});
  CHECK(acme.compliance->retention_days == 365);

  auto bare = LoadOk(Document("", ", compliance: { retention: 2190 }"));
  CHECK(bare->FindTenant("acme")->compliance->retention_days == 2190);
  CHECK(bare->FindTenant("acme")->compliance->regulations.empty());
}

TEST_CASE("compliance: errors point at the offending value", "[config][audit]") {
  CHECK_THAT(LoadError(Document("", ", compliance: { retention: 1y }")),
             Catch::StartsWith("t.yaml:4:91: tenants.acme.compliance.retention: expected a number of days"));
  CHECK_THAT(LoadError(Document("", ", compliance: { retention: 0d }")),
             Catch::Contains("got \"0d\""));
  CHECK_THAT(LoadError(Document("", ", compliance: { regulations: [GDPR, GDPR] }")),
             Catch::Contains("tenants.acme.compliance.regulations[1]: \"GDPR\" is listed twice"));
  CHECK_THAT(LoadError(Document("", ", compliance: { regulation: [GDPR] }")),
             Catch::Contains("did you mean 'regulations'"));
}

TEST_CASE("doctor: reads the tenant column, which must be a plain identifier", "[config][audit]") {
  CHECK(LoadOk(Document("doctor: { tenant_column: tenant_id }\n"))->doctor.tenant_column == "tenant_id");
  CHECK(LoadError(Document("doctor: { tenant_column: \"org id\" }\n")) ==
        "t.yaml:1:26: doctor.tenant_column: expected a plain SQL identifier ([A-Za-z_][A-Za-z0-9_]*, at most "
        "63 bytes), got \"org id\"");
}

TEST_CASE("the audit enums spell as in the YAML", "[config][audit]") {
  CHECK(ToString(AuditSinkType::kFile) == "file");
  CHECK(ToString(AuditSinkType::kStdout) == "stdout");
  CHECK(ToString(AuditOverflow::kBlock) == "block");
  CHECK(ToString(AuditOverflow::kDrop) == "drop");
}

}  // namespace
}  // namespace pgtenant::config
