// FakePostgres: a PostgreSQL server that speaks just enough of the protocol for a ServerPool to use
// it, on the test's own libuv loop (127.0.0.1, a free port).
//
// It answers an SSLRequest with 'N'; logs anyone in at once (AuthenticationOk, BackendKeyData with a
// pid of its own, ReadyForQuery 'I'); answers a simple Query with CommandComplete and ReadyForQuery
// 'I' (or an ErrorResponse first, for SQL starting with "FAIL" or another chosen prefix); closes on
// Terminate. It records
// the logins and queries it saw, and can drop a connection (a backend that dies) or stop listening
// (a backend that is down). A fake, not a mock: what it answers is what PostgreSQL would.
//
// Thread-safety: the loop's thread only. Lifetime: Close(), then run the loop until its handles
// have closed, before the loop is closed.
#pragma once

#include <uv.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "protocol/message_builder.h"

namespace pgtenant::testing {

class FakePostgres {
 public:
  struct Login {
    int32_t pid = 0;
    std::map<std::string, std::string> params;  // user, database, options, ...
  };

  explicit FakePostgres(uv_loop_t* loop) : loop_(loop) {
    uv_tcp_init(loop_, &listener_);
    listener_.data = this;
    struct sockaddr_in addr{};
    uv_ip4_addr("127.0.0.1", 0, &addr);
    uv_tcp_bind(&listener_, reinterpret_cast<const struct sockaddr*>(&addr), 0);
    uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 64, &FakePostgres::OnConnection);
    struct sockaddr_storage bound{};
    int len = sizeof(bound);
    uv_tcp_getsockname(&listener_, reinterpret_cast<struct sockaddr*>(&bound), &len);
    port_ = ntohs(reinterpret_cast<struct sockaddr_in*>(&bound)->sin_port);
    listening_ = true;
  }
  FakePostgres(const FakePostgres&) = delete;
  FakePostgres& operator=(const FakePostgres&) = delete;
  ~FakePostgres() { Close(); }

  int port() const { return port_; }
  const std::vector<Login>& logins() const { return logins_; }
  // Every simple Query's SQL, with the pid of the connection that sent it.
  const std::vector<std::pair<int32_t, std::string>>& queries() const { return queries_; }
  // Connections open now (accepted and not closed by either side).
  size_t open_connections() const {
    size_t n = 0;
    for (const auto& c : conns_) n += c->closing ? 0 : 1;
    return n;
  }
  // Connections the client ended with Terminate.
  int terminated() const { return terminated_; }
  // Queries starting with `prefix` get an ErrorResponse (42601) before their ReadyForQuery.
  void set_failing_prefix(std::string prefix) { failing_prefix_ = std::move(prefix); }

  // The backend process `pid` dies: its socket closes without a word.
  void Drop(int32_t pid) {
    for (const auto& c : conns_)
      if (c->pid == pid) CloseConn(c.get());
  }
  // The server goes down: no more connections are accepted (they are refused).
  void StopListening() {
    if (!listening_) return;
    listening_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
  }
  void Close() {
    StopListening();
    for (const auto& c : conns_) CloseConn(c.get());
  }

 private:
  struct Conn {
    uv_tcp_t tcp{};
    FakePostgres* server = nullptr;
    std::string in;
    bool started = false;
    bool closing = false;
    int32_t pid = 0;
  };

  static void OnConnection(uv_stream_t* listener, int status) noexcept {
    auto* self = static_cast<FakePostgres*>(listener->data);
    if (status < 0) return;
    auto conn = std::make_unique<Conn>();
    conn->server = self;
    uv_tcp_init(self->loop_, &conn->tcp);
    conn->tcp.data = conn.get();
    if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(&conn->tcp)) != 0) {
      conn->closing = true;
      uv_close(reinterpret_cast<uv_handle_t*>(&conn->tcp), nullptr);
      self->closing_.push_back(std::move(conn));
      return;
    }
    uv_read_start(reinterpret_cast<uv_stream_t*>(&conn->tcp), &FakePostgres::OnAlloc, &FakePostgres::OnRead);
    self->conns_.push_back(std::move(conn));
  }

  static void OnAlloc(uv_handle_t*, size_t, uv_buf_t* buf) noexcept {
    static char storage[65536];
    *buf = uv_buf_init(storage, sizeof(storage));
  }

  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
    auto* conn = static_cast<Conn*>(stream->data);
    if (nread < 0) {
      conn->server->CloseConn(conn);
      return;
    }
    conn->in.append(buf->base, static_cast<size_t>(nread));
    conn->server->Process(conn);
  }

  static uint32_t ReadInt32(const std::string& s, size_t at) {
    uint32_t v;
    std::memcpy(&v, s.data() + at, 4);
    return ntohl(v);
  }

  void Process(Conn* conn) {
    while (!conn->closing) {
      if (!conn->started) {
        if (conn->in.size() < 4) return;
        const uint32_t len = ReadInt32(conn->in, 0);
        if (conn->in.size() < len) return;
        const std::string packet = conn->in.substr(0, len);
        conn->in.erase(0, len);
        if (ReadInt32(packet, 4) == 80877103) {  // SSLRequest: no TLS here
          Write(conn, "N");
          continue;
        }
        Login login;
        login.pid = next_pid_++;
        for (size_t at = 8; at < packet.size() && packet[at] != '\0';) {
          std::string key(packet.c_str() + at);
          at += key.size() + 1;
          std::string value(packet.c_str() + at);
          at += value.size() + 1;
          login.params[key] = value;
        }
        conn->pid = login.pid;
        conn->started = true;
        logins_.push_back(login);
        std::string out;
        protocol::AppendAuthenticationOk(out);
        protocol::AppendParameterStatus(out, "server_version", "15.0 (fake)");
        protocol::AppendBackendKeyData(out, login.pid, login.pid * 7);
        protocol::AppendReadyForQuery(out, protocol::TransactionStatus::kIdle);
        Write(conn, out);
        continue;
      }
      if (conn->in.size() < 5) return;
      const uint32_t len = ReadInt32(conn->in, 1);
      if (conn->in.size() < 1 + len) return;
      const char tag = conn->in[0];
      const std::string body = conn->in.substr(5, len - 4);
      conn->in.erase(0, 1 + len);
      if (tag == 'X') {
        ++terminated_;
        CloseConn(conn);
        return;
      }
      if (tag != 'Q') continue;  // nothing else is sent to an idle connection by its pool
      const std::string sql(body.c_str());
      queries_.emplace_back(conn->pid, sql);
      std::string out;
      if (sql.rfind(failing_prefix_, 0) == 0) {
        protocol::AppendErrorResponse(out, {"ERROR", "42601", "syntax error at or near \"FAIL\"", "", ""});
      } else {
        protocol::AppendCommandComplete(out, sql);
      }
      protocol::AppendReadyForQuery(out, protocol::TransactionStatus::kIdle);
      Write(conn, out);
    }
  }

  void Write(Conn* conn, const std::string& bytes) {
    auto* req = new WriteReq;
    req->data = bytes;
    uv_buf_t buf = uv_buf_init(req->data.data(), static_cast<unsigned>(req->data.size()));
    if (uv_write(&req->req, reinterpret_cast<uv_stream_t*>(&conn->tcp), &buf, 1,
                 [](uv_write_t* r, int) { delete reinterpret_cast<WriteReq*>(r); }) != 0)
      delete req;
  }

  void CloseConn(Conn* conn) {
    if (conn->closing) return;
    conn->closing = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&conn->tcp), nullptr);
  }

  struct WriteReq {
    uv_write_t req;  // first: the callback casts the request back
    std::string data;
  };

  uv_loop_t* loop_;
  uv_tcp_t listener_{};
  bool listening_ = false;
  int port_ = 0;
  int32_t next_pid_ = 1000;
  int terminated_ = 0;
  std::string failing_prefix_ = "FAIL";
  std::vector<std::unique_ptr<Conn>> conns_;    // freed with the fake (after its handles closed)
  std::vector<std::unique_ptr<Conn>> closing_;
  std::vector<Login> logins_;
  std::vector<std::pair<int32_t, std::string>> queries_;
};

}  // namespace pgtenant::testing
