// Fuzz target: the SQL policy — PolicyEngine::Inspect on arbitrary text (libpg_query's parser and
// every rule walking its tree) and FoldNumericLiterals (the verdict cache key).
//
// Input: SQL text. The first byte picks the session (tenant, role, pool mode, Query or Parse); the rest
// is the statement. The config is fixed: three tenants of every isolation mode, a policy with deny
// lists, per-role overrides and a shared pool. Invariant: a blocked verdict names a rule and a reason.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "policy/cache_key.h"
#include "policy/policy_engine.h"

namespace {

using namespace pgtenant;

constexpr std::string_view kFuzzConfig =
    "auth: { method: trust }\n"
    "backends:\n"
    "  shared: { host: 127.0.0.1, database: app, user: app_tenant, shared_pool: true }\n"
    "  initech_db: { host: 127.0.0.1, database: initech, user: initech_app }\n"
    "policy:\n"
    "  deny_tables: [pg_authid, audit_log]\n"
    "  deny_functions: [dblink]\n"
    "  roles: { viewer: { read_only: true } }\n"
    "tenants:\n"
    "  acme: { id: 7c9e6679-7425-40de-944b-e07fc1f90ae7, isolation: rls, backend: shared }\n"
    "  globex: { id: 9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d, isolation: schema, schema: org_globex, backend: shared }\n"
    "  initech: { id: 3d1a7b2c-8e9f-4a0b-b1c2-d3e4f5a6b7c8, isolation: database, backend: initech_db }\n"
    "users:\n"
    "  alice: { tenants: { acme: admin, globex: viewer, initech: member } }\n";

void Check(bool condition) {
  if (!condition) abort();
}

const config::Config& FixedConfig() {
  static const std::shared_ptr<const config::Config> config = [] {
    auto loaded = config::LoadConfigString(kFuzzConfig, "policy_fuzz.yaml",
                                           [](std::string_view) -> std::optional<std::string> { return std::nullopt; });
    Check(loaded.ok());
    return *loaded;
  }();
  return *config;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static policy::PolicyEngine engine(1 << 20);  // small, so eviction runs too
  static policy::VerdictMemo memo;
  const config::Config& config = FixedConfig();
  const uint8_t selector = data[0];
  std::string_view sql(reinterpret_cast<const char*>(data + 1), size - 1);

  static constexpr const char* kTenants[] = {"acme", "globex", "initech"};
  static constexpr config::TenantRole kRoles[] = {config::TenantRole::kAdmin, config::TenantRole::kMember,
                                                  config::TenantRole::kViewer};
  policy::SessionPolicy session;
  session.config = &config;
  session.tenant = config.FindTenant(kTenants[selector % 3]);
  Check(session.tenant != nullptr);
  session.role = kRoles[(selector / 3) % 3];
  session.transaction_pooling = (selector & 0x10) != 0;
  session.shared_pool = (selector & 0x20) != 0 && session.tenant->isolation == config::IsolationMode::kRls;
  auto source = (selector & 0x40) != 0 ? policy::StatementSource::kParse : policy::StatementSource::kSimpleQuery;

  const policy::SharedVerdict verdict = engine.Inspect(memo, session, sql, source);
  Check(verdict != nullptr && (verdict->allowed || (!verdict->rule_id.empty() && !verdict->reason.empty())));
  const policy::SharedVerdict cached = engine.Inspect(memo, session, sql, source);
  Check(cached != nullptr && cached->allowed == verdict->allowed && cached->rule_id == verdict->rule_id);

  // Not idempotent by design ("1.5.3" folds to "00", then to "0"): only its length is bounded.
  Check(policy::FoldNumericLiterals(sql).size() <= sql.size());
  return 0;
}
