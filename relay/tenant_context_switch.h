// TenantContextSwitch: a shared server connection (backends.NAME.shared_pool) taken over by another
// tenant gets the new tenant context in the same write as the client's first message, not in a round
// trip of its own, with two guarantees:
//
// 1. The client's statements never run if setting the context failed. The context statements go as
//    Parse/Bind/Execute with no Sync ahead of the client's first message. An error in them makes the
//    server skip every message up to the next Sync, the client's simple Query included (protocol
//    section 55.2.3; postgres.c: `if (ignore_till_sync && firstchar != EOF) continue;`). The relay
//    forwards nothing of the client after its first request (the first Query or Sync) until the
//    context's answers are in, and a failed context ends the session and closes the server
//    connection: nothing the client sent after that error ever reaches a server.
// 2. pgtenant never believes a connection carries a context it does not. The context statements join
//    the client's first transaction, so a ROLLBACK (or an error) undoes them and leaves the server on
//    the previous tenant's context. The connection's context is confirmed only when that transaction
//    ends with no ErrorResponse and no ROLLBACK command tag on the way (ROLLBACK TO SAVEPOINT counts,
//    conservatively); otherwise it stays unknown and the next client sets it again.
//
// When the client's first message is a simple Query whose first statement takes a snapshot (SELECT,
// INSERT, ...: FirstMessage::kTakesSnapshot), the context statements go inside that Query instead,
// ahead of the client's text ("SET ...;SET ...;SELECT ..."): one message the server parses once, not
// three per statement (PostgreSQL's extended protocol costs a backend about 12,000 instructions more
// per switch). The guarantees hold the same way: a simple Query stops at its first error, so the
// client's statements run only after every context statement did, and all of them are one implicit
// transaction that commits or rolls back as a whole. An error there is the client's to see (none of
// its statements ran; the context stays unknown); the server's error positions count from the start
// of the text it got, so the relay moves them back by the length of the context (CarryQuery's
// result) until that Query's ReadyForQuery. A first statement that does not take a snapshot (BEGIN,
// SET, SHOW) keeps the extended messages: inside a multi-statement Query, SET LOCAL and SET
// TRANSACTION would lose the warning PostgreSQL gives them outside a transaction block.
//
// The context statements run without a Sync, which marks the transaction a pipeline: statements
// that refuse to run in one (VACUUM, CREATE DATABASE, CREATE INDEX CONCURRENTLY, ALTER SYSTEM,
// DISCARD ALL...) would fail. Classify says which first messages are safe; for the others the
// session sets the context in a round trip of its own, as before.
//
// A switch also resets the previous tenant's currval()/lastval() (DISCARD SEQUENCES), unless the server
// role cannot call either function (REVOKEd from PUBLIC, as the README suggests for shared pools): then
// no client of the pool can read what another left, and the switch is the context alone. DISCARD takes
// a snapshot, after which a BEGIN or SET TRANSACTION could no longer choose the isolation level, nor
// SET transaction_read_only make the transaction read-write. So it joins the context statements,
// after them, only when the client's first statement takes a snapshot itself (FirstMessage::
// kTakesSnapshot: SELECT, INSERT, ...): then it changes nothing the client could see, and the switch
// costs the server no transaction of its own. Otherwise it goes ahead in a query of its own
// (Relay::SyncServerSettings).
//
// No I/O; owned by the Relay (relay.h), loop thread only.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pgtenant::relay {

class TenantContextSwitch {
 public:
  enum class Phase : uint8_t {
    kNone,       // nothing to do: the connection carries the client's context
    kArmed,      // sent with the client's first message of its next transaction
    kAwaiting,   // sent; its answers have not all come
    kWatching,   // it ran; confirmed if the client's transaction commits
  };
  // What a server message is while the context's answers are awaited.
  enum class Answer : uint8_t {
    kSwallow,   // the context's own answer: the client does not see it
    kExecuted,  // the last statement ran: swallowed, and the client's answers come next
    kFailed,    // ErrorResponse: the context is not set (and the server skips the client's messages to Sync)
    kFailedInQuery,  // ErrorResponse in the client's Query that carried the context: nothing of the client
                     // ran, and the error (and the Query's end) are the client's; moves to kWatching, undone
    kUnexpected,  // anything else: the server broke the protocol
  };

  // What a transaction's first message (a whole Query or Parse) allows the switch.
  enum class FirstMessage : uint8_t {
    kRoundTrip,       // the context takes a round trip of its own (not pipelinable, or not known)
    kBeforeSnapshot,  // pipelinable, and must run before any snapshot: BEGIN, START, SET, SHOW
    kTakesSnapshot,   // pipelinable, and takes a snapshot itself: SELECT, INSERT, UPDATE, DELETE,
                      // MERGE, WITH, VALUES, TABLE, a parenthesis
  };
  // Conservative: an allow-list of first keywords; anything else is kRoundTrip.
  static FirstMessage Classify(uint8_t tag, std::span<const uint8_t> body);
  // Whether a transaction starting with this message may carry the context unsynced.
  static bool MayPipeline(uint8_t tag, std::span<const uint8_t> body) {
    return Classify(tag, body) != FirstMessage::kRoundTrip;
  }

  // How the previous tenant's currval()/lastval() go (see above).
  enum class SequenceReset : uint8_t {
    kWithContext,  // DISCARD SEQUENCES follows the context statements in the same pipeline (allowed
                   // when the first message is FirstMessage::kTakesSnapshot)
    kOwnQuery,     // in the relay's own query ahead of the switch (Relay::SyncServerSettings)
    kNone,         // nothing to reset: the server role may not call currval() or lastval() (the pool
                   // checked at connect: ServerConnection::sequences_readable)
  };
  // The reset a switch ahead of `first` needs, on a server whose clients can (`sequences_readable`)
  // or cannot call currval()/lastval().
  static SequenceReset SequenceResetFor(bool sequences_readable, FirstMessage first) {
    if (!sequences_readable) return SequenceReset::kNone;
    return first == FirstMessage::kTakesSnapshot ? SequenceReset::kWithContext : SequenceReset::kOwnQuery;
  }
  // The next transaction sets these statements first: each ends with its ';' (none holds a ';' of its
  // own: routing::Route::context_statements), and a NUL ends them all, as it ends a Query's text. The
  // switch keeps a view of them, not a copy (a shared pool switches at nearly every transaction, and a
  // session's own buffer is a cold line to write). REQUIRES: `statements` stays valid until the switch
  // is sent (AppendMessages, CarryQuery) or Reset: the session keeps the route that holds them.
  void Arm(std::string_view statements, SequenceReset sequences);
  // While armed: `owner` holds the text Arm was given and is kept until the switch is sent or reset
  // (the host's route was replaced before the context went). The first owner given after Arm stays.
  void KeepText(std::shared_ptr<const void> owner) {
    if (armed() && text_owner_ == nullptr) text_owner_ = std::move(owner);
  }
  SequenceReset sequence_reset() const { return sequence_reset_; }
  // The connection was given back or lost: nothing more is owed, nothing is confirmed.
  void Reset() {
    statements_ = {};
    text_owner_.reset();
    discard_sequences_ = false;
    statement_count_ = 0;
    carried_by_query_ = false;
    phase_ = Phase::kNone;
    executed_ = 0;
    undone_ = false;
    sequence_reset_ = SequenceReset::kNone;
  }
  Phase phase() const { return phase_; }
  bool armed() const { return phase_ == Phase::kArmed; }
  bool awaiting() const { return phase_ == Phase::kAwaiting; }
  bool watching() const { return phase_ == Phase::kWatching; }

  // The messages that set the context (Parse, Bind, Execute of each statement; no Sync), appended to
  // `out`; the switch then awaits their answers. REQUIRES: armed().
  void AppendMessages(std::string& out);
  // Whether the context may go inside this first message (a whole simple Query whose first statement
  // takes a snapshot) rather than ahead of it.
  static bool QueryMayCarry(uint8_t tag, std::span<const uint8_t> body);
  // The client's Query with the context statements ahead of its text, as the pieces of one Query
  // message: `head` (tag and length), `statements`, `discard` (DISCARD SEQUENCES; or nothing), then the
  // client's body (its text and NUL, `body_size` bytes), which the caller sends from where it is. The
  // switch then awaits their answers. `shift`: the characters put ahead of the client's text.
  // REQUIRES: armed(), QueryMayCarry held for it.
  struct CarriedQuery {
    std::array<uint8_t, 5> head{};
    std::string_view statements;
    std::string_view discard;
    uint32_t shift = 0;
  };
  CarriedQuery CarryQuery(size_t body_size);
  bool carried_by_query() const { return carried_by_query_; }
  // A whole server message while awaiting(). Moves to kWatching on kExecuted.
  Answer OnAnswer(uint8_t tag);
  // While watching(): an ErrorResponse or a CommandComplete (`body`) was seen.
  void NoteError() { undone_ = true; }
  void NoteCommandComplete(std::span<const uint8_t> body);
  // The transaction that carried the context ended (the server is clean). True: the context holds.
  // The switch is done either way. REQUIRES: watching().
  bool Settle();

  static constexpr std::string_view kDiscardSequences = "DISCARD SEQUENCES";
  static constexpr std::string_view kDiscardSequencesStatement = "DISCARD SEQUENCES;";

 private:
  std::string_view statements_;     // as armed, each ended by ';' (the host's text: see Arm)
  std::shared_ptr<const void> text_owner_;  // see KeepText; null unless the host let go of the text
  bool discard_sequences_ = false;  // DISCARD SEQUENCES follows them (SequenceReset::kWithContext)
  size_t statement_count_ = 0;      // in statements_, and the DISCARD
  Phase phase_ = Phase::kNone;
  size_t executed_ = 0;  // CommandComplete received for the context statements
  bool undone_ = false;  // an error or a ROLLBACK since: the context may not hold
  bool carried_by_query_ = false;  // sent inside the client's Query (CarryQuery)
  SequenceReset sequence_reset_ = SequenceReset::kNone;
};

}  // namespace pgtenant::relay
