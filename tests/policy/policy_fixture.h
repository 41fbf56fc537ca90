// Shared fixture for the policy tests: a config with three tenants and sessions of each kind.
//   acme     rls, backend shared
//   globex   schema org_globex, backend shared
//   initech  database, backend initech_db (a backend of its own)
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "config/config.h"
#include "policy/policy_engine.h"

namespace pgtenant::policy::testing {

inline std::string BaseYaml(const std::string& extra_top = "", const std::string& acme_extra = "") {
  return "auth: { method: trust }\n"
         "backends:\n"
         "  shared: { host: 127.0.0.1, database: app, user: app_tenant }\n"
         "  initech_db: { host: 127.0.0.1, database: initech, user: initech_app }\n"
         "tenants:\n"
         "  acme: { id: 7c9e6679-7425-40de-944b-e07fc1f90ae7, isolation: rls, backend: shared" +
         acme_extra +
         " }\n"
         "  globex: { id: 9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d, isolation: schema, schema: org_globex, "
         "backend: shared }\n"
         "  initech: { id: 3d1a7b2c-8e9f-4a0b-b1c2-d3e4f5a6b7c8, isolation: database, backend: initech_db }\n"
         "users:\n"
         "  alice: { tenants: { acme: admin, globex: viewer, initech: member } }\n" +
         extra_top;
}

inline std::shared_ptr<const config::Config> LoadTestConfig(const std::string& yaml) {
  auto result = config::LoadConfigString(yaml, "policy.yaml", [](std::string_view) { return std::nullopt; });
  INFO(result.status().message());
  REQUIRE(result.ok());
  return *result;
}

inline SessionPolicy Session(const config::Config& config, const std::string& tenant, config::TenantRole role,
                             bool transaction_pooling = false, bool shared_pool = false) {
  SessionPolicy session;
  session.config = &config;
  session.tenant = config.FindTenant(tenant);
  REQUIRE(session.tenant != nullptr);
  session.role = role;
  session.transaction_pooling = transaction_pooling;
  session.shared_pool = shared_pool;
  return session;
}

}  // namespace pgtenant::policy::testing
