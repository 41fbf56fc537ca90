// policy: in YAML: rules switched per tenant and role, deny lists, read-only tenants, and errors.
#include <catch2/catch.hpp>
#include <string>

#include "policy/effective_policy.h"
#include "tests/policy/policy_fixture.h"

namespace pgtenant::policy {
namespace {

using config::TenantRole;
using testing::BaseYaml;
using testing::LoadTestConfig;
using testing::Session;

Result<std::shared_ptr<const config::Config>> Load(const std::string& yaml) {
  return config::LoadConfigString(yaml, "policy.yaml", [](std::string_view) { return std::nullopt; });
}

PolicyVerdict Judge(const config::Config& config, const std::string& tenant, TenantRole role, const std::string& sql) {
  PolicyEngine engine;
  VerdictMemo memo;
  return *engine.Inspect(memo, Session(config, tenant, role), sql, StatementSource::kSimpleQuery);
}

TEST_CASE("a rule switched off for a tenant's role applies to that role only", "[policy][config]") {
  auto config = LoadTestConfig(BaseYaml("", ", policy: { roles: { admin: { rules: { ddl.schema_change: off } } } }"));
  CHECK(Judge(*config, "acme", TenantRole::kAdmin, "CREATE TABLE t (a int)").allowed);
  CHECK(Judge(*config, "acme", TenantRole::kMember, "CREATE TABLE t (a int)").rule_id == "ddl.schema_change");
  CHECK(Judge(*config, "initech", TenantRole::kAdmin, "CREATE TABLE t (a int)").rule_id == "ddl.schema_change");
}

TEST_CASE("a rule switched off for a tenant applies to all its roles", "[policy][config]") {
  auto config = LoadTestConfig(BaseYaml("", ", policy: { rules: { dynamic_sql.do: off } }"));
  CHECK(Judge(*config, "acme", TenantRole::kMember, "DO $$ BEGIN END $$").allowed);
  CHECK(Judge(*config, "globex", TenantRole::kMember, "DO $$ BEGIN END $$").rule_id == "dynamic_sql.do");
}

TEST_CASE("the most specific level wins: top, top role, tenant, tenant role", "[policy][config]") {
  const std::string top =
      "policy:\n"
      "  rules: { server.explain_analyze: off }\n"
      "  roles: { member: { rules: { server.explain_analyze: on } } }\n";
  auto config = LoadTestConfig(
      BaseYaml(top, ", policy: { roles: { member: { rules: { server.explain_analyze: off } } } }"));
  const std::string explain = "EXPLAIN ANALYZE SELECT 1";
  CHECK(Judge(*config, "globex", TenantRole::kAdmin, explain).allowed);                 // top: off
  CHECK_FALSE(Judge(*config, "globex", TenantRole::kMember, explain).allowed);          // top role: on
  CHECK(Judge(*config, "acme", TenantRole::kMember, explain).allowed);                  // tenant role: off
}

TEST_CASE("a switched-off rule lets the next rule speak", "[policy][config]") {
  auto config = LoadTestConfig(BaseYaml("", ", policy: { roles: { viewer: { rules: { ddl.schema_change: off } } } }"));
  // A viewer is read-only: DDL is still refused, now by readonly.write.
  CHECK(Judge(*config, "acme", TenantRole::kViewer, "CREATE TABLE t (a int)").rule_id == "readonly.write");
}

TEST_CASE("with functions allowed, a function's SET clause still may not change the context", "[policy][config]") {
  auto config =
      LoadTestConfig(BaseYaml("", ", policy: { roles: { admin: { rules: { dynamic_sql.function: off } } } }"));
  CHECK(Judge(*config, "acme", TenantRole::kAdmin,
              "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET search_path = public AS 'select 1'")
            .allowed);
  CHECK(Judge(*config, "acme", TenantRole::kAdmin,
              "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET app.current_organization_id = 'x' AS 'select 1'")
            .rule_id == "context.tenant_setting");
  CHECK(Judge(*config, "acme", TenantRole::kAdmin,
              "CREATE FUNCTION f() RETURNS text LANGUAGE sql BEGIN ATOMIC SELECT set_config('a.b', 'c', true); END")
            .rule_id == "context.set_config");
  CHECK(Judge(*config, "acme", TenantRole::kAdmin, "ALTER FUNCTION f() SET role = 'postgres'").rule_id ==
        "context.role");
}

TEST_CASE("deny lists accumulate across levels", "[policy][config]") {
  auto config = LoadTestConfig(BaseYaml("policy: { deny_tables: [public.audit_log], deny_functions: [pg_sleep] }\n",
                                        ", policy: { deny_tables: [billing.Secrets], roles: { member: { "
                                        "deny_functions: [public.export_all] } } }"));
  CHECK(Judge(*config, "acme", TenantRole::kMember, "SELECT * FROM audit_log").rule_id == "tenant.denied_table");
  CHECK(Judge(*config, "acme", TenantRole::kMember, "SELECT * FROM billing.secrets").rule_id ==
        "tenant.denied_table");
  CHECK(Judge(*config, "globex", TenantRole::kMember, "SELECT * FROM billing.secrets").allowed);
  CHECK(Judge(*config, "acme", TenantRole::kMember, "SELECT export_all()").rule_id == "tenant.denied_function");
  CHECK(Judge(*config, "acme", TenantRole::kAdmin, "SELECT export_all()").allowed);
  CHECK(Judge(*config, "acme", TenantRole::kAdmin, "SELECT pg_sleep(1)").rule_id == "tenant.denied_function");
}

TEST_CASE("read_only makes a tenant or role read-only; viewers always are", "[policy][config]") {
  auto config = LoadTestConfig(BaseYaml("policy: { read_only: false }\n", ", policy: { read_only: true }"));
  CHECK(Judge(*config, "acme", TenantRole::kAdmin, "INSERT INTO t VALUES (1)").rule_id == "readonly.write");
  CHECK(Judge(*config, "globex", TenantRole::kAdmin, "INSERT INTO t VALUES (1)").allowed);
  CHECK(Judge(*config, "globex", TenantRole::kViewer, "INSERT INTO t VALUES (1)").rule_id == "readonly.write");

  auto by_role = LoadTestConfig(BaseYaml("policy: { roles: { member: { read_only: true } } }\n"));
  CHECK(Judge(*by_role, "initech", TenantRole::kMember, "UPDATE t SET a = 1").rule_id == "readonly.write");
  CHECK(Judge(*by_role, "initech", TenantRole::kAdmin, "UPDATE t SET a = 1").allowed);
}

TEST_CASE("ResolveEffectivePolicy never switches parse.error off", "[policy][config]") {
  config::Config config;
  config.policy.base.rules["parse.error"] = false;  // the loader refuses this; the engine holds anyway
  const EffectivePolicy policy = ResolveEffectivePolicy(config, nullptr, TenantRole::kMember);
  CHECK(policy.Enabled("parse.error"));
}

TEST_CASE("an unknown rule id is an error at its file:line:column", "[policy][config]") {
  auto result = Load(BaseYaml("policy:\n  rules:\n    ddl.schema_chnge: off\n"));
  REQUIRE_FALSE(result.ok());
  // The fixture's YAML has 11 lines before the extra text: the key is on line 13, column 5.
  CHECK(result.status().message() ==
        "policy.yaml:13:5: policy.rules: unknown rule id \"ddl.schema_chnge\" (did you mean 'ddl.schema_change'?)");
}

TEST_CASE("an unknown rule id in a tenant's role is an error there", "[policy][config]") {
  auto result = Load(BaseYaml("", ", policy: { roles: { viewer: { rules: { no.such_rule: on } } } }"));
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().message().rfind("policy.yaml:6:", 0) == 0);
  CHECK(result.status().message().find("tenants.acme.policy.roles.viewer.rules: unknown rule id \"no.such_rule\"") !=
        std::string::npos);
}

TEST_CASE("policy values are validated", "[policy][config]") {
  auto bad_switch = Load(BaseYaml("policy: { rules: { dynamic_sql.do: maybe } }\n"));
  REQUIRE_FALSE(bad_switch.ok());
  CHECK(bad_switch.status().message().find("expected on or off") != std::string::npos);

  auto bad_role = Load(BaseYaml("policy: { roles: { owner: {} } }\n"));
  REQUIRE_FALSE(bad_role.ok());
  CHECK(bad_role.status().message().find("owner") != std::string::npos);

  auto bad_name = Load(BaseYaml("policy: { deny_tables: ['a.b.c'] }\n"));
  REQUIRE_FALSE(bad_name.ok());
  CHECK(bad_name.status().message().find("schema.name") != std::string::npos);

  auto unknown_key = Load(BaseYaml("policy: { deny_table: [x] }\n"));
  REQUIRE_FALSE(unknown_key.ok());

  auto parse_error_off = Load(BaseYaml("policy: { rules: { parse.error: off } }\n"));
  REQUIRE_FALSE(parse_error_off.ok());
  CHECK(parse_error_off.status().message().find("cannot be switched off") != std::string::npos);
}

TEST_CASE("the loader keeps every policy level", "[policy][config]") {
  auto config = LoadTestConfig(BaseYaml(
      "policy:\n  rules: { dynamic_sql.do: on }\n  roles:\n    admin: { rules: { ddl.schema_change: off } }\n",
      ", policy: { read_only: true, roles: { viewer: { deny_tables: [x] } } }"));
  CHECK(config->policy.base.rules.at("dynamic_sql.do"));
  CHECK_FALSE(config->policy.roles.at(TenantRole::kAdmin).rules.at("ddl.schema_change"));
  const config::TenantConfig& acme = *config->FindTenant("acme");
  CHECK(acme.policy->base.read_only == true);
  CHECK(acme.policy->roles.at(TenantRole::kViewer).deny_tables == std::vector<std::string>{"x"});
}

}  // namespace
}  // namespace pgtenant::policy
