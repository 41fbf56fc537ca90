// ClientSession: one client connection, from the startup packet to Terminate.
//
// States: kStartup (startup packet, SSLRequest/GSSENCRequest answered 'N', CancelRequest) ->
// kAuthenticating (SCRAM/md5/trust) -> kWaitingForServer (pool) -> kPreparingServer (SET of the
// client's allowed startup parameters) -> kActive (messages forwarded both ways) -> kClosing.
// In kActive, Query and Parse are buffered whole (capped by limits.max_query_size); every other
// message streams straight from the read buffer. A slow peer stops the other side's reads.
//
// While active, every protocol decision (what is forwarded, swallowed, synthesized, renamed; when a
// transaction ends and the server goes back) is the relay's (relay/relay.h); the session is its
// RelayHost: it reads, writes, closes and talks to the pool and its worker (the SessionHost).
//
// Files: client_session.cc (reading, servers, timeouts, closing), _startup (startup packet to routed),
// _forward (running the relay both ways), _policy (verdicts), _tls, _admin (console, SHOW CLIENTS,
// KILL), _move (to another worker).
//
// Ownership: created by ProxyServer on accept; frees itself when its socket has closed, after
// telling the proxy. Thread-safety: loop thread only.
#pragma once

#include <uv.h>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "protocol/startup_packet.h"
#include "policy/audit_event.h"
#include "policy/policy_engine.h"
#include "protocol/status.h"
#include "proxy/session/client_auth.h"
#include "proxy/session/client_login.h"
#include "proxy/session/client_view.h"
#include "proxy/session/session_host.h"
#include "proxy/io/loop_clock.h"
#include "proxy/telemetry/metrics.h"
#include "protocol/frame_reader.h"
#include "proxy/io/outbox.h"
#include "proxy/server/server_connection.h"
#include "proxy/server/server_pool.h"
#include "proxy/io/tls_channel.h"
#include "relay/relay.h"
#include "routing/route.h"

namespace pgtenant::proxy {

class ClientSession final : public ServerLink, public PoolClient, private relay::RelayHost {
 public:
  enum class State : uint8_t { kStartup, kAuthenticating, kWaitingForServer, kPreparingServer, kActive, kClosing };

  // `over_capacity`: answer the startup packet with 53300 (cancel requests are still served).
  ClientSession(SessionHost* host, std::shared_ptr<const config::Config> config, uint64_t id, bool over_capacity);
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&socket_); }
  // REQUIRES: the socket has been accepted.
  void Start();
  // Sends FATAL `why` and closes. Idempotent.
  void Terminate(const Status& why);
  // Closes the socket now, even with output the client has not read yet (its last error included):
  // the end of a shutdown's deadline. Idempotent.
  void CloseNow();
  // A CancelRequest matched this session: cancel whatever its server is running, or answer a request
  // still waiting for a pooled server connection with ERROR 57014.
  void CancelRunningQuery();
  // Startup, idle and idle-in-transaction timeouts.
  void CheckTimeouts(Clock::time_point now);
  // The tenant's transaction rate has room for this session's next transaction.
  void OnThrottleLifted();
  // SIGTERM: end now if between transactions, otherwise at the end of the current one. A client
  // accepted before the drain that has not sent a statement yet (still logging in, or just logged
  // in) and one whose request waits for a pooled server are inside their first transaction in all
  // but name: they too end at its end (or at the shutdown deadline), not with a 57P01 in its place.
  void BeginShutdown();
  // Moving between workers: called by the new worker (SessionHost::HandOver) once it has adopted the
  // session, with `fd`, the socket's duplicate.
  void Arrive(SessionHost& home, int fd);

  State state() const { return state_; }
  // Metrics' client states: active (a server being prepared, a transaction open or a request in flight),
  // otherwise idle once logged in; waiting is kWaitingForServer, since waiting_since().
  bool busy() const { return state_ == State::kPreparingServer || (state_ == State::kActive && relay_.in_transaction()); }
  Clock::time_point waiting_since() const { return state_since_; }
  uint64_t id() const { return id_; }
  // The key of the BackendKeyData this session's client got (CancelRequest checks it).
  int32_t cancel_key() const { return cancel_key_; }
  // Where ProxyServer keeps this session in its list (removal swaps the last one in).
  uint32_t worker_slot() const { return worker_slot_; }
  void set_worker_slot(uint32_t slot) { worker_slot_ = slot; }
  // The tenant once routed; empty before.
  const std::string& tenant_name() const { return route_->tenant ? route_->tenant->name : kNoTenant; }

  // Admin console (client_session_admin.cc). True between a transaction's first message and its
  // end; what PAUSE waits for.
  bool in_transaction() const { return relay_.in_transaction(); }
  ClientView Describe() const;
  // KILL: FATAL 57P01 naming the admin command, then close.
  void KillByAdmin(const std::string& command);
  // RESUME lifted the PAUSE that held this session's next transaction.
  void OnAdminResume();
  // For this session's own console: replies (false once the client is gone), the end of a
  // command that waited (input is read on), and Terminate from the client.
  bool SendAdminReply(std::string_view bytes);
  void OnAdminCommandDone();
  void AdminClose() { Close(); }

  // ServerLink
  size_t OnServerBytes(std::span<const uint8_t> data) override;
  void OnServerWritable() override;
  void OnServerLost(const Status& why) override;
  // PoolClient
  void OnServerAssigned(ServerConnection* server) override;
  void OnServerUnavailable(const Status& why) override;

 private:
  enum PauseReason : unsigned {
    kPauseBackpressure = 1,
    kPausePending = 2,
    kPauseThrottle = 4,
    kPauseAdmin = 8,
    kPauseMoving = 16,
    kPauseContext = 32,  // the tenant context's answers are awaited (Relay::kAwaitContext)
  };

  // tenants.NAME.max_transactions_per_second: true if a transaction may start now; otherwise the
  // session pauses until OnThrottleLifted.
  bool TakeTransactionToken();
  // Admin console (client_session_admin.cc): database "pgtenant" after authentication (admins get
  // the console, everyone else FATAL 28000); and PAUSE: true when the next transaction must wait
  // for RESUME (the session stops reading; under transaction pooling it gives its server back).
  void OpenAdminConsole();
  bool HeldByAdmin();

  ~ClientSession() = default;  // only via OnClosed

  void TransitionTo(State next);
  void HandleBytes(std::span<const uint8_t> data);
  void HandleClientMessages(std::span<const uint8_t> data);  // HandleBytes, corked during the handshake
  size_t HandleStartup(std::span<const uint8_t> data);
  size_t HandleAuthentication(std::span<const uint8_t> data);
  // Client bytes through the relay (with the server corked when one is held), and what it decided done.
  size_t ForwardClientMessages(std::span<const uint8_t> data);
  // Transaction pooling: gets a server for the request at the front of `data`. Returns true
  // when one is linked now; false when waiting (or closed).
  bool StartTransaction(std::span<const uint8_t> data);
  // Answers the pending request with ERROR `why` and skips the client's messages up to the
  // end of that request (Query or Sync), then ReadyForQuery: the session stays usable.
  void RejectRequest(const Status& why);
  // Policy: the verdict on a whole Query, Parse or FunctionCall body; and the metrics, log and
  // audit event of a blocked one, with the ErrorResponse the client gets in its place.
  policy::SharedVerdict Judge(uint8_t tag, std::span<const uint8_t> body);
  // What the policy needs to know of this session (computed: an idle session holds no copy).
  policy::SessionPolicy session_policy() const {
    return {config_.get(), route_->tenant, route_->role, transaction_pooling_, route_->shared_pool};
  }
  void ReportBlocked(uint8_t tag, const policy::PolicyVerdict& verdict, std::string& error);
  // The body of a Query or Parse (`body`) with its SQL replaced by `sql`, appended to `out`.
  static void Rewrite(uint8_t tag, std::span<const uint8_t> body, const std::string& sql, std::string& out);
  // A DETAIL for the parser's syntax errors when the server's major version is not the parser's
  // (the server may read the text differently); empty when they agree or the version is unknown.
  std::string ParserVersionNote() const;
  // Audit: an event with this session's common keys filled in.
  policy::AuditEvent NewAuditEvent(policy::AuditEventType type) const;
  void AuditTenantRefused(std::string reason, const Status& why);

  // relay::RelayHost (client_session_forward.cc, client_session_policy.cc).
  bool ForwardToServer(std::span<const uint8_t> bytes) override { return server_->Forward(bytes); }
  bool SendToServer(std::span<const uint8_t> bytes) override { return server_->Send(bytes); }
  bool SendPiecesToServer(std::span<const std::span<const uint8_t>> pieces) override {
    return server_->SendPieces(pieces);
  }
  bool ForwardToClient(std::span<const uint8_t> bytes) override { return outbox_.Forward(bytes); }
  bool SendToClient(std::span<const uint8_t> bytes) override { return outbox_.Send(bytes); }
  bool JudgeStatement(uint8_t tag, std::span<const uint8_t> body, std::string& blocked_error,
                      protocol::SessionEffects& effects, std::string& replacement) override;
  relay::Admission AdmitTransaction(bool starts_transaction, bool terminating) override;
  Status OnTransactionEnd() override;
  void OnServerParameterStatus(std::span<const uint8_t> body) override;
  int32_t NotifierPidForClient(int32_t server_pid) override;
  std::string_view SharedContextSql() const override;
  void OnContextSettled(bool holds) override;
  std::string ChannelNamespace() const override;
  // limits.max_query_size and max_function_call_size of the config snapshot the session holds.
  relay::Relay::Limits RelayLimits() const;
  Status CheckStartupParameters(const protocol::StartupPacket& packet);
  void BeginAuthentication();
  void Authenticated();
  // After routing, on the worker that owns the route's pool: admission, then a server.
  void Routed();
  // client_session_move.cc: moves this session to worker `home` (proxy/worker/worker_group.h). Once
  // what is queued for the client is written, the socket is duplicated, closed here and opened
  // on `home`'s loop, where Arrive() carries on with Routed().
  void MoveTo(int home);
  void FinishMove();
  // Adaptive placement: the session's pool has moved to worker `home`. Between transactions it
  // follows (MoveTo) with the request it has just received, keeping its cancel key; Rejoin, on
  // arrival, takes the pool there and goes on with that request.
  bool MayMigrate() const;
  void Migrate(int home);
  void Rejoin();
  static void OnMovedOut(uv_handle_t* handle) noexcept;
  void PrepareServer();
  void Activate();
  void ReleaseServer();
  // The server ended the session with a FATAL the client has been sent: close the server and, once
  // that FATAL is written, the client, with nothing of pgtenant's after it.
  void ServerEnded();
  void Pause(unsigned reason);
  void Resume(unsigned reason);
  bool Send(std::string_view bytes);
  void Close();

  // client_session_tls.cc: TLS with the client (SSLRequest and direct TLS), and the methods that
  // rest on it: certificate and JWT authentication.
  size_t HandleSslRequest(std::span<const uint8_t> data, size_t request_size);
  // Direct TLS (sslnegotiation=direct): the first bytes are a ClientHello. Returns false if refused.
  bool StartDirectTls(std::span<const uint8_t> client_hello);
  void OnTlsBytes(std::span<const uint8_t> ciphertext);
  void OnTlsEstablished();
  // tls.client.mode require: a startup packet that did not come over TLS is refused.
  Status CheckTransport() const;
  // auth.method cert / jwt; returns false for the password methods (ClientAuthenticator's).
  bool BeginCredentialAuthentication();
  size_t HandleJwtPassword(std::span<const uint8_t> data);
  void FailAuthentication(const Status& why);

  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void OnClosed(uv_handle_t* handle) noexcept;
  static void OnOutboxEvent(void* owner, bool ok);

  // Members are grouped by size so the object has no padding holes: 5,000 idle clients hold 5,000 of them.
  SessionHost* host_;  // the worker this session runs on
  std::shared_ptr<const config::Config> config_;
  uint64_t id_;
  uv_tcp_t socket_{};
  Outbox outbox_;
  std::unique_ptr<TlsChannel> tls_;  // null: plaintext

  // Until authenticated: what the client says about itself, and the exchange that proves it.
  struct Handshake {
    ClientLogin login;
    const config::UserConfig* user = nullptr;
    std::unique_ptr<ClientAuthenticator> auth;
    bool tls_direct = false;    // TLS began without SSLRequest (ALPN postgresql required)
    bool awaiting_jwt = false;  // auth.method jwt: the next password message is a token
  };
  std::unique_ptr<Handshake> handshake_ = std::make_unique<Handshake>();
  // From Authenticated on; shared with the worker's other sessions of an equal login (InternLogin).
  std::shared_ptr<const ClientLogin> login_;
  const ClientLogin& login() const { return login_ != nullptr ? *login_ : handshake_->login; }
  std::unique_ptr<SessionConsole> admin_console_;  // database "pgtenant", admins only

  // Shared with the worker's other sessions of the same route (ProxyServer::InternRoute); before
  // routing an empty route (no tenant).
  std::shared_ptr<const routing::Route> route_;
  ServerPool* pool_ = nullptr;
  ServerConnection* server_ = nullptr;

  // The protocol decisions while active; configured once routed (its pool mode is the route's).
  relay::Relay relay_;
  // An idle session gives back what it holds for traffic (CheckTimeouts).
  void TrimIdle();

  uint64_t statements_seen_ = 0;
  uint64_t bytes_in_ = 0;   // totals, for the session's audit event
  uint64_t bytes_out_ = 0;
  std::string carry_;
  std::string client_address_;
  const char* end_reason_ = "client_closed";  // always a literal
  // Metrics (proxy/telemetry/metrics.h): the tenant's series, and what is measured between events.
  Metrics::TallyTarget tally_;
  Clock::time_point transaction_started_{};
  Clock::time_point request_started_{};  // the first request in flight reached the server (query latency)
  // When the session entered kWaitingForServer (the pool wait) or kClosing (the flush deadline); while
  // kActive, the server's last ReadyForQuery (idle timeouts count from it).
  Clock::time_point state_since_{};
  Clock::time_point accepted_at_ = LoopNow();
  Clock::time_point last_activity_ = LoopNow();

  int32_t cancel_pid_ = 0;
  int32_t cancel_key_ = 0;
  // Bytes the metrics have not been told of yet: told at each transaction's end (ReportTransactionEnd),
  // and by CountBytes before 32 bits could wrap.
  uint32_t bytes_in_untold_ = 0;
  uint32_t bytes_out_untold_ = 0;
  uint32_t config_generation_ = 0;   // of config_ (ProxyServer counts reloads)
  uint32_t statements_blocked_ = 0;  // saturates
  int moving_fd_ = -1;    // the socket's duplicate while it moves
  uint32_t session_tag_;  // random; with the id, the session id audit events and SHOW CLIENTS carry
  unsigned paused_ = 0;
  uint32_t worker_slot_ = 0;
  int16_t moving_to_ = -1;  // the worker this session is moving to (MoveTo), or -1
  State state_ = State::kStartup;
  bool over_capacity_ : 1;
  bool reading_ : 1 = false;
  bool close_after_flush_ : 1 = false;
  bool handshake_done_ : 1 = false;       // ParameterStatus, BackendKeyData, ReadyForQuery sent
  bool transaction_pooling_ : 1 = false;  // the server goes back to the pool after each transaction
  bool admitted_ : 1 = false;             // counted against the tenant's max_clients
  bool throttled_ : 1 = false;            // queued for a transaction token
  bool token_granted_ : 1 = false;        // a token handed over by OnThrottleLifted, not yet used
  bool admin_held_ : 1 = false;           // the next transaction waits for RESUME (AdminState)
  bool cancel_pending_ : 1 = false;       // a cancel came while the server was prepared (Activate answers it)
  bool shutdown_requested_ : 1 = false;
  // BeginShutdown: the drain waits for this session's current (or first) transaction.
  bool DrainWaitsForTransaction() const;
  bool rejoining_ : 1 = false;  // moving with its pool (Migrate), not for the first time (Routed)
  // What the request that starts the next transaction allows a tenant switch (unsynced, with
  // DISCARD SEQUENCES or not: relay::TenantContextSwitch::Classify), as StartTransaction found it.
  relay::TenantContextSwitch::FirstMessage first_message_ = relay::TenantContextSwitch::FirstMessage::kRoundTrip;
  // A shared pool's route whose policy blocks session state that outlives a transaction
  // (pooling.session_state): its server connections need no reset for it. Set with the route.
  bool session_state_guarded_ : 1 = false;
  // The route's tenant has max_transactions_per_second (asked at every transaction: the tenant's
  // config is cold then). Set with the route.
  bool rate_limited_ : 1 = false;
  void SetRoute(std::shared_ptr<const routing::Route> route);

  static inline const std::string kNoTenant;
  static std::shared_ptr<const routing::Route> NoRoute();
  // 15 hex digits: the tag's 28 bits, then the id's low 32 (short enough for std::string's own storage).
  std::string session_id() const;
  void ReportTransactionEnd();
  // At a transaction boundary: take the newest config snapshot (after a reload). An error when the
  // session may not go on under it (its tenant or membership is gone): the caller terminates with it.
  Status AdoptLatestConfig();
  void ReportBytes();
  void CountBytes(uint64_t& total, uint32_t& untold, size_t n) {
    total += n;
    untold += static_cast<uint32_t>(n);  // n is one read's worth at most
    if (untold > kTellBytesAbove) ReportBytes();
  }
  static constexpr uint32_t kTellBytesAbove = 1u << 30;
};

}  // namespace pgtenant::proxy
