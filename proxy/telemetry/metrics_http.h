// MetricsHttp: GET /metrics on the event loop, in Prometheus' text format (prometheus-cpp's registry
// and TextSerializer; no web server library and no threads of its own), and the probes GET /healthz
// (liveness) and GET /readyz (readiness), answered 200 or 503 with a line saying why.
//
// One request per connection (the response says Connection: close). A request must arrive whole
// within 5 s and 8 KB; anything else is answered 400/404/405/431 or closed. Scrapes are rare and
// small, so serializing on the loop thread costs less than a thread pool would; and civetweb's
// small thread stacks overflowed under AddressSanitizer.
//
// Thread-safety: loop thread only. Lifetime: Close() before the loop ends; connections free
// themselves in their close callbacks.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <unordered_set>

#include "protocol/status.h"

namespace prometheus {
class Registry;
}

namespace pgtenant::proxy {

// What /healthz or /readyz says: 200 when `ok`, 503 otherwise; `reason` is the body's one line.
struct ProbeAnswer {
  bool ok = false;
  std::string reason;
};

// Where the endpoint's probes come from (the process's workers: proxy/worker/process_probes.h).
// Called on the endpoint's loop thread.
class ProbeSource {
 public:
  virtual ~ProbeSource() = default;
  virtual ProbeAnswer Liveness() = 0;
  virtual ProbeAnswer Readiness() = 0;
};

class MetricsHttp {
 public:
  MetricsHttp() = default;
  MetricsHttp(const MetricsHttp&) = delete;
  MetricsHttp& operator=(const MetricsHttp&) = delete;

  // Listens on address:port (with SO_REUSEPORT when `reuse_port`: several processes on one port).
  // `probes` (may be null: /healthz and /readyz are then 404) outlives the endpoint. Errors name the
  // address.
  Status Listen(uv_loop_t* loop, const std::string& address, int port, bool reuse_port,
                std::shared_ptr<prometheus::Registry> registry, ProbeSource* probes);
  // Stops listening and closes open connections. Idempotent.
  void Close();
  // Runs before each GET /metrics collects the registry: for series read from the system (process_*)
  // only when someone asks, not on a timer.
  void SetBeforeCollect(std::function<void()> refresh) { before_collect_ = std::move(refresh); }

 private:
  struct Connection;
  static void OnConnection(uv_stream_t* server, int status) noexcept;
  void Respond(Connection* connection);
  void Finish(Connection* connection);

  uv_loop_t* loop_ = nullptr;
  uv_tcp_t listener_{};
  bool listening_ = false;
  std::shared_ptr<prometheus::Registry> registry_;
  ProbeSource* probes_ = nullptr;
  std::function<void()> before_collect_;
  std::unordered_set<Connection*> connections_;
};

}  // namespace pgtenant::proxy
