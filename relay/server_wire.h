// ServerWire: the protocol state of one server connection as the messages sent to it and its
// ReadyForQuery answers tell it: requests in flight, an extended-protocol segment not yet synced,
// the transaction status (from the server, never from parsing SQL), and which content-named
// prepared statements exist there, which parameters it reported (ParameterStatus) and which
// pgtenant set there over its defaults.
//
// Owned by the server connection (proxy/server_connection.h); the relay of the session that holds
// the connection feeds it. No I/O; loop thread only.
#pragma once

#include <chrono>
#include <cstdint>

#include "protocol/wire.h"
#include "relay/prepared_statements.h"
#include "relay/session_settings.h"

namespace pgtenant::relay {

class ServerWire {
 public:
  // Reads the time for busy_time(): the server connection passes its event loop's clock, read once
  // per turn of the loop, where a request and its answer would otherwise read the clock once each.
  using Clock = std::chrono::steady_clock::time_point (*)();
  explicit ServerWire(Clock now = [] { return std::chrono::steady_clock::now(); }) : now_(now) {}

  // A frontend message went to the server: Query, Sync and FunctionCall each owe one ReadyForQuery;
  // the extended-protocol messages open a segment that only a Sync closes.
  void NoteFrontendMessage(protocol::FrontendTag tag);
  // The server said ReadyForQuery with `status`.
  void NoteReadyForQuery(protocol::TransactionStatus status);
  // The session let go of the connection in the middle of a message, sent or received (its client
  // went away halfway through a CopyData): the server reads or writes the rest of it, so the next
  // message would be taken for its tail. Never clean again.
  void NoteMessageCut() { message_cut_ = true; }
  // Nothing in flight, no open segment, no open transaction: the connection may serve anyone.
  bool IsClean() const {
    return awaiting_ready_ == 0 && !unsynced_ && !message_cut_ && txn_status_ == protocol::TransactionStatus::kIdle;
  }
  protocol::TransactionStatus txn_status() const { return txn_status_; }
  int awaiting_ready() const { return awaiting_ready_; }
  // For the admin console's SHOW STATS (PgBouncer's query time): the ReadyForQuery answers to
  // requests noted here, and how long the server was busy answering them, from a request sent with
  // none in flight to the ReadyForQuery that leaves none.
  uint64_t requests_answered() const { return requests_answered_; }
  std::chrono::steady_clock::duration busy_time() const { return busy_time_; }
  // Whether extended-protocol messages went out since the last Sync.
  bool unsynced() const { return unsynced_; }
  // A client whose policy lets session state through (the rule pooling.session_state off, or session
  // pooling) used the connection since its last DISCARD ALL: temporary tables, advisory locks, LISTEN,
  // cursors WITH HOLD may be there. A shared connection changing tenants is reset first then.
  void NoteSessionStateUnguarded() { may_hold_session_state_ = true; }
  void NoteDiscarded() { may_hold_session_state_ = false; }
  bool may_hold_session_state() const { return may_hold_session_state_; }
  ServerStatementCache& statements() { return statements_; }
  // Parameters pgtenant or its clients set on the server over its defaults.
  ServerSettings& settings() { return settings_; }
  // The run-time parameters the server reported (ParameterStatus), in the order first reported.
  Settings& reported() { return reported_; }
  const Settings& reported() const { return reported_; }

 private:
  ServerStatementCache statements_;
  ServerSettings settings_;
  Settings reported_;
  int awaiting_ready_ = 0;  // Query/Sync/FunctionCall sent minus ReadyForQuery received
  bool unsynced_ = false;   // extended-protocol messages sent since the last Sync
  bool message_cut_ = false;
  bool may_hold_session_state_ = false;
  protocol::TransactionStatus txn_status_ = protocol::TransactionStatus::kIdle;
  uint64_t requests_answered_ = 0;
  Clock now_;
  std::chrono::steady_clock::time_point busy_since_{};  // while awaiting_ready_ > 0
  std::chrono::steady_clock::duration busy_time_{};
};

}  // namespace pgtenant::relay
