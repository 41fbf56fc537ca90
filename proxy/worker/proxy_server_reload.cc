// ProxyServer's reload of the config file: SIGHUP and the admin console's RELOAD.
//
// Reading and checking a large file takes long (a 100,000-tenant file: about 1.5 s, most of it libyaml
// and the loader), and on the loop it would hold up every client of worker 0 for that long. So a
// SIGHUP reads the file off the loop (config::LoadConfigFile touches nothing shared): a libuv work
// request, which keeps the loop running until it is done, waits for the config thread to read it
// (config_thread.h), merges it with the tenant catalog's last rows and compares it with the running config
// there too, and the result is applied back on the loop. The console's RELOAD stays
// synchronous: its admin waits for the answer anyway, and the console's worker is the one that pays.
#include <utility>

#include "proxy/telemetry/log.h"
#include "proxy/telemetry/service_notify.h"
#include "proxy/worker/config_thread.h"
#include "proxy/worker/proxy_server.h"

namespace pgtenant::proxy {

Status ProxyServer::Reload(std::string_view admin_user) {
  return FinishReload({config::LoadConfigFile(group_->shared().config_path)}, admin_user);
}

void ProxyServer::BeginReload() {
  if (reload_.running) {  // the file is being read: read it again once that is done
    reload_.again = true;
    return;
  }
  reload_.running = true;
  reload_.applied_before = group_->shared().yaml_reloads.load();
  reload_.base = config_;  // compared with the new one beside the read
  reload_.work.data = this;
  const int rc = uv_queue_work(
      &loop_, &reload_.work,
      [](uv_work_t* work) {  // on a thread of the pool, which waits for the config thread
        auto* self = static_cast<ProxyServer*>(work->data);
        SharedState& shared = self->group_->shared();
        LoadedConfig read{Status::Error("not read")};
        RunOnConfigThread([&shared, &read, base = std::move(self->reload_.base)]() mutable {
          // config_path is set before any worker starts and never changes: safe to read here.
          read.config = config::LoadConfigFile(shared.config_path);
          if (!read.config.ok()) return;
          read.catalog = shared.catalog.PrepareYaml(**read.config);  // the catalog's tenants stay
          const config::Config& applies =
              read.catalog.merge.config != nullptr ? *read.catalog.merge.config : **read.config;
          if (base == nullptr) return;
          read.change = config::CompareConfigs(*base, applies);
          read.compared_to = &applies;
          read.compared_with = std::move(base);
        });
        self->reload_.loaded.emplace(std::move(read));
      },
      [](uv_work_t* work, int status) {  // back on the loop
        static_cast<ProxyServer*>(work->data)->OnReloadLoaded(status);
      });
  if (rc != 0) {  // no thread pool: read it here
    reload_.running = false;
    (void)Reload();
    NotifyServiceManagerOrLog("READY=1");
  }
}

void ProxyServer::OnReloadLoaded(int status) {
  reload_.running = false;
  std::optional<LoadedConfig> loaded = std::move(reload_.loaded);
  reload_.loaded.reset();
  reload_.base.reset();
  const std::string& path = group_->shared().config_path;
  if (shutting_down_) {
    LogInfo("config", "reload of " + path + " not applied: shutting down");
    return;
  }
  if (status != 0 || !loaded) {  // cancelled: nothing was read
    LogWarning("config", "reload of " + path + " not applied: " + uv_strerror(status));
    NotifyServiceManagerOrLog("READY=1");
    return;
  }
  // Another reload (the console's RELOAD) applied the file while this one read it: what was read may
  // be older than what runs now. Read it again rather than go back.
  const bool stale = group_->shared().yaml_reloads.load() != reload_.applied_before;
  if (stale || std::exchange(reload_.again, false)) {
    BeginReload();
    return;
  }
  (void)FinishReload(std::move(*loaded));  // a bad file is logged, audited and counted; the running config stays
  NotifyServiceManagerOrLog("READY=1");
}

Status ProxyServer::FinishReload(LoadedConfig read, std::string_view admin_user) {
  SharedState& shared = group_->shared();
  Result<std::shared_ptr<const config::Config>>& loaded = read.config;
  // Certificates, keys and JWT keys are part of the config: a file that does not load refuses the
  // reload like a YAML error would, before anything changes.
  if (loaded.ok()) {
    if (Status files = PreloadConfigFiles(*loaded); !files.ok()) loaded = files;
  }
  policy::AuditEvent event;
  event.type = policy::AuditEventType::kConfigReloaded;
  event.user = std::string(admin_user);
  event.fields = {{"source", shared.config_path}};
  if (!loaded.ok()) {
    LogError("config", "reload refused, the running configuration stays: " + loaded.status().message());
    metrics().CountReload(false);
    event.fields.emplace_back("result", "error");
    event.fields.emplace_back("message", loaded.status().message());
    Audit(std::move(event));
    return loaded.status();
  }
  // Freed off the loop once replaced; the config thread then gives the heap back.
  std::shared_ptr<const config::Config> next =
      shared.catalog.WithYaml(RetireOffLoop(*loaded), &read.catalog);  // catalog tenants stay
  // The comparison made beside the read holds if it compared what is applied (the merge made beside
  // it, or the file's config) with what runs now (no catalog refresh since).
  const bool compared = read.compared_with != nullptr && read.compared_with.get() == config_.get() &&
                        next.get() == read.compared_to;
  const config::ConfigChange change = ApplyNewConfig(next, compared ? &read.change : nullptr);
  ++shared.yaml_reloads;
  metrics().CountReload(true);
  LogInfo("config", "reloaded " + shared.config_path + ": " + std::to_string(next->tenants.size()) + " tenants, " +
                        std::to_string(next->backends.size()) + " backends, " + std::to_string(next->users.size()) +
                        " users; changed: " + std::to_string(change.tenants.size()) + " tenants, " +
                        std::to_string(change.backends.size()) + " backends, " + std::to_string(change.users.size()) +
                        " users" + (change.all_pools ? ", settings of every pool" : ""));
  // log.level (unless PGTENANT_LOG_LEVEL is set) and log.format, for the lines after "reloaded" (which
  // is written as the reload was asked for: seen even when the new level is above info).
  ApplyLogConfig(next->log);
  event.fields.emplace_back("result", "ok");
  event.numbers = {{"tenants", static_cast<int64_t>(next->tenants.size())},
                   {"backends", static_cast<int64_t>(next->backends.size())},
                   {"users", static_cast<int64_t>(next->users.size())}};
  Audit(std::move(event));
  return Status::Ok();
}

}  // namespace pgtenant::proxy
