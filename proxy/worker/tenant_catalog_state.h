// TenantCatalogState: the two halves of the running config when tenant_catalog: is on, the YAML file's
// Config as last loaded and the catalog's rows as last read (config/tenant_catalog.h), and their merge.
// A reload (SIGHUP, RELOAD) replaces the first, a catalog refresh the second; either way the merged
// Config goes through the same apply path (ProxyServer::ApplyNewConfig on every worker), so catalog
// tenants survive a reload and YAML tenants survive a refresh.
//
// A refresh is merged and compared off the loop (Prepare, on the config thread: at 100,000 catalog
// tenants the merge takes about a second and the comparison a tenth, which worker 0's clients would wait
// for), then applied on worker 0 (Apply). What Prepare merged and compared holds if nothing replaced
// the YAML between the two; otherwise Apply merges again with the new YAML, on the loop (a reload that
// raced a refresh: rare). A reload's new YAML is merged with the last rows off the loop too
// (PrepareYaml, beside the file's read), and WithYaml takes that merge if no refresh applied since.
//
// Every config this state keeps or gives out is freed on the config thread (RetireOffLoop), wherever its
// last reference drops. Merge notes (rows skipped, and why) are logged once each, when they first appear, not at every refresh.
// Thread-safety: every method may be called from any thread (one mutex, not held while merging in
// Prepare).
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "config/config.h"
#include "config/config_change.h"
#include "config/tenant_catalog.h"

namespace pgtenant::proxy {

class TenantCatalogState {
 public:
  // Rows merged and compared by Prepare, for Apply.
  struct Prepared {
    std::shared_ptr<const config::CatalogRows> rows;
    std::shared_ptr<const config::Config> yaml;  // the YAML they were merged with
    config::CatalogMerge merge;
    // What the merge was compared with: the config this state gave out last (Start, WithYaml, Prepare).
    std::shared_ptr<const config::Config> base;
    config::ConfigChange change;  // from `base` to merge.config
  };

  // The YAML the process started with: what the first rows merge with until a reload replaces it.
  // `yaml` and WithYaml's: as RetireOffLoop returns them.
  void Start(std::shared_ptr<const config::Config> yaml);
  // A reload's YAML merged with the last rows, for WithYaml.
  struct PreparedYaml {
    std::shared_ptr<const config::CatalogRows> rows;  // the rows merged; null: none yet, nothing merged
    config::CatalogMerge merge;
  };
  // `yaml` merged with the last rows (nothing if there are none). Changes nothing; logs nothing.
  PreparedYaml PrepareYaml(const config::Config& yaml);
  // `yaml` as loaded, merged with the last rows if any (`yaml` itself if none). `prepared`: null, or
  // PrepareYaml(*yaml), whose merge is taken if its rows are still the last rows. Logs new notes.
  std::shared_ptr<const config::Config> WithYaml(std::shared_ptr<const config::Config> yaml,
                                                 const PreparedYaml* prepared = nullptr);
  // `rows` merged with the last YAML and compared with the config this state gave out last. Logs
  // nothing; the rows are not the last rows until applied. REQUIRES: Start or WithYaml ran before.
  Prepared Prepare(config::CatalogRows rows);
  // The prepared rows become the last rows; returns the config to run. `merged_as_prepared`: whether
  // that is prepared.merge.config (else the YAML changed since Prepare, and the rows were merged again
  // with the new one). Logs new notes and what applied.
  std::shared_ptr<const config::Config> Apply(Prepared prepared, bool* merged_as_prepared);

 private:
  // Logs the notes not logged at the last merge (and the counts if `log_counts`); returns the config.
  // REQUIRES: mu_ held.
  std::shared_ptr<const config::Config> PublishLocked(const config::CatalogMerge& merge, bool log_counts);
  // The last YAML merged with the last rows, here, and published. REQUIRES: mu_ held, yaml_ and rows_ set.
  std::shared_ptr<const config::Config> MergeLastLocked(bool log_counts);

  std::mutex mu_;
  std::shared_ptr<const config::Config> yaml_;       // GUARDED_BY(mu_)
  std::shared_ptr<const config::CatalogRows> rows_;  // GUARDED_BY(mu_); null until the first rows apply
  std::shared_ptr<const config::Config> last_;       // GUARDED_BY(mu_): what Prepare compares with
  std::set<std::string> logged_notes_;               // GUARDED_BY(mu_): the notes of the last merge
};

}  // namespace pgtenant::proxy
