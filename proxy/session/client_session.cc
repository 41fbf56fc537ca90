// ClientSession: reading the client, getting a server (transaction pooling: per transaction),
// timeouts, and closing. Startup and authentication (protocol section 55.2.1) are in
// client_session_startup.cc, forwarding (55.2.2-55.2.7) in client_session_forward.cc, preparing the
// server it gets in client_session_server.cc.
#include "proxy/session/client_session.h"

#include <algorithm>
#include <charconv>

#include "protocol/frame_reader.h"
#include "protocol/message_builder.h"
#include "protocol/message_reader.h"
#include "protocol/random.h"
#include "protocol/sqlstate.h"
#include "protocol/wire.h"
#include "proxy/telemetry/log.h"
#include "proxy/session/admin_state.h"
#include "proxy/io/read_buffer.h"
#include "relay/session_wire.h"
#include "relay/tenant_context_switch.h"
#include "policy/effective_policy.h"
#include "policy/policy_engine.h"

namespace pgtenant::proxy {

namespace {

using protocol::DecodeStatus;
using protocol::FrontendTag;

// Client bytes held while no server is linked (libpq sends nothing then; others may pipeline).
constexpr size_t kMaxPendingClientBytes = 256 * 1024;
// A closing session whose client does not read its last error is dropped after this.
constexpr auto kCloseFlushTimeout = std::chrono::seconds(5);
// Shutdown: a client accepted this recently that has not sent a statement yet may still send the one
// it connected for (DrainWaitsForTransaction); after it, a silent one is idle and ends.
constexpr auto kDrainFirstStatementGrace = std::chrono::seconds(1);
// The first message of a transaction on a shared pool is awaited whole up to this size, to judge
// whether a tenant switch may ride along with it (a larger one takes the round trip).
constexpr size_t kMaxJudgedFirstMessage = 64 * 1024;
// A session idle this long gives back its per-request state (TrimIdle); busy ones keep it between requests.
constexpr auto kTrimIdleAfter = std::chrono::seconds(1);

}  // namespace

ClientSession::ClientSession(SessionHost* host, std::shared_ptr<const config::Config> config, uint64_t id,
                             bool over_capacity)
    : host_(host),
      config_(std::move(config)),
      id_(id),
      route_(NoRoute()),
      relay_(static_cast<relay::RelayHost&>(*this)),
      session_tag_(static_cast<uint32_t>(protocol::RandomInt32()) >> 4),
      over_capacity_(over_capacity) {
  config_generation_ = host_->config_generation();
  uv_tcp_init(host_->loop(), &socket_);
  socket_.data = this;
  outbox_.Init(stream(), &ClientSession::OnOutboxEvent);
}

std::string ClientSession::session_id() const {
  char text[32];
  std::snprintf(text, sizeof(text), "%07x%08x", session_tag_, static_cast<uint32_t>(id_));
  return text;
}

std::shared_ptr<const routing::Route> ClientSession::NoRoute() {
  static const std::shared_ptr<const routing::Route> kNone = std::make_shared<const routing::Route>();
  return kNone;
}

void ClientSession::TransitionTo(State next) { state_ = next; }

void ClientSession::Start() {
  uv_tcp_nodelay(&socket_, 1);
  struct sockaddr_storage peer{};
  int length = sizeof(peer);
  if (uv_tcp_getpeername(&socket_, reinterpret_cast<sockaddr*>(&peer), &length) == 0) {
    char host[INET6_ADDRSTRLEN] = {0};
    if (peer.ss_family == AF_INET6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&peer);
      uv_ip6_name(a, host, sizeof(host));
      client_address_ = "[" + std::string(host) + "]:" + std::to_string(ntohs(a->sin6_port));
    } else {
      // Written by hand, not with uv_ip4_name: that goes through snprintf, whose code is cold by the
      // time the next connection arrives (a few microseconds per connection under pgbench -C).
      auto* a = reinterpret_cast<sockaddr_in*>(&peer);
      const auto* octets = reinterpret_cast<const uint8_t*>(&a->sin_addr.s_addr);  // network order
      // "255.255.255.255:65535" is 21 bytes; the bound is checked anyway, so that no optimiser has to
      // prove it (GCC's -Wstringop-overflow cannot under profile-guided builds).
      char* end = host;
      char* const last = host + sizeof(host) - 1;  // room for one separator after any number
      for (int i = 0; i < 4 && end < last; ++i) {
        if (i > 0) *end++ = '.';
        end = std::to_chars(end, last, octets[i]).ptr;
      }
      if (end < last) {
        *end++ = ':';
        end = std::to_chars(end, last, ntohs(a->sin_port)).ptr;
      }
      client_address_.assign(host, end);
    }
  }
  Resume(0);
}

policy::AuditEvent ClientSession::NewAuditEvent(policy::AuditEventType type) const {
  policy::AuditEvent event;
  event.type = type;
  if (route_->tenant != nullptr) policy::SetTenant(event, *route_->tenant);
  event.user = login().username;
  event.client_address = client_address_;
  event.session_id = session_id();
  return event;
}

void ClientSession::AuditTenantRefused(std::string reason, const Status& why) {
  if (!host_->auditing()) return;
  policy::AuditEvent event = NewAuditEvent(policy::AuditEventType::kTenantRefused);
  event.fields = {{"reason", std::move(reason)}, {"sqlstate", why.sqlstate()}, {"message", why.message()}};
  host_->Audit(std::move(event));
}

void ClientSession::Pause(unsigned reason) {
  paused_ |= reason;
  if (reading_ && paused_ != 0) {
    uv_read_stop(stream());
    reading_ = false;
  }
}

void ClientSession::Resume(unsigned reason) {
  paused_ &= ~reason;
  if (state_ == State::kClosing || paused_ != 0) return;
  if (!reading_ && uv_read_start(stream(), &AllocSharedReadBuffer, &ClientSession::OnRead) == 0) reading_ = true;
  if (!carry_.empty()) HandleBytes({});
}

bool ClientSession::Send(std::string_view bytes) {
  if (outbox_.Send(bytes)) return true;
  Close();
  return false;
}

void ClientSession::OnRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* self = static_cast<ClientSession*>(s->data);
  if (nread == 0) return;
  if (nread < 0) {
    self->Close();  // EOF or reset: the client is gone
    return;
  }
  self->last_activity_ = LoopNow();
  self->CountBytes(self->bytes_in_, self->bytes_in_untold_, static_cast<size_t>(nread));
  std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread));
  if (self->tls_ != nullptr) {
    self->OnTlsBytes(bytes);
    return;
  }
  if (self->state_ == State::kStartup && self->carry_.empty() && bytes[0] == kTlsHandshakeRecordType) {
    if (self->StartDirectTls(bytes)) self->OnTlsBytes(bytes);
    return;
  }
  self->HandleBytes(bytes);
}

void ClientSession::HandleBytes(std::span<const uint8_t> data) {
  // The last authentication message and, when a server is at hand, the ParameterStatus, BackendKeyData
  // and ReadyForQuery after it go out in one write. (Once active, the server side is corked instead.)
  const bool handshake = state_ == State::kStartup || state_ == State::kAuthenticating;
  if (handshake) outbox_.Cork();
  HandleClientMessages(data);
  if (handshake && !outbox_.Uncork()) Close();
  // Logged in: the cork's copy of that write goes now, not at TrimIdle (most pooled clients sit idle).
  if (handshake && handshake_done_) outbox_.ReleaseMemory();
}

void ClientSession::HandleClientMessages(std::span<const uint8_t> data) {
  FeedBytes(carry_, data, [this](std::span<const uint8_t> bytes) -> size_t {
    size_t used = 0;
    while (used < bytes.size()) {
      size_t n = 0;
      switch (state_) {
        case State::kStartup:
          n = HandleStartup(bytes.subspan(used));
          break;
        case State::kAuthenticating:
          n = HandleAuthentication(bytes.subspan(used));
          break;
        case State::kActive:
          if (admin_console_ != nullptr) {
            n = admin_console_->OnClientBytes(bytes.subspan(used));
            break;
          }
          if (server_ == nullptr) {
            if (relay_.discarding()) {
              n = ForwardClientMessages(bytes.subspan(used));
              break;
            }
            if (!StartTransaction(bytes.subspan(used))) return used;
            continue;  // a server is linked: forward
          }
          n = ForwardClientMessages(bytes.subspan(used));
          break;
        case State::kClosing:
          return bytes.size();  // nothing more is read from a closing client
        default:
          break;  // held until a server is linked
      }
      if (n == 0) break;
      used += n;
    }
    return used;
  });
  if (state_ != State::kActive && state_ != State::kClosing && carry_.size() > kMaxPendingClientBytes)
    Pause(kPausePending);
}

void ClientSession::OnServerAssigned(ServerConnection* server) {
  if (state_ != State::kWaitingForServer) {  // cannot happen; give it back rather than leak it
    pool_->Release(server, /*reset=*/true);
    return;
  }
  server_ = server;
  Metrics::TallyPoolWait(tally_, std::chrono::duration<double>(LoopNow() - state_since_).count());
  PrepareServer();
}

void ClientSession::OnServerUnavailable(const Status& why) {
  if (state_ != State::kWaitingForServer) return;
  if (!handshake_done_) {
    end_reason_ = Metrics::NoServerReason(why.sqlstate());
    Terminate(why);
    return;
  }
  // Transaction pooling: only this request fails; the session stays usable.
  host_->metrics().CountRefusal(tenant_name(), Metrics::NoServerReason(why.sqlstate()), why.sqlstate());
  TransitionTo(State::kActive);
  RejectRequest(why);
}

bool ClientSession::StartTransaction(std::span<const uint8_t> data) {
  protocol::FrameDecode d = protocol::DecodeFrameHeader(data, protocol::kMaxMessageLength);
  if (d.status == DecodeStatus::kNeedMoreData) return false;
  if (d.status == DecodeStatus::kInvalid) {
    Terminate(d.error());
    return false;
  }
  if (d.header.tag == static_cast<uint8_t>(FrontendTag::kTerminate)) {
    Close();
    return false;
  }
  // A shared pool judges the first message whole (below): a short Query or Parse is awaited whole.
  const bool sql_bearing = d.header.tag == static_cast<uint8_t>(FrontendTag::kQuery) ||
                           d.header.tag == static_cast<uint8_t>(FrontendTag::kParse);
  if (route_->shared_pool && sql_bearing && data.size() < d.header.total() && d.header.total() <= kMaxJudgedFirstMessage)
    return false;
  if (Status why = AdoptLatestConfig(); !why.ok()) {
    Terminate(why);
    return false;
  }
  relay_.set_limits(RelayLimits());
  if (pool_->moved_to() >= 0 && MayMigrate()) {
    Migrate(pool_->moved_to());
    return false;
  }
  if (HeldByAdmin()) return false;
  if (!TakeTransactionToken()) return false;
  // Whether a tenant switch may ride along unsynced with this request: judged on its first message,
  // whole (a Query or Parse; anything else, or one not read whole yet, takes the round trip).
  first_message_ =
      route_->shared_pool && sql_bearing && data.size() >= d.header.total()
          ? relay::TenantContextSwitch::Classify(d.header.tag, data.subspan(protocol::kHeaderSize, d.header.body_size()))
          : relay::TenantContextSwitch::FirstMessage::kRoundTrip;
  TransitionTo(State::kWaitingForServer);
  state_since_ = LoopNow();
  ServerConnection* server = pool_->Acquire(this, route_->context_tag());
  if (server != nullptr) OnServerAssigned(server);
  return state_ == State::kActive && server_ != nullptr;
}

bool ClientSession::TakeTransactionToken() {
  if (!rate_limited_) return true;
  if (token_granted_) {
    token_granted_ = false;
    return true;
  }
  if (host_->TakeTransactionToken(*route_->tenant, this)) return true;
  throttled_ = true;
  Pause(kPauseThrottle);
  return false;
}

void ClientSession::OnThrottleLifted() {
  throttled_ = false;
  token_granted_ = true;
  Resume(kPauseThrottle);
}

void ClientSession::RejectRequest(const Status& why) {
  if (!relay_.Reject(why)) {
    Close();
    return;
  }
  Resume(kPausePending);
}

void ClientSession::Activate() {
  bool first = !handshake_done_;
  if (first) {
    const std::string& params = server_->ParameterStatusMessages();
    std::string out;
    out.reserve(params.size() + 19);  // + BackendKeyData (13 bytes) and ReadyForQuery (6)
    out += params;
    cancel_pid_ = host_->RegisterCancelTarget(this, &cancel_key_);
    protocol::AppendBackendKeyData(out, cancel_pid_, cancel_key_);
    protocol::AppendReadyForQuery(out, protocol::TransactionStatus::kIdle);
    if (!Send(out)) return;
    handshake_done_ = true;
    if (host_->auditing()) {
      policy::AuditEvent event = NewAuditEvent(policy::AuditEventType::kConnectionAccepted);
      event.fields = {{"backend", route_->backend->name},
                      {"isolation", std::string(config::ToString(route_->tenant->isolation))},
                      {"tls", "false"}};
      host_->Audit(std::move(event));
    }
  }
  TransitionTo(State::kActive);
  if (cancel_pending_ && !first && transaction_pooling_) {
    cancel_pending_ = false;
    ReleaseServer();  // clean: nothing of the request was sent
    RejectRequest(Status::Error(sqlstate::kQueryCanceled, "canceling statement due to user request"));
    return;
  }
  relay_.AttachServer(server_->wire());
  server_->Link(this);
  if (route_->shared_pool && transaction_pooling_ && !session_state_guarded_) server_->wire().NoteSessionStateUnguarded();
  // Transaction pooling: the server only served the handshake; idle clients hold none.
  if (first && transaction_pooling_ && server_->IsClean()) ReleaseServer();
  Resume(kPausePending);
}

void ClientSession::OnServerWritable() { Resume(kPauseBackpressure); }

Status ClientSession::AdoptLatestConfig() {
  // Generations only grow; a session that came from a worker that applied a reload first keeps its newer one.
  if (config_generation_ >= host_->config_generation()) return Status();
  std::shared_ptr<const config::Config> next = host_->config();
  config_generation_ = host_->config_generation();
  const config::UserConfig* user = next->FindUser(login_->username);
  Result<std::shared_ptr<const routing::Route>> route =
      user == nullptr ? Result<std::shared_ptr<const routing::Route>>(Status::Error(
                            sqlstate::kInvalidAuthorizationSpecification, "user \"" + login_->username + "\" was removed"))
                      : host_->RouteFor(login_->identity, *next, *user);
  if (!route.ok()) {
    end_reason_ = "config_reload";
    return Status::Error(sqlstate::kAdminShutdown,
                         "pgtenant: this session ended because a configuration reload removed its access: " +
                             route.status().message());
  }
  // The tenant (and so the admission count) is the same: the identity did not change.
  config_ = std::move(next);
  SetRoute(std::move(route.value()));
  if (server_ == nullptr) pool_ = host_->PoolFor(*route_);  // with a server held, its pool stays until release
  return Status();
}

bool ClientSession::DrainWaitsForTransaction() const {
  if (state_ == State::kClosing) return false;
  // Connections a restart's old process had accepted when SIGTERM came: ending them while they log in
  // or just before their first statement failed connects that had every reason to work (issue 25).
  const bool fresh = statements_seen_ == 0 && admin_console_ == nullptr &&
                     (!handshake_done_ || LoopNow() - accepted_at_ < kDrainFirstStatementGrace);
  const bool request_waiting =
      handshake_done_ && (state_ == State::kWaitingForServer || state_ == State::kPreparingServer);
  const bool in_transaction = state_ == State::kActive && server_ != nullptr && !server_->IsClean();
  return fresh || request_waiting || in_transaction;
}

void ClientSession::BeginShutdown() {
  if (!DrainWaitsForTransaction()) {
    end_reason_ = "shutdown";
    Terminate(Status::Error(sqlstate::kAdminShutdown, "terminating connection due to administrator command"));
    return;
  }
  shutdown_requested_ = true;
}

void ClientSession::ReportBytes() {
  if (tally_.series == nullptr) return;
  Metrics::TallyBytes(tally_, bytes_in_untold_, bytes_out_untold_);
  bytes_in_untold_ = bytes_out_untold_ = 0;
}

void ClientSession::OnServerLost(const Status& why) {
  server_ = nullptr;  // the server connection is closing itself
  relay_.DetachServer();
  const std::string tenant = route_->tenant ? route_->tenant->name : std::string("-");
  LogWarning("session", "tenant " + tenant + " user " + login().username + ": server connection lost: " + why.message(),
             {{"tenant", tenant}, {"user", login().username}});
  Terminate(Status::Error(sqlstate::kConnectionFailure,
                          "pgtenant: server connection to backend \"" + (route_->backend ? route_->backend->name : "") +
                              "\" was lost: " + why.message(),
                          "Reconnect; pgtenant serves new connections as soon as the backend is back."));
}

void ClientSession::ServerEnded() {
  ServerConnection* server = server_;
  server_ = nullptr;
  relay_.DetachServer();
  if (server != nullptr) {
    server->Unlink();
    server->Close();  // the backend is exiting: the connection is not reused
  }
  if (std::string_view(end_reason_) == "client_closed") end_reason_ = "backend_failed";
  // The server's FATAL is queued (corked): the socket closes once it is written, and nothing follows it.
  close_after_flush_ = outbox_.Uncork() && outbox_.HasBacklog();
  Close();
}

void ClientSession::OnOutboxEvent(void* owner, bool ok) {
  auto* self = static_cast<ClientSession*>(owner);
  if (!ok) {
    self->close_after_flush_ = false;
    self->Close();
    return;
  }
  if (self->close_after_flush_) {
    self->close_after_flush_ = false;
    self->Close();
    return;
  }
  if (self->moving_to_ >= 0 && self->state_ != State::kClosing) {
    self->FinishMove();
    return;
  }
  if (self->server_ != nullptr && self->state_ == State::kActive) self->server_->ResumeReading();
}

void ClientSession::CancelRunningQuery() {
  // A request still queued for a pooled server connection has reached no server: cancel it here, as
  // PostgreSQL would have (ERROR 57014, the session goes on). Dropping the cancel let it run later.
  if (state_ == State::kWaitingForServer && handshake_done_ && pool_ != nullptr) {
    pool_->CancelWait(this);
    OnServerUnavailable(Status::Error(sqlstate::kQueryCanceled, "canceling statement due to user request"));
    return;
  }
  // Transaction pooling: the server is being prepared for this request (a shared connection switching
  // tenants); the request has not reached it. It is answered with 57014 once the server is ready.
  if (state_ == State::kPreparingServer && handshake_done_ && transaction_pooling_) {
    cancel_pending_ = true;
    return;
  }
  if (server_ == nullptr || state_ != State::kActive) return;
  host_->ForwardCancel(server_->backend(), server_->backend_pid(), server_->backend_key());
  server_->NoteCancelForwarded();
}

void ClientSession::CheckTimeouts(Clock::time_point now) {
  if (state_ == State::kClosing) {
    if (now - state_since_ > kCloseFlushTimeout) {
      close_after_flush_ = false;
      Close();
    }
    return;
  }
  if ((state_ == State::kStartup || state_ == State::kAuthenticating) &&
      now - accepted_at_ > config_->startup_timeout) {
    Terminate(Status::Error(sqlstate::kProtocolViolation,
                            "pgtenant: startup and authentication not completed within " +
                                std::to_string(config_->startup_timeout.count()) + " ms"));
    return;
  }
  if (state_ != State::kActive) return;
  if (shutdown_requested_ && statements_seen_ == 0 && !DrainWaitsForTransaction()) {  // logged in, silent
    end_reason_ = "shutdown";
    Terminate(Status::Error(sqlstate::kAdminShutdown, "terminating connection due to administrator command"));
    return;
  }
  // As in PostgreSQL, a session is idle from its last ReadyForQuery (state_since_ while active),
  // unless the client spoke since.
  const Clock::duration idle_for = now - std::max(last_activity_, state_since_);
  // Idle in a transaction: the server holds one open ('T' or 'E') and awaits the client, which has
  // sent nothing since. Its server connection is closed with it (ReleaseServer retires a dirty one).
  if (server_ != nullptr && route_->idle_transaction_timeout.count() > 0 &&
      server_->wire().txn_status() != protocol::TransactionStatus::kIdle && server_->wire().awaiting_ready() == 0 &&
      carry_.empty() && idle_for > route_->idle_transaction_timeout) {
    end_reason_ = "idle_transaction_timeout";
    Terminate(Status::Error(sqlstate::kIdleInTransactionSessionTimeout,
                            "terminating connection due to idle-in-transaction timeout"));
    return;
  }
  // Idle: between transactions. Under transaction pooling that is without a server at all.
  const bool idle = !in_transaction() && (server_ == nullptr || server_->IsClean());
  if (!idle) return;
  if (config_->client_idle_timeout.count() > 0 && idle_for > config_->client_idle_timeout) {
    Terminate(Status::Error(sqlstate::kIdleSessionTimeout, "terminating connection due to idle-session timeout"));
    return;
  }
  if (idle_for > kTrimIdleAfter) TrimIdle();
}

void ClientSession::TrimIdle() {
  relay_.TrimIdle();
  outbox_.ReleaseMemory();
  if (carry_.empty()) carry_.shrink_to_fit();
}

void ClientSession::ReleaseServer() {
  if (server_ == nullptr) return;
  ServerConnection* server = server_;
  server_ = nullptr;
  relay_.DetachServer();
  if (server->state() == ServerConnection::State::kLinked) server->Unlink();
  if (server->state() == ServerConnection::State::kInternalQuery) {
    server->Close();  // its callback points at us; a half-prepared server is not reused
    return;
  }
  pool_->Release(server, /*reset=*/!transaction_pooling_);
}

void ClientSession::Terminate(const Status& why) {
  if (state_ == State::kClosing) return;
  if (std::string_view(end_reason_) == "client_closed") {
    const std::string& code = why.sqlstate();
    end_reason_ = code == sqlstate::kProtocolViolation      ? "protocol_error"
                  : code == sqlstate::kAdminShutdown        ? "shutdown"
                  : code == sqlstate::kIdleSessionTimeout   ? "idle_timeout"
                  : code == sqlstate::kConnectionFailure    ? "backend_failed"
                  : code == sqlstate::kTooManyConnections   ? "no_server"
                                                            : "error";
  }
  host_->metrics().CountRefusal(tenant_name(), end_reason_, why.sqlstate().empty() ? sqlstate::kInternalError : why.sqlstate());
  if (tls_ != nullptr && !tls_->established()) {  // mid-handshake: the client could not read an error
    LogInfo("tls", "client " + client_address_ + ": " + why.message());
    Close();
    return;
  }
  protocol::ErrorFields e;
  e.severity = "FATAL";
  e.sqlstate = why.sqlstate().empty() ? std::string(sqlstate::kInternalError) : why.sqlstate();
  e.message = why.message();
  e.hint = why.hint();
  std::string out;
  protocol::AppendErrorResponse(out, e);
  bool sent = outbox_.Send(out) && outbox_.Uncork();
  close_after_flush_ = sent && outbox_.HasBacklog();
  Close();
}

void ClientSession::CloseNow() {
  close_after_flush_ = false;
  Close();
}

void ClientSession::Close() {
  (void)outbox_.Uncork();  // what was sent before goes first (and may keep the socket open: close_after_flush_)
  if (state_ != State::kClosing) {
    if (state_ == State::kWaitingForServer && pool_ != nullptr) pool_->CancelWait(this);
    ReleaseServer();
    if (cancel_pid_ != 0) host_->UnregisterCancelTarget(this, cancel_pid_);
    cancel_pid_ = 0;
    if (throttled_) host_->CancelThrottleWait(route_->tenant->name, this);
    throttled_ = false;
    if (admin_held_) host_->admin().Forget(this);
    admin_held_ = false;
    if (admin_console_ != nullptr) admin_console_->Detach();
    if (admitted_) host_->LeaveTenant(route_->tenant->name);
    admitted_ = false;
    ReportBytes();
    if (handshake_done_ && host_->auditing()) {
      policy::AuditEvent event = NewAuditEvent(policy::AuditEventType::kSessionEnded);
      event.fields = {{"reason", std::string(end_reason_)}};
      event.numbers = {{"duration_ms", std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - accepted_at_).count()},
                       {"statements", static_cast<int64_t>(statements_seen_)},
                       {"bytes_in", static_cast<int64_t>(bytes_in_)},
                       {"bytes_out", static_cast<int64_t>(bytes_out_)},
                       {"blocked", static_cast<int64_t>(statements_blocked_)}};
      host_->Audit(std::move(event));
    }
    TransitionTo(State::kClosing);
    state_since_ = Clock::now();
    Pause(kPauseBackpressure);
  }
  if (close_after_flush_) return;  // OnOutboxEvent closes once the error is written
  if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&socket_))) return;
  uv_close(reinterpret_cast<uv_handle_t*>(&socket_), &ClientSession::OnClosed);
}

void ClientSession::OnClosed(uv_handle_t* handle) noexcept {
  auto* self = static_cast<ClientSession*>(handle->data);
  self->host_->OnSessionClosed(self);
  delete self;
}

}  // namespace pgtenant::proxy
