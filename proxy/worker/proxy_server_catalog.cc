// ProxyServer::ApplyCatalog: a tenant catalog refresh (tenant_catalog:) applied like a reload.
//
// The catalog's reader (catalog/catalog_reader.h, on a thread of its own) posts each new set of rows to
// worker 0. The rows are merged with the YAML as last loaded (TenantCatalogState), and the result goes
// through the reload's own path (ApplyNewConfig): a new generation, ApplyConfig on every worker for
// what changed, the verdict cache cleared. A tenant the catalog no longer lists is then what a tenant removed from the YAML is: its
// sessions are refused at their next transaction boundary.
#include "proxy/telemetry/log.h"
#include "proxy/worker/config_thread.h"
#include "proxy/worker/proxy_server.h"

namespace pgtenant::proxy {

void ProxyServer::ApplyCatalog(config::CatalogRows rows) {
  if (shutting_down_) return;
  SharedState& shared = group_->shared();
  std::shared_ptr<const config::Config> next = RetireOffLoop(shared.catalog.WithRows(std::move(rows), config_));
  ApplyNewConfig(next);  // what changed, on every worker (the reload's path)
  LogInfo("catalog", "tenant_catalog applied: " + std::to_string(next->tenants.size()) + " tenants, " +
                         std::to_string(next->users.size()) + " users in the running configuration");
}

}  // namespace pgtenant::proxy
