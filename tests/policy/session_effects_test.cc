// What a statement does to the client's session, as the verdict carries it to the relay: SET and
// RESET of session parameters with the value PostgreSQL would take, RESET ALL, DISCARD ALL,
// DEALLOCATE ALL, ROLLBACK, set_config(..., false) when context.set_config is off.
#include <catch2/catch.hpp>

#include <string>

#include "policy/policy_engine.h"
#include "tests/policy/policy_fixture.h"

namespace pgtenant::policy {
namespace {

using protocol::SessionEffect;
using protocol::SessionEffects;
using testing::BaseYaml;
using testing::LoadTestConfig;
using testing::Session;
using Kind = SessionEffect::Kind;

SessionEffects EffectsOf(PolicyEngine& engine, const SessionPolicy& session, const std::string& sql) {
  VerdictMemo memo;
  SharedVerdict verdict = engine.Inspect(memo, session, sql, StatementSource::kSimpleQuery);
  INFO(sql << ": " << verdict->rule_id << " " << verdict->reason);
  REQUIRE(verdict->allowed);
  return verdict->effects;
}

TEST_CASE("SET and RESET of session parameters carry their effect, with the value SET takes", "[policy][effects]") {
  auto config = LoadTestConfig(BaseYaml());
  PolicyEngine engine;
  const SessionPolicy member = Session(*config, "acme", config::TenantRole::kMember, /*transaction_pooling=*/true);
  CHECK(EffectsOf(engine, member, "SET TIME ZONE 'Asia/Tokyo'") ==
        SessionEffects{{Kind::kSet, "timezone", "Asia/Tokyo"}});
  CHECK(EffectsOf(engine, member, "SET SESSION TimeZone TO 'UTC'") == SessionEffects{{Kind::kSet, "timezone", "UTC"}});
  CHECK(EffectsOf(engine, member, "set datestyle = iso, dmy") == SessionEffects{{Kind::kSet, "datestyle", "iso, dmy"}});
  CHECK(EffectsOf(engine, member, "SET statement_timeout = 1.5") ==
        SessionEffects{{Kind::kSet, "statement_timeout", "1.5"}});
  // Numbers share a cache key; the value must still be each statement's own.
  CHECK(EffectsOf(engine, member, "SET extra_float_digits = 3") ==
        SessionEffects{{Kind::kSet, "extra_float_digits", "3"}});
  CHECK(EffectsOf(engine, member, "SET extra_float_digits = -2") ==
        SessionEffects{{Kind::kSet, "extra_float_digits", "-2"}});
  CHECK(EffectsOf(engine, member, "SET extra_float_digits = 0") ==
        SessionEffects{{Kind::kSet, "extra_float_digits", "0"}});
  CHECK(EffectsOf(engine, member, "RESET TimeZone") == SessionEffects{{Kind::kReset, "timezone", ""}});
  CHECK(EffectsOf(engine, member, "SET TIME ZONE DEFAULT") == SessionEffects{{Kind::kReset, "timezone", ""}});
  CHECK(EffectsOf(engine, member, "SET LOCAL TimeZone = 'UTC'").empty());
  CHECK(EffectsOf(engine, member, "SET standard_conforming_strings = on").empty());
  CHECK(EffectsOf(engine, member, "SELECT 1").empty());
}

TEST_CASE("RESET ALL, DISCARD ALL, DEALLOCATE ALL and ROLLBACK carry their effect in text order", "[policy][effects]") {
  auto config = LoadTestConfig(BaseYaml());
  PolicyEngine engine;
  const SessionPolicy member = Session(*config, "acme", config::TenantRole::kMember, /*transaction_pooling=*/true);
  CHECK(EffectsOf(engine, member, "SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;") ==
        SessionEffects{{Kind::kResetAll, "", ""}});
  CHECK(EffectsOf(engine, member, "DISCARD ALL") == SessionEffects{{Kind::kDiscardAll, "", ""}});
  CHECK(EffectsOf(engine, member, "DEALLOCATE ALL") == SessionEffects{{Kind::kDeallocateAll, "", ""}});
  CHECK(EffectsOf(engine, member, "SET TimeZone = 'UTC'; ROLLBACK") ==
        SessionEffects{{Kind::kSet, "timezone", "UTC"}, {Kind::kRollback, "", ""}});
  CHECK(EffectsOf(engine, member, "SAVEPOINT a; RELEASE SAVEPOINT a; ROLLBACK TO b; ROLLBACK TO SAVEPOINT \"C\"") ==
        SessionEffects{{Kind::kSavepoint, "a", ""},
                       {Kind::kRelease, "a", ""},
                       {Kind::kRollbackTo, "b", ""},
                       {Kind::kRollbackTo, "C", ""}});
}

TEST_CASE("set_config(name, value, false) is a SET when context.set_config is off", "[policy][effects]") {
  auto config = LoadTestConfig(BaseYaml("policy: { rules: { context.set_config: off } }\n"));
  PolicyEngine engine;
  const SessionPolicy member = Session(*config, "acme", config::TenantRole::kMember, /*transaction_pooling=*/true);
  CHECK(EffectsOf(engine, member, "SELECT set_config('TimeZone', 'Asia/Kolkata', false)") ==
        SessionEffects{{Kind::kSet, "timezone", "Asia/Kolkata"}});
  CHECK(EffectsOf(engine, member, "SELECT set_config('work_mem', '7MB', true)").empty());
  VerdictMemo memo;
  for (const char* sql : {"SELECT set_config('work_mem', '7MB', false)", "SELECT set_config('TimeZone', $1, false)",
                          "SELECT set_config('TimeZone', 'UTC', $1)"}) {
    INFO(sql);
    CHECK(engine.Inspect(memo, member, sql, StatementSource::kSimpleQuery)->rule_id == "pooling.session_state");
  }
  const SessionPolicy session_mode = Session(*config, "acme", config::TenantRole::kMember);
  CHECK(engine.Inspect(memo, session_mode, "SELECT set_config('work_mem', '7MB', false)", StatementSource::kSimpleQuery)
            ->allowed);
}

TEST_CASE("session_parameters is configurable and cannot list what pgtenant guards", "[policy][effects]") {
  auto config = LoadTestConfig(BaseYaml("session_parameters: [work_mem]\n"));
  PolicyEngine engine;
  const SessionPolicy member = Session(*config, "acme", config::TenantRole::kMember, /*transaction_pooling=*/true);
  CHECK(EffectsOf(engine, member, "SET work_mem = '7MB'") == SessionEffects{{Kind::kSet, "work_mem", "7MB"}});
  VerdictMemo memo;
  CHECK(engine.Inspect(memo, member, "SET TimeZone = 'UTC'", StatementSource::kSimpleQuery)->rule_id ==
        "pooling.session_state");
  for (const char* name : {"role", "search_path", "app.current_organization_id", "Session_Authorization"}) {
    INFO(name);
    auto refused = config::LoadConfigString(BaseYaml(std::string("session_parameters: [") + name + "]\n"),
                                            "policy.yaml", [](std::string_view) { return std::nullopt; });
    CHECK_FALSE(refused.ok());
  }
}

}  // namespace
}  // namespace pgtenant::policy
