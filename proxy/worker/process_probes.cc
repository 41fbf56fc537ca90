// ProcessProbes: /healthz and /readyz from the workers' heartbeats, the listener and backend health.
#include "proxy/worker/process_probes.h"

#include "proxy/server/backend_health.h"
#include "proxy/worker/proxy_server.h"
#include "proxy/worker/worker_group.h"

namespace pgtenant::proxy {

ProbeAnswer JudgeLiveness(const std::vector<ProbeClock::time_point>& last_ticks, ProbeClock::time_point now,
                          ProbeClock::duration limit) {
  for (size_t i = 0; i < last_ticks.size(); ++i) {
    const auto silent = std::chrono::duration_cast<std::chrono::milliseconds>(now - last_ticks[i]);
    if (now - last_ticks[i] > limit) {
      return {false, "not alive: the event loop of worker " + std::to_string(i) + " has not run for " +
                         std::to_string(silent.count()) + " ms"};
    }
  }
  return {true, "alive: " + std::to_string(last_ticks.size()) +
                    (last_ticks.size() == 1 ? " event loop answers" : " event loops answer")};
}

ProbeAnswer JudgeReadiness(const ReadinessFacts& facts) {
  using Backend = ReadinessFacts::Backend;
  if (facts.draining) return {false, "not ready: draining (shutting down), no new connections"};
  if (!facts.config_loaded) return {false, "not ready: no configuration loaded"};
  if (!facts.listening) return {false, "not ready: not listening"};
  std::string up;
  std::string down;
  std::string unknown;
  for (const ReadinessFacts::BackendFacts& backend : facts.backends) {
    const bool counts_up =
        backend.state == Backend::kUp || (backend.state == Backend::kUnknown && !facts.checks_enabled);
    std::string& list = counts_up ? up : backend.state == Backend::kDown ? down : unknown;
    list += (list.empty() ? "" : ", ") + backend.name;
    if (backend.state == Backend::kDown && !backend.why.empty()) list += " (" + backend.why + ")";
  }
  if (!up.empty()) return {true, "ready: listening on " + facts.listen_address + ", backends up: " + up};
  if (!unknown.empty()) return {false, "not ready: waiting for the first health check of " + unknown};
  if (facts.backends.empty()) return {false, "not ready: no backend is configured"};
  return {false, "not ready: no backend is up: " + down};
}

ProbeAnswer ProcessProbes::Liveness() { return JudgeLiveness(group_->LastTicks(), ProbeClock::now()); }

ProbeAnswer ProcessProbes::Readiness() {
  using Backend = ReadinessFacts::Backend;
  ReadinessFacts facts;
  facts.draining = group_->draining();
  facts.listening = worker0_->listening();
  facts.config_loaded = worker0_->config() != nullptr;
  if (facts.config_loaded) {
    const config::Config& config = *worker0_->config();
    facts.listen_address = config::DescribeAddress(config.listen.address, config.listen.port);
    facts.checks_enabled = config.health_check.enabled;
  }
  for (const auto& [name, health] : worker0_->health().backends()) {
    ReadinessFacts::BackendFacts backend{name, Backend::kDown, ""};
    for (size_t i = 0; i < health->hosts().size(); ++i) {
      const BackendHealth::HostState state = health->state(i);
      if (state == BackendHealth::HostState::kUp) {
        backend.state = Backend::kUp;
        break;
      }
      if (state == BackendHealth::HostState::kUnknown) {
        backend.state = Backend::kUnknown;
      } else if (backend.why.empty()) {
        backend.why = BackendHealth::Address(health->hosts()[i]) + ": " + health->down_reason(i);
      }
    }
    if (health->hosts().empty()) backend.state = Backend::kUnknown;
    facts.backends.push_back(std::move(backend));
  }
  return JudgeReadiness(facts);
}

}  // namespace pgtenant::proxy
