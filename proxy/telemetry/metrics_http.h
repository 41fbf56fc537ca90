// MetricsHttp: GET /metrics on the event loop, in Prometheus' text format (prometheus-cpp's registry
// and TextSerializer; no web server library and no threads of its own).
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

#include <memory>
#include <string>
#include <unordered_set>

#include "protocol/status.h"

namespace prometheus {
class Registry;
}

namespace pgtenant::proxy {

class MetricsHttp {
 public:
  MetricsHttp() = default;
  MetricsHttp(const MetricsHttp&) = delete;
  MetricsHttp& operator=(const MetricsHttp&) = delete;

  // Listens on address:port. Errors name the address.
  Status Listen(uv_loop_t* loop, const std::string& address, int port,
                std::shared_ptr<prometheus::Registry> registry);
  // Stops listening and closes open connections. Idempotent.
  void Close();

 private:
  struct Connection;
  static void OnConnection(uv_stream_t* server, int status) noexcept;
  void Respond(Connection* connection);
  void Finish(Connection* connection);

  uv_loop_t* loop_ = nullptr;
  uv_tcp_t listener_{};
  bool listening_ = false;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unordered_set<Connection*> connections_;
};

}  // namespace pgtenant::proxy
