// ServerConnection: login (protocol section 55.2.1 "Start-up"), internal queries, forwarding.
#include "proxy/server/server_connection.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "protocol/frame_reader.h"
#include "protocol/md5_auth.h"
#include "protocol/message_builder.h"
#include "protocol/message_reader.h"
#include "protocol/sqlstate.h"
#include "proxy/telemetry/log.h"
#include "proxy/io/read_buffer.h"
#include "proxy/server/server_pool.h"

namespace pgtenant::proxy {

namespace {
// Messages the server sends outside of forwarding are small; anything larger is a broken peer.
constexpr uint32_t kMaxOwnMessageLength = 1 << 20;
}  // namespace

ServerConnection::ServerConnection(uv_loop_t* loop, ServerConnectionOwner* pool, config::BackendConfig backend,
                                   ServerParams startup, uint64_t id)
    : loop_(loop), pool_(pool), backend_(std::move(backend)), startup_(std::move(startup)), id_(id) {
  InitBackendSocket(loop_, socket_, backend_.host);
  socket_.handle.data = this;
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  open_handles_ = 2;
  outbox_.Init(&socket_.stream, &ServerConnection::OnOutboxEvent);
}

void ServerConnection::TransitionTo(State next) {
  state_ = next;
  if (next == State::kIdle) idle_since_ = LoopNow();
}

void ServerConnection::Connect() {
  uv_timer_start(&timer_, &ServerConnection::OnTimeout, static_cast<uint64_t>(backend_.connect_timeout.count()), 0);
  connect_.data = this;
  if (ConnectToSocketDirectory(&connect_, socket_, backend_.host, backend_.port, &ServerConnection::OnConnected)) {
    return;  // no name to look up
  }
  struct addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  resolve_.data = this;
  std::string port = std::to_string(backend_.port);
  int rc = uv_getaddrinfo(loop_, &resolve_, &ServerConnection::OnResolved, backend_.host.c_str(), port.c_str(), &hints);
  if (rc != 0) {
    Fail(Status::Error(sqlstate::kConnectionFailure,
                       "could not resolve host \"" + backend_.host + "\": " + uv_strerror(rc)));
    return;
  }
  resolving_ = true;
  ++open_handles_;
}

void ServerConnection::OnResolved(uv_getaddrinfo_t* req, int status, struct addrinfo* res) noexcept {
  auto* self = static_cast<ServerConnection*>(req->data);
  self->resolving_ = false;
  if (status == UV_ECANCELED || self->state_ == State::kClosing) {
    if (res) uv_freeaddrinfo(res);
    self->HandleReleased();  // the pending request counted as a handle
    return;
  }
  --self->open_handles_;
  if (status < 0 || !res) {
    if (res) uv_freeaddrinfo(res);
    self->Fail(Status::Error(sqlstate::kConnectionFailure,
                             "could not resolve host \"" + self->backend_.host + "\": " + uv_strerror(status)));
    return;
  }
  self->StartConnect(res->ai_addr);
  uv_freeaddrinfo(res);
}

void ServerConnection::StartConnect(const struct sockaddr* addr) {
  int rc = uv_tcp_connect(&connect_, &socket_.tcp, addr, &ServerConnection::OnConnected);
  if (rc != 0) {
    Fail(Status::Error(sqlstate::kConnectionFailure, std::string("could not connect: ") + uv_strerror(rc)));
  }
}

void ServerConnection::OnConnected(uv_connect_t* req, int status) noexcept {
  auto* self = static_cast<ServerConnection*>(req->data);
  if (status == UV_ECANCELED || self->state_ == State::kClosing) return;
  if (status < 0) {
    const std::string address = config::DescribeAddress(self->backend_.host, self->backend_.port);
    self->Fail(Status::Error(sqlstate::kConnectionFailure,
                             "could not connect to " + address + ": " + uv_strerror(status)));
    return;
  }
  self->socket_open_ = true;
  self->TransitionTo(State::kLoggingIn);
  self->StartTlsOrLogin();
  self->UpdateReading();
}

void ServerConnection::SendStartup() {
  ServerParams params;
  params.emplace_back("user", backend_.user);
  params.emplace_back("database", backend_.database);
  for (const auto& p : startup_) params.push_back(p);
  std::string out;
  protocol::AppendStartupMessage(out, params);
  outbox_.Send(out);
}

void ServerConnection::Link(ServerLink* link) {
  link_ = link;
  TransitionTo(State::kLinked);
  paused_ = false;
  UpdateReading();
}

void ServerConnection::Unlink() {
  link_ = nullptr;
  if (state_ == State::kLinked) TransitionTo(State::kIdle);
  paused_ = false;
  UpdateReading();
}

void ServerConnection::RunInternalQuery(std::string sql, QueryDone done) {
  query_done_ = std::move(done);
  query_error_ = Status::Ok();
  internal_result_.clear();
  link_ = nullptr;
  TransitionTo(State::kInternalQuery);
  std::string out;
  protocol::AppendQuery(out, sql);
  if (!outbox_.Send(out)) {
    Lost(Status::Error(sqlstate::kConnectionFailure, "server connection lost"));
    return;
  }
  // pgtenant's own statements (SET, DISCARD ALL) never wait for a lock: a server that does not answer
  // them within connect_timeout is gone (frozen, or its network), and the client waiting for it (a
  // login, a tenant switch) gets 08006 instead of waiting for ever.
  uv_timer_start(&timer_, &ServerConnection::OnTimeout, static_cast<uint64_t>(backend_.connect_timeout.count()), 0);
  paused_ = false;
  UpdateReading();
}

bool ServerConnection::Send(std::span<const uint8_t> data) { return outbox_.Send(data); }

void ServerConnection::PauseReading() {
  paused_ = true;
  UpdateReading();
}

void ServerConnection::ResumeReading() {
  paused_ = false;
  UpdateReading();
  if (!carry_.empty() && state_ == State::kLinked) HandleBytes({});
}

void ServerConnection::UpdateReading() {
  if (!socket_open_ || state_ == State::kClosing) return;
  bool want = !paused_;
  if (want && !reading_) {
    if (uv_read_start(&socket_.stream, &AllocSharedReadBuffer, &ServerConnection::OnRead) == 0)
      reading_ = true;
  } else if (!want && reading_) {
    uv_read_stop(&socket_.stream);
    reading_ = false;
  }
}

bool ServerConnection::SpokeWhileIdle() const {
  uv_os_fd_t fd;
  if (uv_fileno(&socket_.handle, &fd) != 0) return true;
  char byte;
  const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));  // EOF, bytes, or an error
}

void ServerConnection::NoteParameterStatus(std::span<const uint8_t> body) {
  auto parsed = protocol::ParseParameterStatus(body);
  if (!parsed.ok()) return;
  auto& [name, value] = *parsed;
  params_messages_.clear();
  wire_.settings().ForgetSync();  // a default may have changed: the next client is compared in full
  relay::Settings& reported = wire_.reported();
  for (auto& p : reported) {
    if (p.first == name) {
      p.second = std::move(value);
      return;
    }
  }
  reported.emplace_back(std::move(name), std::move(value));
}

const std::string& ServerConnection::ParameterStatusMessages() {
  if (params_messages_.empty()) {
    for (const auto& [name, value] : wire_.reported()) protocol::AppendParameterStatus(params_messages_, name, value);
  }
  return params_messages_;
}

void ServerConnection::OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* self = static_cast<ServerConnection*>(stream->data);
  if (nread == 0) return;
  if (nread < 0) {
    const char* what = nread == UV_EOF ? "server closed the connection unexpectedly" : uv_strerror(static_cast<int>(nread));
    self->Lost(Status::Error(sqlstate::kConnectionFailure, std::string(what)));
    return;
  }
  std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread));
  if (self->awaiting_ssl_response_) {
    self->HandleSslResponse(bytes);
  } else if (self->tls_ != nullptr) {
    self->OnTlsBytes(bytes);
  } else {
    self->HandleBytes(bytes);
  }
}

void ServerConnection::HandleBytes(std::span<const uint8_t> data) {
  FeedBytes(carry_, data, [this](std::span<const uint8_t> bytes) -> size_t {
    size_t used = 0;
    while (used < bytes.size() && state_ != State::kClosing) {
      if (state_ == State::kLinked) {
        used += link_->OnServerBytes(bytes.subspan(used));
        break;
      }
      size_t n = ProcessOwnMessages(bytes.subspan(used));
      if (n == 0) break;
      used += n;
    }
    return used;
  });
}

size_t ServerConnection::ProcessOwnMessages(std::span<const uint8_t> data) {
  size_t pos = 0;
  while (pos < data.size() && state_ != State::kLinked && state_ != State::kClosing) {
    protocol::FrameDecode d = protocol::DecodeFrameHeader(data.subspan(pos), kMaxOwnMessageLength);
    if (d.status == protocol::DecodeStatus::kNeedMoreData) break;
    if (d.status == protocol::DecodeStatus::kInvalid) {
      Lost(Status::Error(sqlstate::kProtocolViolation, "server sent an invalid message: " + d.error().message()));
      return pos;
    }
    if (data.size() - pos < d.header.total()) break;
    auto body = data.subspan(pos + protocol::kHeaderSize, d.header.body_size());
    pos += d.header.total();
    bool go_on = true;
    // A ParameterStatus means the same in every state this loop reads in (login, internal query, idle).
    if (d.header.tag == static_cast<uint8_t>(protocol::BackendTag::kParameterStatus)) {
      NoteParameterStatus(body);
      continue;
    }
    switch (state_) {
      case State::kLoggingIn:
        go_on = HandleLoginMessage(d.header.tag, body);
        break;
      case State::kInternalQuery:
        go_on = HandleInternalQueryMessage(d.header.tag, body);
        break;
      case State::kIdle:
        go_on = HandleIdleMessage(d.header.tag, body);
        break;
      default:
        break;
    }
    if (!go_on) break;
  }
  return pos;
}

bool ServerConnection::HandleLoginMessage(uint8_t tag, std::span<const uint8_t> body) {
  using protocol::AuthRequest;
  using protocol::BackendTag;
  switch (static_cast<BackendTag>(tag)) {
    case BackendTag::kAuthentication: {
      auto auth = protocol::ParseAuthentication(body);
      if (!auth.ok()) {
        Fail(auth.status());
        return false;
      }
      std::string out;
      switch (auth->request) {
        case AuthRequest::kOk:
          return true;
        case AuthRequest::kCleartextPassword:
          protocol::AppendPasswordMessage(out, backend_.password);
          break;
        case AuthRequest::kMd5Password: {
          if (auth->data.size() != 4) {
            Fail(Status::Error(sqlstate::kProtocolViolation, "malformed MD5 authentication request"));
            return false;
          }
          std::span<const uint8_t, 4> salt(auth->data.data(), 4);
          protocol::AppendPasswordMessage(
              out, protocol::Md5SaltedResponse(protocol::Md5PasswordHash(backend_.password, backend_.user), salt));
          break;
        }
        case AuthRequest::kSasl: {
          auto mechanisms = protocol::ParseSaslMechanisms(auth->data);
          bool has_scram = false;
          if (mechanisms.ok())
            for (const auto& m : *mechanisms) has_scram |= (m == "SCRAM-SHA-256");
          if (!has_scram) {
            Fail(Status::Error(sqlstate::kFeatureNotSupported, "server offers no supported SASL mechanism"));
            return false;
          }
          scram_ = std::make_unique<protocol::ScramClient>(backend_.password);
          protocol::AppendSaslInitialResponse(out, "SCRAM-SHA-256", scram_->ClientFirstMessage());
          break;
        }
        case AuthRequest::kSaslContinue: {
          if (!scram_) {
            Fail(Status::Error(sqlstate::kProtocolViolation, "unexpected SASL continue"));
            return false;
          }
          auto final_msg = scram_->HandleServerFirst(
              std::string_view(reinterpret_cast<const char*>(auth->data.data()), auth->data.size()));
          if (!final_msg.ok()) {
            Fail(final_msg.status());
            return false;
          }
          protocol::AppendSaslResponse(out, *final_msg);
          break;
        }
        case AuthRequest::kSaslFinal: {
          Status s = scram_ ? scram_->VerifyServerFinal(std::string_view(
                                  reinterpret_cast<const char*>(auth->data.data()), auth->data.size()))
                            : Status::Error(sqlstate::kProtocolViolation, "unexpected SASL final");
          if (!s.ok()) {
            Fail(s);
            return false;
          }
          return true;
        }
        default:
          Fail(Status::Error(sqlstate::kFeatureNotSupported,
                             "server requested an unsupported authentication method (" +
                                 std::to_string(static_cast<int>(auth->request)) + ")"));
          return false;
      }
      if (!outbox_.Send(out)) {
        Fail(Status::Error(sqlstate::kConnectionFailure, "connection lost during login"));
        return false;
      }
      return true;
    }
    case BackendTag::kBackendKeyData: {
      auto k = protocol::ParseBackendKeyData(body);
      if (k.ok()) {
        backend_pid_ = k->first;
        backend_key_ = k->second;
      }
      return true;
    }
    case BackendTag::kErrorResponse: {
      auto e = protocol::ParseErrorResponse(body);
      std::string msg = e.ok() ? e->message : "unreadable error";
      std::string code = e.ok() ? e->sqlstate : "";
      // The server's own refusal (wrong password, database missing, too many connections)
      // keeps its SQLSTATE class where the client can act on it.
      Fail(Status::Error(code == sqlstate::kTooManyConnections || code == sqlstate::kCannotConnectNow
                             ? std::string_view(code)
                             : sqlstate::kConnectionFailure,
                         "server refused login: " + msg));
      return false;
    }
    case BackendTag::kNoticeResponse:
    case BackendTag::kNegotiateProtocolVersion:
      return true;
    case BackendTag::kReadyForQuery: {
      uv_timer_stop(&timer_);
      scram_.reset();
      TransitionTo(State::kIdle);
      pool_->OnServerReady(this);
      return state_ == State::kIdle;  // the pool may have linked it already
    }
    default:
      Fail(Status::Error(sqlstate::kProtocolViolation,
                         std::string("unexpected message '") + static_cast<char>(tag) + "' during login"));
      return false;
  }
}

bool ServerConnection::HandleInternalQueryMessage(uint8_t tag, std::span<const uint8_t> body) {
  using protocol::BackendTag;
  switch (static_cast<BackendTag>(tag)) {
    case BackendTag::kErrorResponse: {
      if (query_error_.ok()) {
        auto e = protocol::ParseErrorResponse(body);
        query_error_ = e.ok() ? Status::Error(e->sqlstate, e->message)
                              : Status::Error(sqlstate::kProtocolViolation, "unreadable error");
      }
      return true;
    }
    case BackendTag::kReadyForQuery: {
      uv_timer_stop(&timer_);
      auto st = protocol::ParseReadyForQuery(body);
      wire_.NoteReadyForQuery(st.ok() ? *st : protocol::TransactionStatus::kFailed);
      TransitionTo(State::kIdle);
      QueryDone done = std::move(query_done_);
      query_done_ = nullptr;
      Status result = query_error_;
      if (result.ok() && wire_.txn_status() != protocol::TransactionStatus::kIdle)
        result = Status::Error(sqlstate::kInternalError, "internal query left a transaction open");
      if (done) done(this, result);
      return state_ == State::kIdle;
    }
    case BackendTag::kDataRow: {
      internal_result_.clear();
      // Int16 column count, then Int32 length (-1: NULL) and the bytes of each column.
      protocol::MessageReader row(body);
      int16_t columns = 0;
      int32_t length = -1;
      std::span<const uint8_t> value;
      if (row.Int16(columns) && columns >= 1 && row.Int32(length) && length >= 0 &&
          row.Bytes(static_cast<size_t>(length), value))
        internal_result_.assign(reinterpret_cast<const char*>(value.data()), value.size());
      return true;
    }
    default:
      return true;  // CommandComplete, RowDescription, notices, notifications
  }
}

bool ServerConnection::HandleIdleMessage(uint8_t tag, std::span<const uint8_t> body) {
  using protocol::BackendTag;
  switch (static_cast<BackendTag>(tag)) {
    case BackendTag::kNoticeResponse:
    case BackendTag::kNotificationResponse:
      return true;
    case BackendTag::kErrorResponse: {
      // An idle server only speaks up to say it is going away (idle timeout, shutdown).
      auto e = protocol::ParseErrorResponse(body);
      Lost(Status::Error(sqlstate::kConnectionFailure,
                         "server closed an idle connection: " + (e.ok() ? e->message : std::string("unknown"))));
      return false;
    }
    default:
      Lost(Status::Error(sqlstate::kProtocolViolation,
                         std::string("unexpected message '") + static_cast<char>(tag) + "' from an idle server"));
      return false;
  }
}

void ServerConnection::OnTimeout(uv_timer_t* timer) noexcept {
  auto* self = static_cast<ServerConnection*>(timer->data);
  const std::string after = std::to_string(self->backend_.connect_timeout.count()) + " ms";
  if (self->state_ == State::kConnecting || self->state_ == State::kLoggingIn) {
    self->Fail(Status::Error(sqlstate::kConnectionFailure, "timeout after " + after + " connecting to " +
                                                               self->backend_.host + ":" +
                                                               std::to_string(self->backend_.port)));
  } else if (self->state_ == State::kInternalQuery) {
    const std::string backend = "backend \"" + self->backend_.name + "\"";
    LogWarning("pool", backend + " (" + config::DescribeAddress(self->backend_.host, self->backend_.port) +
                           ") did not answer pgtenant's own query within " + after +
                           " (connect_timeout): connection closed");
    self->Lost(Status::Error(sqlstate::kConnectionFailure,
                             backend + " did not answer within " + after + " (connect_timeout)"));
  }
}

void ServerConnection::Fail(const Status& why) {
  if (state_ == State::kClosing) return;
  Close();
  pool_->OnServerFailed(this, why);
}

void ServerConnection::Lost(const Status& why) {
  if (state_ == State::kClosing) return;
  State was = state_;
  ServerLink* link = link_;
  QueryDone done = std::move(query_done_);
  link_ = nullptr;
  query_done_ = nullptr;
  if (was == State::kConnecting || was == State::kLoggingIn) {
    Fail(why);
    return;
  }
  Close();
  if (was == State::kLinked && link) link->OnServerLost(why);
  if (was == State::kInternalQuery && done) done(this, why);
}

void ServerConnection::Close() {
  if (state_ == State::kClosing) return;
  (void)outbox_.Uncork();  // what was sent before Close still goes, before Terminate
  bool logged_in = state_ != State::kConnecting && state_ != State::kLoggingIn;
  TransitionTo(State::kClosing);
  link_ = nullptr;
  if (socket_open_ && logged_in && !outbox_.broken() && !outbox_.HasBacklog()) {
    std::string out;
    protocol::AppendTerminate(out);
    (void)outbox_.Send(out);
  }
  if (resolving_) uv_cancel(reinterpret_cast<uv_req_t*>(&resolve_));
  uv_timer_stop(&timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &ServerConnection::OnHandleClosed);
  uv_close(&socket_.handle, &ServerConnection::OnHandleClosed);
}

void ServerConnection::OnHandleClosed(uv_handle_t* handle) noexcept {
  static_cast<ServerConnection*>(handle->data)->HandleReleased();
}

void ServerConnection::HandleReleased() {
  if (--open_handles_ == 0) {
    pool_->OnServerClosed(this);
    delete this;
  }
}

void ServerConnection::OnOutboxEvent(void* owner, bool ok) {
  auto* self = static_cast<ServerConnection*>(owner);
  if (!ok) {
    self->Lost(Status::Error(sqlstate::kConnectionFailure, "could not send data to server"));
    return;
  }
  if (self->state_ == State::kLinked && self->link_) self->link_->OnServerWritable();
}

}  // namespace pgtenant::proxy
