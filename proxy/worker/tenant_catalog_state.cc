// TenantCatalogState: the last YAML and the last catalog rows, merged (tenant_catalog_state.h).
#include "proxy/worker/tenant_catalog_state.h"

#include <utility>

#include "proxy/telemetry/log.h"
#include "proxy/worker/config_thread.h"

namespace pgtenant::proxy {

void TenantCatalogState::Start(std::shared_ptr<const config::Config> yaml) {
  std::lock_guard<std::mutex> lock(mu_);
  yaml_ = yaml;
  last_ = std::move(yaml);
}

TenantCatalogState::PreparedYaml TenantCatalogState::PrepareYaml(const config::Config& yaml) {
  PreparedYaml prepared;
  {
    std::lock_guard<std::mutex> lock(mu_);
    prepared.rows = rows_;
  }
  if (prepared.rows == nullptr) return prepared;
  prepared.merge = config::MergeTenantCatalog(yaml, *prepared.rows);  // unlocked, as in Prepare
  prepared.merge.config = RetireOffLoop(std::move(prepared.merge.config));
  return prepared;
}

std::shared_ptr<const config::Config> TenantCatalogState::WithYaml(std::shared_ptr<const config::Config> yaml,
                                                                   const PreparedYaml* prepared) {
  std::lock_guard<std::mutex> lock(mu_);
  if (yaml_ && !(yaml_->tenant_catalog == yaml->tenant_catalog)) {
    LogWarning("catalog", "tenant_catalog changed: the reader keeps the settings it started with until a restart");
  }
  yaml_ = std::move(yaml);
  if (rows_ == nullptr) {
    last_ = yaml_;
  } else if (prepared != nullptr && prepared->rows == rows_ && prepared->merge.config != nullptr) {
    last_ = PublishLocked(prepared->merge, false);
  } else {  // a refresh applied since the merge beside the read (or there was none): merged here
    last_ = MergeLastLocked(false);
  }
  return last_;
}

TenantCatalogState::Prepared TenantCatalogState::Prepare(config::CatalogRows rows) {
  Prepared prepared;
  prepared.rows = std::make_shared<const config::CatalogRows>(std::move(rows));
  {
    std::lock_guard<std::mutex> lock(mu_);
    prepared.yaml = yaml_;
    prepared.base = last_;
  }
  // Unlocked: a reload's WithYaml on a loop does not wait for this.
  prepared.merge = config::MergeTenantCatalog(*prepared.yaml, *prepared.rows);
  prepared.merge.config = RetireOffLoop(std::move(prepared.merge.config));
  prepared.change = config::CompareConfigs(*prepared.base, *prepared.merge.config);
  std::lock_guard<std::mutex> lock(mu_);
  // The next refresh is compared with this one (they apply in order); not if a reload came between.
  if (yaml_ == prepared.yaml) last_ = prepared.merge.config;
  return prepared;
}

std::shared_ptr<const config::Config> TenantCatalogState::Apply(Prepared prepared, bool* merged_as_prepared) {
  std::lock_guard<std::mutex> lock(mu_);
  rows_ = std::move(prepared.rows);
  *merged_as_prepared = yaml_ == prepared.yaml;
  if (*merged_as_prepared) return PublishLocked(prepared.merge, true);
  last_ = MergeLastLocked(true);
  return last_;
}

std::shared_ptr<const config::Config> TenantCatalogState::MergeLastLocked(bool log_counts) {
  return RetireOffLoop(PublishLocked(config::MergeTenantCatalog(*yaml_, *rows_), log_counts));
}

std::shared_ptr<const config::Config> TenantCatalogState::PublishLocked(const config::CatalogMerge& merge,
                                                                       bool log_counts) {
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
