// MetricsHttp: a minimal HTTP/1.x responder for Prometheus scrapes and health probes.
#include "proxy/telemetry/metrics_http.h"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace pgtenant::proxy {

namespace {
constexpr size_t kMaxRequest = 8192;
constexpr uint64_t kRequestTimeoutMs = 5000;

std::string HttpResponse(std::string_view status, std::string_view content_type, std::string_view body) {
  std::string out = "HTTP/1.1 ";
  out.append(status);
  out.append("\r\nContent-Type: ");
  out.append(content_type);
  out.append("\r\nContent-Length: ");
  out.append(std::to_string(body.size()));
  out.append("\r\nConnection: close\r\n\r\n");
  out.append(body);
  return out;
}

std::string PlainResponse(std::string_view status, std::string_view message) {
  return HttpResponse(status, "text/plain; charset=utf-8", std::string(message) + "\n");
}
}  // namespace

struct MetricsHttp::Connection {
  MetricsHttp* owner = nullptr;
  uv_tcp_t socket{};
  uv_timer_t timer{};
  uv_write_t write{};
  std::string request;
  std::string response;
  int open_handles = 0;
  bool finishing = false;
  bool responded = false;
};

Status MetricsHttp::Listen(uv_loop_t* loop, const std::string& address, int port, bool reuse_port,
                           std::shared_ptr<prometheus::Registry> registry, ProbeSource* probes) {
  loop_ = loop;
  registry_ = std::move(registry);
  probes_ = probes;
  const std::string where = address + ":" + std::to_string(port);
  struct sockaddr_storage addr{};
  int rc = uv_ip4_addr(address.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr));
  if (rc != 0) rc = uv_ip6_addr(address.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr));
  if (rc != 0) return Status::Error("cannot serve metrics on " + where + ": metrics.address is not an IP address");
  uv_tcp_init(loop_, &listener_);
  listener_.data = this;
  listening_ = true;
  if (reuse_port) {  // libuv binds without SO_REUSEPORT: the socket is made here
    const int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    if (fd < 0 || ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
      const std::string why = std::strerror(errno);
      if (fd >= 0) ::close(fd);
      Close();
      return Status::Error("cannot serve metrics on " + where + ": SO_REUSEPORT: " + why);
    }
    uv_tcp_open(&listener_, fd);
  }
  rc = uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&addr), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 64, &MetricsHttp::OnConnection);
  if (rc != 0) {
    Close();
    const std::string hint = rc == UV_EADDRINUSE && !reuse_port
                                 ? " (several instances on one host: set metrics.port_per_instance or metrics.reuse_port)"
                                 : "";
    return Status::Error("cannot serve metrics on " + where + ": " + uv_strerror(rc) + hint);
  }
  return Status::Ok();
}

void MetricsHttp::Close() {
  if (listening_) {
    listening_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
  }
  std::unordered_set<Connection*> open;
  open.swap(connections_);
  for (Connection* connection : open) Finish(connection);
}

void MetricsHttp::OnConnection(uv_stream_t* server, int status) noexcept {
  auto* self = static_cast<MetricsHttp*>(server->data);
  if (status < 0 || !self->listening_) return;
  auto* connection = new Connection;
  connection->owner = self;
  connection->socket.data = connection;
  connection->timer.data = connection;
  uv_tcp_init(self->loop_, &connection->socket);
  uv_timer_init(self->loop_, &connection->timer);
  connection->open_handles = 2;
  self->connections_.insert(connection);
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&connection->socket)) != 0) {
    self->Finish(connection);
    return;
  }
  uv_timer_start(
      &connection->timer,
      [](uv_timer_t* timer) { static_cast<Connection*>(timer->data)->owner->Finish(static_cast<Connection*>(timer->data)); },
      kRequestTimeoutMs, 0);
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&connection->socket),
      [](uv_handle_t*, size_t, uv_buf_t* buf) {
        thread_local char buffer[4096];
        *buf = uv_buf_init(buffer, sizeof(buffer));
      },
      [](uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
        auto* c = static_cast<Connection*>(stream->data);
        if (nread < 0) {
          c->owner->Finish(c);
          return;
        }
        if (c->responded) return;
        c->request.append(buf->base, static_cast<size_t>(nread));
        if (c->request.find("\r\n\r\n") != std::string::npos || c->request.find("\n\n") != std::string::npos ||
            c->request.size() > kMaxRequest) {
          c->owner->Respond(c);
        }
      });
}

void MetricsHttp::Respond(Connection* connection) {
  connection->responded = true;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&connection->socket));
  const std::string& request = connection->request;
  const size_t line_end = request.find_first_of("\r\n");
  const std::string_view line(request.data(), line_end == std::string::npos ? request.size() : line_end);
  const size_t method_end = line.find(' ');
  const size_t target_end = method_end == std::string_view::npos ? std::string_view::npos : line.find(' ', method_end + 1);
  if (request.size() > kMaxRequest && request.find("\r\n\r\n") == std::string::npos) {
    connection->response = PlainResponse("431 Request Header Fields Too Large", "request too large");
  } else if (method_end == std::string_view::npos || target_end == std::string_view::npos ||
             line.substr(target_end + 1).rfind("HTTP/1.", 0) != 0) {
    connection->response = PlainResponse("400 Bad Request", "expected GET /metrics, /healthz or /readyz HTTP/1.1");
  } else if (line.substr(0, method_end) != "GET") {
    connection->response = PlainResponse("405 Method Not Allowed", "only GET is served");
  } else {
    std::string_view target = line.substr(method_end + 1, target_end - method_end - 1);
    target = target.substr(0, target.find('?'));
    if (target == "/metrics") {
      if (before_collect_) before_collect_();
      const prometheus::TextSerializer serializer;
      connection->response =
          HttpResponse("200 OK", "text/plain; version=0.0.4; charset=utf-8", serializer.Serialize(registry_->Collect()));
    } else if (probes_ != nullptr && (target == "/healthz" || target == "/readyz")) {
      const ProbeAnswer answer = target == "/healthz" ? probes_->Liveness() : probes_->Readiness();
      connection->response = PlainResponse(answer.ok ? "200 OK" : "503 Service Unavailable", answer.reason);
    } else {
      connection->response = PlainResponse("404 Not Found", "pgtenant serves /metrics, /healthz and /readyz");
    }
  }
  uv_buf_t buf = uv_buf_init(connection->response.data(), static_cast<unsigned>(connection->response.size()));
  connection->write.data = connection;
  if (uv_write(&connection->write, reinterpret_cast<uv_stream_t*>(&connection->socket), &buf, 1,
               [](uv_write_t* req, int) {
                 auto* c = static_cast<Connection*>(req->data);
                 c->owner->Finish(c);
               }) != 0) {
    Finish(connection);
  }
}

void MetricsHttp::Finish(Connection* connection) {
  if (connection->finishing) return;
  connection->finishing = true;
  connections_.erase(connection);
  auto closed = [](uv_handle_t* handle) {
    auto* c = static_cast<Connection*>(handle->data);
    if (--c->open_handles == 0) delete c;
  };
  uv_timer_stop(&connection->timer);
  uv_close(reinterpret_cast<uv_handle_t*>(&connection->timer), closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&connection->socket), closed);
}

}  // namespace pgtenant::proxy
