// Relay: the protocol decisions of one client session while it is active (protocol sections
// 55.2.2-55.2.7), with no I/O. It takes the client's bytes and the server's bytes as they come
// (split anywhere) and decides what is forwarded (ranges of the input, streamed without copying),
// swallowed, synthesized (ParseComplete/CloseComplete pgtenant owes, a blocked statement's error in
// place of the server's), substituted (statements renamed under transaction pooling), when a
// transaction starts and ends (from the server's ReadyForQuery), when the server can be released,
// and what the client is owed after an error. It keeps the client's virtual session (its parameters:
// session_settings.h): what the client SETs runs on the server it holds, is remembered once its
// transaction commits, and the next server it gets is brought to the same values by a query of the
// relay's own sent in the same write as the client's first message (its answers swallowed). It
// reports to a RelayHost (relay_host.h) and returns what the session must do next as a Step.
//
// States:
//   kNoServer  --AttachServer-->  kIdle  --first message of a transaction-->  kInTransaction
//   kInTransaction --ReadyForQuery leaves the server clean--> kIdle --DetachServer--> kNoServer
//   kNoServer --Reject--> kDiscarding --the request's Query/Sync--> kDiscardingLast --its end--> kNoServer
//   any --Terminate/Close/a peer gone--> kEnded
// DetachServer from kInTransaction (the session ends or the server is lost) goes to kNoServer.
//
// Ownership: owned by the session; holds a pointer to the ServerWire of the server connection the
// session holds (AttachServer .. DetachServer) and nothing of other sessions. Thread-safety: one
// thread at a time; it holds no per-thread state, so the session may move between loops.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "protocol/frame_reader.h"
#include "protocol/status.h"
#include "relay/fifo.h"
#include "relay/relay_host.h"
#include "relay/server_wire.h"
#include "relay/session_settings.h"
#include "relay/statement_rewriter.h"
#include "relay/tenant_context_switch.h"

namespace pgtenant::relay {

class Relay {
 public:
  enum class State : uint8_t { kNoServer, kIdle, kInTransaction, kDiscarding, kDiscardingLast, kEnded };
  enum class Outcome : uint8_t {
    kNeedMore,       // everything consumed that could be; offer the rest again with more bytes
    kHold,           // AdmitTransaction said hold: offer the rest again when the host resumes
    kAwaitContext,   // the tenant context's answers are not in: offer the rest again once !awaiting_context()
    kReleaseServer,  // the transaction is over and nothing is in flight: give the server back
    kTerminate,      // end the session with FATAL end_status() (what was forwarded goes first)
    kServerBroken,   // the server broke the protocol: close it, then terminate with end_status()
    kServerEnded,    // the server sent FATAL (forwarded: the client's last message): close both, add nothing
    kClose,          // the client sent Terminate
    kClientGone,     // a write to the client failed
    kServerGone,     // a write to the server failed
  };
  struct Step {
    size_t consumed = 0;
    Outcome outcome = Outcome::kNeedMore;
  };
  enum class PoolMode : uint8_t { kSession, kTransaction };
  // The messages the relay holds whole before forwarding them (limits.max_query_size for Query and
  // Parse, limits.max_function_call_size for FunctionCall). A larger one is skipped by its length,
  // never buffered, and answered with ERROR 54000 where its response belongs; the session goes on.
  struct Limits {
    size_t max_query_size = size_t{8} << 20;
    size_t max_function_call_size = size_t{16} << 20;
  };

  Relay(RelayHost& host, PoolMode mode, Limits limits) : host_(host) { Configure(mode, limits); }
  // A relay for a session not routed yet: Configure before use.
  explicit Relay(RelayHost& host) : host_(host) {}
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // The session holds `server` from now on. REQUIRES: state() == kNoServer.
  void AttachServer(ServerWire& server);
  // The session no longer holds its server (released, lost or closing). No-op without one.
  void DetachServer();
  // Once routed: the route's pool mode and the limits. REQUIRES: state() == kNoServer.
  void Configure(PoolMode mode, Limits limits) {
    transaction_pooling_ = mode == PoolMode::kTransaction;
    set_limits(limits);
  }
  // After a reload.
  void set_limits(Limits limits) {
    max_query_size_ = static_cast<uint32_t>(std::min<size_t>(limits.max_query_size, std::numeric_limits<uint32_t>::max()));
    max_function_call_size_ =
        static_cast<uint32_t>(std::min<size_t>(limits.max_function_call_size, std::numeric_limits<uint32_t>::max()));
  }
  // The client's parameters (its startup values are set by the session before the first server).
  SessionSettings& settings() { return settings_; }
  const SessionSettings& settings() const { return settings_; }

  // Client bytes. REQUIRES: state() is kIdle, kInTransaction, kDiscarding or kDiscardingLast.
  Step OnClientBytes(std::span<const uint8_t> data);
  // Server bytes. REQUIRES: a server is attached.
  Step OnServerBytes(std::span<const uint8_t> data);
  // The request at the front of the client's input cannot be served (no server, canceled): the
  // client gets ERROR `why`, the rest of the request is skipped and its end answered with
  // ReadyForQuery. False: the client is gone. REQUIRES: state() == kNoServer.
  bool Reject(const Status& why);

  // A shared server connection that carries another tenant's context (or an unknown one): the
  // client's next transaction sets `statements` first, in the same write as its first message: inside
  // it when that is a Query that may carry them, else unsynced ahead of it (tenant_context_switch.h);
  // the host hears OnContextSettled when that transaction ends.
  // The host arms it only when TenantContextSwitch::MayPipeline holds for that first message, and
  // with SequenceReset::kWithContext only when that message is FirstMessage::kTakesSnapshot.
  // REQUIRES: state() == kIdle.
  void ArmContextSwitch(std::string_view statements, TenantContextSwitch::SequenceReset sequences) {
    exchange().context.Arm(statements, sequences);
  }
  // The host lets go of what holds the statements an armed switch views (TenantContextSwitch::KeepText).
  void KeepContextText(std::shared_ptr<const void> owner) {
    if (exchange_ != nullptr) exchange_->context.KeepText(std::move(owner));
  }
  // The context was sent and its answers have not all come: the client's next request waits.
  bool awaiting_context() const { return exchange_ != nullptr && exchange_->context.awaiting(); }

  State state() const { return state_; }
  bool in_transaction() const { return state_ == State::kInTransaction; }
  // The client's named prepared statements tracked for transaction pooling (SHOW CLIENTS).
  size_t client_statement_count() const { return exchange_ != nullptr ? exchange_->rewriter.statements().size() : 0; }
  // A server is needed before the client's next bytes can be handled.
  bool needs_server() const { return state_ == State::kNoServer; }
  bool discarding() const { return state_ == State::kDiscarding || state_ == State::kDiscardingLast; }
  // Why the session ends (kTerminate, kServerBroken).
  const Status& end_status() const {
    static const Status kNone;
    return exchange_ != nullptr && exchange_->end_status != nullptr ? *exchange_->end_status : kNone;
  }
  // Nothing owed either way and no message half-forwarded: the session may move to another loop.
  bool Quiescent() const;
  // Bytes the relay holds for the requests in flight and the client's prepared statements (an
  // estimate, for the fuzzer's bound on memory).
  size_t Footprint() const;
  // An idle session gives back what it holds for traffic.
  void TrimIdle();
  // Requests forwarded and ReadyForQuery received (each request ends with one).
  uint64_t requests_sent() const { return batches_sent_; }
  uint64_t requests_done() const { return batches_done_; }
  // Statements the server answered for the client (metrics): CommandComplete or EmptyQueryResponse
  // (an execution completed: each Execute, each statement of a simple Query), and ErrorResponse
  // (one failed). Neither counts the relay's own queries, a blocked statement's error, nor a FATAL.
  uint32_t statements_completed() const { return statements_completed_; }
  uint32_t statements_failed() const { return statements_failed_; }

 private:
  // A request (ending in Query, Sync or FunctionCall) that held a blocked statement: the first
  // error the server sends for it is replaced by `error`.
  struct BlockedBatch {
    uint64_t batch = 0;
    bool answered = false;
    std::string error;
  };
  // A query of the relay's own (parameters set on a server): its answers are swallowed, except
  // ParameterStatus when `show_parameters` (the client asked for the change).
  struct OwnBatch {
    uint64_t after = 0;  // client requests sent before it
    bool show_parameters = false;
  };
  // A statement's effect on the session, known once its request is answered and its transaction ends.
  struct PendingEffect {
    uint64_t batch = 0;
    SessionEffect effect;
  };
  // What is tracked per request in flight, the prepared statements of transaction pooling and the
  // buffers renamed messages are built in. Made on first use; an idle session drops it once it is
  // empty (TrimIdle), so idle clients hold none.
  struct Exchange {
    StatementRewriter rewriter;  // transaction pooling only
    Fifo<BlockedBatch> blocked_batches;
    Fifo<OwnBatch> own_batches;
    Fifo<PendingEffect> effects_in_flight;
    std::vector<SessionEffect> transaction_effects;  // answered, waiting for the transaction's end
    bool transaction_aborted = false;  // the last ReadyForQuery said 'E': COMMIT will roll back
    std::string follow_up;        // the relay's own query, sent once request `follow_up_after` is out
    uint64_t follow_up_after = 0;
    std::string to_server;  // reused: what a renamed message becomes
    std::string to_client;  // reused: what pgtenant answers itself
    std::string rewritten;  // reused: a judged message as the host rewrote it
    std::unique_ptr<Status> end_status;  // set when the session must end
    TenantContextSwitch context;          // a shared connection changing tenants
    uint64_t context_after = 0;           // client requests sent before the context was
    // The context went inside the client's Query (request `shifted_batch`): the server's error
    // positions in its answers count `position_shift` characters of context ahead of the client's.
    uint32_t position_shift = 0;
    uint64_t shifted_batch = 0;
    bool empty() const {
      return rewriter.empty() && blocked_batches.empty() && end_status == nullptr && own_batches.empty() &&
             effects_in_flight.empty() && transaction_effects.empty() && follow_up.empty() &&
             context.phase() == TenantContextSwitch::Phase::kNone;
    }
  };
  Exchange& exchange() {
    if (exchange_ == nullptr) exchange_ = std::make_unique<Exchange>();
    return *exchange_;
  }
  bool HasBlockedBatch() const { return exchange_ != nullptr && !exchange_->blocked_batches.empty(); }
  bool AwaitsResponses() const {
    return exchange_ != nullptr && (!exchange_->rewriter.responses().empty() || !exchange_->own_batches.empty() ||
                                    !exchange_->follow_up.empty() || exchange_->context.awaiting());
  }
  bool OwnBatchDue() const {
    return exchange_ != nullptr && !exchange_->own_batches.empty() && exchange_->own_batches.front().after == batches_done_;
  }

  void TransitionTo(State next);
  Step End(Outcome outcome, size_t consumed);
  Step DiscardRequest(std::span<const uint8_t> data);
  // The statement never reaches the server: in its place goes a marker that fails to parse, so the
  // server answers with an error exactly where the statement's answer belongs, and that error is
  // replaced by `error` on the way back.
  bool SendBlockedMarker(uint8_t tag, std::string error);
  // A NotificationResponse (`body`) on a channel of namespace `ns`, as the client gets it (channel
  // without the namespace, the client's process ID), appended to `out`; false when outside `ns`.
  bool ClientNotification(std::span<const uint8_t> body, std::string_view ns, std::string& out);
  bool SendOwn(std::string_view bytes, bool to_server);
  // Sends `sql` as a Query of the relay's own; its answers are swallowed (OwnBatch).
  bool SendOwnQuery(std::string_view sql, bool show_parameters);
  // The client's next transaction starts on this server: the server gets the client's parameters.
  bool SyncServerSettings();
  // The armed tenant context goes out, ahead of the client's first message. False: the server is gone.
  bool SendContextSwitch();
  // The client's Query `body` (its text and NUL) with the tenant context ahead of it, as one message.
  bool SendCarriedQuery(const TenantContextSwitch::CarriedQuery& query, std::span<const uint8_t> body);
  // The context armed to go inside the client's first Query goes out ahead of it after all (that Query
  // is blocked, a DEALLOCATE, or over its size limit). False: the server is gone.
  bool SendArmedContext() { return exchange_ == nullptr || !exchange_->context.armed() || SendContextSwitch(); }
  // A whole server message while the context's answers are awaited (`body`: after its header).
  // kNeedMore: swallowed, go on; kServerBroken: the context failed (end_status() says why).
  Outcome OnContextAnswer(uint8_t tag, std::span<const uint8_t> body);
  // DEALLOCATE name under transaction pooling (the Query or Parse `body` holds it alone): the
  // client's statement is forgotten and the server's content-named one kept for other clients; the
  // client gets PostgreSQL's answer from a stand-in statement prepared and deallocated on the spot.
  // A name the client never prepared gets PostgreSQL's 26000. False: the server is gone.
  bool DeallocateStatement(uint8_t tag, std::span<const uint8_t> body, const std::string& name);
  // An allowed statement's effects went out with request batches_sent_.
  void NoteEffects(SessionEffects& effects);
  // The follow-up query is sent once its request has gone out whole. False: the server is gone.
  bool SendDueFollowUp();
  // ReadyForQuery of a client request with `status`: its effects are kept, committed or dropped.
  void SettleEffects(protocol::TransactionStatus status);
  // After a ReadyForQuery: when the server is clean, the transaction's end (kTerminate if the host
  // ends the session then) and, under transaction pooling with nothing in flight, kReleaseServer.
  // kNeedMore: go on.
  Outcome AfterReady();
  bool FollowUpDue() const {
    return exchange_ != nullptr && !exchange_->follow_up.empty() && batches_sent_ > exchange_->follow_up_after &&
           c2s_remaining_ == 0;
  }
  // A Query, Parse or FunctionCall over its limit: a blocked marker carries ERROR 54000 to where its
  // answer belongs, and the message is skipped by its length (c2s_skip_). False: the server is gone.
  bool BeginOversizeSkip(const protocol::FrameHeader& header, size_t limit);

  RelayHost& host_;
  ServerWire* server_ = nullptr;
  SessionSettings settings_;
  std::unique_ptr<Exchange> exchange_;
  uint64_t batches_sent_ = 0;  // requests forwarded (each ends with one ReadyForQuery)
  uint64_t batches_done_ = 0;  // ReadyForQuery received
  // Counters the host reads before and after a step and tallies the difference: 32 bits wrap harmlessly.
  uint32_t statements_completed_ = 0;
  uint32_t statements_failed_ = 0;
  // Sizes in 32 bits (a message's length is an int32): every idle client holds a relay.
  uint32_t c2s_remaining_ = 0;  // bytes of a streamed client message still to forward (or skip)
  uint32_t c2s_skip_ = 0;       // bytes of a client message over its limit still to skip (never forwarded)
  uint32_t s2c_remaining_ = 0;  // bytes of a streamed server message still to forward
  uint32_t max_query_size_ = 0;
  uint32_t max_function_call_size_ = 0;
  bool transaction_pooling_ = false;
  bool batch_failed_ = false;  // the request being answered got an ErrorResponse
  State state_ = State::kNoServer;
};

}  // namespace pgtenant::relay
