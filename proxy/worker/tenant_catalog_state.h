// TenantCatalogState: the two halves of the running config when tenant_catalog: is on, the YAML file's
// Config as last loaded and the catalog's rows as last read (config/tenant_catalog.h), and their merge.
// A reload (SIGHUP, RELOAD) replaces the first, a catalog refresh the second; either way the merged
// Config goes through the same apply path (ProxyServer::ApplyConfig on every worker), so catalog
// tenants survive a reload and YAML tenants survive a refresh.
//
// Merge notes (rows skipped, and why) are logged once each, when they first appear, not at every refresh.
// Thread-safety: every method may be called from any worker's thread (one mutex).
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "config/config.h"
#include "config/tenant_catalog.h"

namespace pgtenant::proxy {

class TenantCatalogState {
 public:
  // `yaml` as loaded, merged with the last rows if any (`yaml` itself if none). Logs new notes.
  std::shared_ptr<const config::Config> WithYaml(std::shared_ptr<const config::Config> yaml);
  // The last YAML (`running` if none was recorded: the config the process started with) merged with
  // `rows`, which become the last rows. Logs new notes and what applied.
  std::shared_ptr<const config::Config> WithRows(config::CatalogRows rows,
                                                 const std::shared_ptr<const config::Config>& running);

 private:
  // REQUIRES: mu_ held, yaml_ set.
  std::shared_ptr<const config::Config> MergeLocked(bool log_counts);

  std::mutex mu_;
  std::shared_ptr<const config::Config> yaml_;   // GUARDED_BY(mu_)
  std::shared_ptr<const config::CatalogRows> rows_;  // GUARDED_BY(mu_); null until the first read
  std::set<std::string> logged_notes_;           // GUARDED_BY(mu_): the notes of the last merge
};

}  // namespace pgtenant::proxy
