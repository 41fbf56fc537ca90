// HealthChecker: the registry of BackendHealth and the timer that starts HealthProbes.
#include "proxy/server/health_checker.h"

#include "proxy/telemetry/log.h"

namespace pgtenant::proxy {

HealthChecker::~HealthChecker() {
  for (auto& [key, probe] : in_flight_) {
    if (probe != nullptr) probe->Abort();
  }
  in_flight_.clear();
}

void HealthChecker::Apply(const config::Config& config) {
  if (stopped_) return;
  for (auto it = backends_.begin(); it != backends_.end();) {
    if (config.FindBackend(it->first) == nullptr) {
      it->second->Retire();  // pools still holding it keep working; its series are gone
      it = backends_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [name, backend] : config.backends) {
    auto it = backends_.find(name);
    if (it == backends_.end()) {
      backends_.emplace(name, std::make_shared<BackendHealth>(backend, config.health_check, metrics_));
    } else {
      it->second->Reconfigure(backend, config.health_check);
    }
  }

  const bool retimed = config.health_check.interval != checks_.interval || !checks_.enabled;
  checks_ = config.health_check;
  if (!timer_initialized_) {
    uv_timer_init(loop_, &timer_);
    timer_.data = this;
    timer_initialized_ = true;
  }
  if (!checks_.enabled) {
    uv_timer_stop(&timer_);
    return;
  }
  if (retimed) {
    LogInfo("health", "checking every host of " + std::to_string(backends_.size()) + " backend(s) every " +
                          std::to_string(checks_.interval.count()) + " ms (timeout " +
                          std::to_string(checks_.timeout.count()) + " ms)");
    const auto every = static_cast<uint64_t>(checks_.interval.count());
    uv_timer_start(&timer_, &HealthChecker::OnTimer, 0, every);  // the first round now
  }
}

std::shared_ptr<BackendHealth> HealthChecker::For(const std::string& backend) const {
  auto it = backends_.find(backend);
  return it == backends_.end() ? nullptr : it->second;
}

void HealthChecker::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (timer_initialized_) uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
  for (auto& [key, probe] : in_flight_) {
    if (probe != nullptr) probe->Abort();
  }
  in_flight_.clear();
}

void HealthChecker::OnTimer(uv_timer_t* timer) noexcept { static_cast<HealthChecker*>(timer->data)->CheckAll(); }

void HealthChecker::CheckAll() {
  for (const auto& [name, health] : backends_) {
    for (size_t i = 0; i < health->hosts().size(); ++i) {
      const auto key = std::make_pair(name, i);
      if (in_flight_.count(key) != 0) continue;  // a slow host gets no second check on top
      config::BackendConfig target = health->backend();
      target.host = health->hosts()[i].host;
      target.port = health->hosts()[i].port;
      const uint64_t generation = health->generation();
      std::shared_ptr<BackendHealth> keep = health;
      in_flight_[key] = nullptr;  // a check that fails at once reports (and erases it) inside Start
      HealthProbe* probe = HealthProbe::Start(loop_, std::move(target), checks_.timeout,
                                              [this, key, i, generation, keep](const Status& result) {
                                                in_flight_.erase(key);
                                                keep->ReportCheck(i, generation, result);
                                              });
      if (auto it = in_flight_.find(key); it != in_flight_.end()) it->second = probe;
    }
  }
}

}  // namespace pgtenant::proxy
