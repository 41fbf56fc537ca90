// TenantCatalogState: the last YAML and the last catalog rows, merged (tenant_catalog_state.h).
#include "proxy/worker/tenant_catalog_state.h"

#include "proxy/telemetry/log.h"

namespace pgtenant::proxy {

std::shared_ptr<const config::Config> TenantCatalogState::WithYaml(std::shared_ptr<const config::Config> yaml) {
  std::lock_guard<std::mutex> lock(mu_);
  if (yaml_ && !(yaml_->tenant_catalog == yaml->tenant_catalog)) {
    LogWarning("catalog", "tenant_catalog changed: the reader keeps the settings it started with until a restart");
  }
  yaml_ = std::move(yaml);
  if (!rows_) return yaml_;
  return MergeLocked(false);
}

std::shared_ptr<const config::Config> TenantCatalogState::WithRows(
    config::CatalogRows rows, const std::shared_ptr<const config::Config>& running) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!yaml_) yaml_ = running;  // no reload yet: the running config is the YAML as started
  rows_ = std::make_shared<const config::CatalogRows>(std::move(rows));
  return MergeLocked(true);
}

std::shared_ptr<const config::Config> TenantCatalogState::MergeLocked(bool log_counts) {
  config::CatalogMerge merge = config::MergeTenantCatalog(*yaml_, *rows_);
  std::set<std::string> notes(merge.notes.begin(), merge.notes.end());
  for (const std::string& note : notes) {
    if (logged_notes_.count(note) == 0) LogWarning("catalog", note);
  }
  logged_notes_ = std::move(notes);
  if (log_counts) {
    LogInfo("catalog", "tenant_catalog: " + std::to_string(merge.tenants) + " tenants, " +
                           std::to_string(merge.memberships) + " memberships, " + std::to_string(merge.users) +
                           " users applied; " + std::to_string(merge.notes.size()) + " rows skipped");
  }
  return merge.config;
}

}  // namespace pgtenant::proxy
