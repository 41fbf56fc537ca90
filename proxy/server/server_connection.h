// ServerConnection: one connection from pgtenant to a PostgreSQL backend (TCP or a Unix-domain socket).
//
// It logs in (startup packet, SCRAM/MD5/cleartext as the server asks), waits for the first
// ReadyForQuery, and then lives in a ServerPool: idle, linked to one client session (bytes are
// forwarded by the ServerLink), or running a query of pgtenant's own (DISCARD ALL, SET).
// Which parameters it carries is in wire() (relay/server_wire.h).
//
// Ownership: created by its owner (a ServerPool, or a HealthProbe that only logs in and runs
// SELECT 1); deletes itself after its handles have closed, telling the owner first.
// Thread-safety: loop thread only.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "protocol/scram.h"
#include "protocol/status.h"
#include "protocol/wire.h"
#include "proxy/io/backend_socket.h"
#include "proxy/io/loop_clock.h"
#include "proxy/io/outbox.h"
#include "proxy/io/socket_address.h"
#include "proxy/io/tls_channel.h"
#include "relay/server_wire.h"
#include "routing/route.h"

namespace pgtenant::proxy {

class ServerConnection;

// Who hears how a connection's login went and when it is gone (ServerPool, HealthProbe).
class ServerConnectionOwner {
 public:
  // Logged in (first ReadyForQuery); the connection is kIdle.
  virtual void OnServerReady(ServerConnection* server) = 0;
  // Connecting or logging in failed; the connection is already closing.
  virtual void OnServerFailed(ServerConnection* server, const Status& why) = 0;
  // The last call about `server`, right before it is freed.
  virtual void OnServerClosed(ServerConnection* server) = 0;

 protected:
  ~ServerConnectionOwner() = default;
};

// The client side of a linked server connection.
class ServerLink {
 public:
  // Server bytes while linked; returns how many were consumed (the rest is offered again
  // with the next read, after ResumeReading()).
  virtual size_t OnServerBytes(std::span<const uint8_t> data) = 0;
  // The server socket's pending writes are done: the client may be read again.
  virtual void OnServerWritable() = 0;
  // The server went away (or broke the protocol) while linked. The link is already cut.
  virtual void OnServerLost(const Status& why) = 0;

 protected:
  ~ServerLink() = default;
};

using ServerParams = std::vector<std::pair<std::string, std::string>>;

class ServerConnection {
 public:
  enum class State { kConnecting, kLoggingIn, kIdle, kLinked, kInternalQuery, kClosing };
  using QueryDone = std::function<void(ServerConnection*, const Status&)>;

  ServerConnection(uv_loop_t* loop, ServerConnectionOwner* pool, config::BackendConfig backend, ServerParams startup,
                   uint64_t id);
  ServerConnection(const ServerConnection&) = delete;
  ServerConnection& operator=(const ServerConnection&) = delete;

  // Starts connecting; the pool hears OnServerReady or OnServerFailed.
  void Connect();

  // REQUIRES: state() == kIdle. Bytes from the server now go to `link`.
  void Link(ServerLink* link);
  // Stops forwarding; the connection stays open (the pool decides what happens next).
  void Unlink();

  // Runs `sql` as a simple Query of pgtenant's own; responses are not forwarded. `done` runs
  // after ReadyForQuery with the first error the server reported, if any.
  // REQUIRES: state() == kIdle or kLinked with nothing in flight.
  void RunInternalQuery(std::string sql, QueryDone done);

  // Forwards client bytes. Returns false if the socket is broken.
  bool Send(std::span<const uint8_t> data);
  bool SendPieces(std::span<const std::span<const uint8_t>> pieces) { return outbox_.SendPieces(pieces); }
  // Send for bytes of the read buffer being handled (Outbox::Forward).
  bool Forward(std::span<const uint8_t> data) { return outbox_.Forward(data); }
  // Outbox::Cork / Uncork on the server socket: what one client read forwards goes out in one write.
  void Cork() { outbox_.Cork(); }
  bool Uncork() { return outbox_.Uncork(); }
  bool HasBacklog() const { return outbox_.HasBacklog(); }
  void PauseReading();
  void ResumeReading();

  // Sends Terminate (when logged in) and closes. Idempotent.
  void Close();

  // Protocol bookkeeping fed by the linked session, so the pool knows whether the
  // connection is clean (nothing in flight, no open transaction) when it comes back.
  // The relay of the linked session feeds `wire()` (relay/server_wire.h).
  relay::ServerWire& wire() { return wire_; }
  // The body of a ParameterStatus this server sent (in any state); an unreadable one is ignored.
  void NoteParameterStatus(std::span<const uint8_t> body);
  bool IsClean() const { return wire_.IsClean(); }
  // A CancelRequest was forwarded for this server session. It travels on its own connection and may
  // land after the query ended: the pool retires the connection rather than let the next client's
  // statement be the one canceled (PostgreSQL cannot tell them apart).
  void NoteCancelForwarded() { cancel_forwarded_ = true; }
  bool cancel_forwarded() const { return cancel_forwarded_; }
  // The TLS handshake with the server failed (metrics: pgtenant_backend_tls_handshake_failures_total).
  bool tls_handshake_failed() const { return tls_handshake_failed_; }

  // Whether this server session's clients may call currval() or lastval(), which read what another
  // client's nextval() left in the session: true unless the pool checked at connect that the server
  // role has EXECUTE on neither (ServerPool::kSequencesReadableQuery). Shared pools reset sequences at a
  // tenant switch only while this holds.
  bool sequences_readable() const { return sequences_readable_; }
  void set_sequences_readable(bool readable) { sequences_readable_ = readable; }
  // The first column of the last row the last internal query returned ("" for none or NULL).
  const std::string& internal_result() const { return internal_result_; }

  // Shared pools: which tenant context the server session carries now ("" = none or unknown), and
  // whether that context made it read-only (default_transaction_read_only; meaningful with a tag).
  const std::string& context_tag() const { return context_tag_; }
  // routing::ContextTagHash of the tag: a context another hash names is another context.
  uint64_t context_hash() const { return context_hash_; }
  bool context_read_only() const { return context_read_only_; }
  void set_context(std::string_view tag, bool read_only) {
    context_tag_.assign(tag);  // into the storage the last tag had: a switch allocates nothing
    context_hash_ = routing::ContextTagHash(tag);
    context_read_only_ = read_only;
  }
  void forget_context() {
    context_tag_.clear();
    context_hash_ = routing::ContextTagHash({});
  }
  // A switch that rides with the client's first message (relay::TenantContextSwitch): the context is
  // unknown until that transaction ends, and `tag` once it has committed (SettleContext(true)).
  void ExpectContext(std::string_view tag, bool read_only) {
    forget_context();
    expected_tag_.assign(tag);
    expected_read_only_ = read_only;
  }
  void SettleContext(bool holds) {
    if (holds) {
      context_tag_.swap(expected_tag_);  // both keep their storage: a switch allocates nothing
      context_hash_ = routing::ContextTagHash(context_tag_);
      context_read_only_ = expected_read_only_;
    }
    expected_tag_.clear();
  }
  // Content-named prepared statements that exist on this server (transaction pooling).
  relay::ServerStatementCache& statements() { return wire_.statements(); }
  State state() const { return state_; }
  uint64_t id() const { return id_; }
  int32_t backend_pid() const { return backend_pid_; }
  int32_t backend_key() const { return backend_key_; }
  // The run-time parameters this server reported (ParameterStatus), as they are now.
  const ServerParams& params() const { return wire_.reported(); }
  // params() as ParameterStatus messages, the block a client's handshake ends with; built once and
  // again only after the server reports a change.
  const std::string& ParameterStatusMessages();
  const config::BackendConfig& backend() const { return backend_; }
  Clock::time_point created_at() const { return created_at_; }
  bool tls() const { return tls_ != nullptr; }
  // The TCP socket's local end (SHOW SERVERS local_addr); nullopt for a Unix-domain socket.
  std::optional<std::pair<std::string, int>> local_address() const { return LocalAddress(&socket_.tcp); }
  Clock::time_point idle_since() const { return idle_since_; }
  // Idle, and the server has sent something or closed since (pg_terminate_backend, PostgreSQL's
  // idle_session_timeout, a restart) that this loop has not read yet: one recv(MSG_PEEK). A connection
  // in this state must not be handed out; the pool closes it instead.
  bool SpokeWhileIdle() const;
  protocol::TransactionStatus txn_status() const { return wire_.txn_status(); }

 private:
  ~ServerConnection() = default;  // only via OnHandleClosed

  void TransitionTo(State next);
  void StartConnect(const struct sockaddr* addr);
  void SendStartup();
  // server_connection_tls.cc: sslmode. SSLRequest first unless disabled; 'S' starts the TLS
  // handshake (the startup packet follows once it is done), 'N' falls back or fails per mode.
  void StartTlsOrLogin();
  void HandleSslResponse(std::span<const uint8_t> data);
  void OnTlsBytes(std::span<const uint8_t> ciphertext);
  // Consumes whole messages in non-forwarding states; returns bytes consumed.
  size_t ProcessOwnMessages(std::span<const uint8_t> data);
  // Returns false when the connection must stop processing (failed/closing).
  bool HandleLoginMessage(uint8_t tag, std::span<const uint8_t> body);
  bool HandleInternalQueryMessage(uint8_t tag, std::span<const uint8_t> body);
  bool HandleIdleMessage(uint8_t tag, std::span<const uint8_t> body);
  void HandleBytes(std::span<const uint8_t> data);
  void Fail(const Status& why);
  void Lost(const Status& why);
  void UpdateReading();

  static void OnResolved(uv_getaddrinfo_t* req, int status, struct addrinfo* res) noexcept;
  static void OnConnected(uv_connect_t* req, int status) noexcept;
  static void OnAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) noexcept;
  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void OnTimeout(uv_timer_t* timer) noexcept;
  static void OnHandleClosed(uv_handle_t* handle) noexcept;
  void HandleReleased();  // one handle (or the address lookup) is done; frees at zero
  static void OnOutboxEvent(void* owner, bool ok);

  uv_loop_t* loop_;
  ServerConnectionOwner* pool_;
  config::BackendConfig backend_;
  ServerParams startup_;
  uint64_t id_;

  State state_ = State::kConnecting;
  BackendSocket socket_{};
  uv_timer_t timer_{};
  uv_getaddrinfo_t resolve_{};
  uv_connect_t connect_{};
  bool resolving_ = false;
  bool socket_open_ = false;
  int open_handles_ = 0;
  bool reading_ = false;
  bool paused_ = false;
  Outbox outbox_;
  std::unique_ptr<TlsChannel> tls_;      // null: plaintext
  bool awaiting_ssl_response_ = false;  // SSLRequest sent, the one-byte answer not yet read
  std::string tls_plain_;               // decrypted bytes of one read, reused
  std::string carry_;  // bytes of an incomplete message

  ServerLink* link_ = nullptr;
  std::unique_ptr<protocol::ScramClient> scram_;
  QueryDone query_done_;
  Status query_error_;

  relay::ServerWire wire_{&LoopNow};  // what is in flight, the transaction status, the prepared statements
  std::string context_tag_;
  uint64_t context_hash_ = routing::ContextTagHash({});
  std::string expected_tag_;  // ExpectContext: what the transaction in flight sets, if it commits
  bool context_read_only_ = false;
  bool expected_read_only_ = false;
  std::string params_messages_;  // ParameterStatusMessages(); empty: to be built
  int32_t backend_pid_ = 0;
  int32_t backend_key_ = 0;
  bool cancel_forwarded_ = false;
  bool tls_handshake_failed_ = false;
  bool sequences_readable_ = true;
  std::string internal_result_;
  Clock::time_point created_at_ = LoopNow();
  Clock::time_point idle_since_ = LoopNow();
};

}  // namespace pgtenant::proxy
