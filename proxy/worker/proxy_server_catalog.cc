// ProxyServer::ApplyCatalog: a tenant catalog refresh (tenant_catalog:) applied like a reload.
//
// The catalog's reader (catalog/catalog_reader.h, on a thread of its own) has each new set of rows merged
// with the YAML as last loaded and compared with the running config on the config thread
// (TenantCatalogState::Prepare, through RunOnConfigThread), and posts the result to worker 0. There it goes
// through the reload's own path (ApplyNewConfig): a new generation, ApplyConfig on every worker for
// what changed, the verdict cache cleared. A tenant the catalog no longer lists is then what a tenant removed from the YAML is: its
// sessions are refused at their next transaction boundary.
#include <utility>

#include "proxy/telemetry/log.h"
#include "proxy/worker/config_thread.h"
#include "proxy/worker/proxy_server.h"

namespace pgtenant::proxy {

void ProxyServer::ApplyCatalog(TenantCatalogState::Prepared prepared) {
  if (shutting_down_) return;
  SharedState& shared = group_->shared();
  const std::shared_ptr<const config::Config> base = prepared.base;
  const config::ConfigChange change = std::move(prepared.change);
  bool merged_as_prepared = false;
  std::shared_ptr<const config::Config> next = shared.catalog.Apply(std::move(prepared), &merged_as_prepared);
  // The comparison made off the loop holds if it compared what applies with what runs now (no reload,
  // and no refresh this worker has not applied, since).
  const bool compared = merged_as_prepared && base.get() == config_.get();
  ApplyNewConfig(next, compared ? &change : nullptr);  // what changed, on every worker (the reload's path)
  LogInfo("catalog", "tenant_catalog applied: " + std::to_string(next->tenants.size()) + " tenants, " +
                         std::to_string(next->users.size()) + " users in the running configuration");
}

}  // namespace pgtenant::proxy
