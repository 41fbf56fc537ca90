// ProcessProbes: what GET /healthz and GET /readyz say of this pgtenant process (MetricsHttp's
// ProbeSource), and the decisions behind them, kept free of I/O so they are unit-tested whole.
//
// Liveness (/healthz): every worker's event loop has run its tick (every 100 ms) within
// kLoopStallLimit. A loop stuck in a long computation or a blocking call makes it 503, naming the
// worker; the endpoint itself runs on worker 0, so a stuck worker 0 does not answer at all, which a
// probe counts as a failure too. Draining does not make a process unhealthy.
//
// Readiness (/readyz): listening on listen.port, the configuration loaded, not draining (SIGTERM or
// the console's SHUTDOWN), and at least one backend up. Backend states are worker 0's BackendHealth
// (proxy/server/backend_health.h): with `health_check:` a backend is up once a check of one of its
// hosts passed, and not before its first check answered; without checks it counts as up until a
// connection to every one of its hosts has failed.
//
// Thread-safety: the Judge functions are pure. ProcessProbes runs on worker 0's loop thread (where
// the endpoint lives); it reads other workers' heartbeats, which are atomics.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "proxy/telemetry/metrics_http.h"

namespace pgtenant::proxy {

class ProxyServer;
class WorkerGroup;

using ProbeClock = std::chrono::steady_clock;

// A loop that has not ticked for this long is stuck.
inline constexpr std::chrono::seconds kLoopStallLimit{5};

// Liveness from each running worker's last tick (index = worker).
ProbeAnswer JudgeLiveness(const std::vector<ProbeClock::time_point>& last_ticks, ProbeClock::time_point now,
                          ProbeClock::duration limit = kLoopStallLimit);

// What readiness is decided from.
struct ReadinessFacts {
  enum class Backend { kUp, kDown, kUnknown };
  struct BackendFacts {
    std::string name;
    Backend state = Backend::kUnknown;
    std::string why;  // for kDown: why its hosts are down
  };
  bool draining = false;
  bool listening = false;
  std::string listen_address;  // "host:port"
  bool config_loaded = false;
  bool checks_enabled = false;  // health_check: configured
  std::vector<BackendFacts> backends;
};
ProbeAnswer JudgeReadiness(const ReadinessFacts& facts);

class ProcessProbes final : public ProbeSource {
 public:
  // `worker0` is the worker whose loop serves the endpoint; both outlive this object.
  ProcessProbes(WorkerGroup* group, ProxyServer* worker0) : group_(group), worker0_(worker0) {}
  ProbeAnswer Liveness() override;
  ProbeAnswer Readiness() override;

 private:
  WorkerGroup* group_;
  ProxyServer* worker0_;
};

}  // namespace pgtenant::proxy
