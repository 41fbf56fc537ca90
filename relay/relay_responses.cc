// Relay: server messages to the client (protocol sections 55.2.2-55.2.7). Responses pgtenant owes
// are synthesized in order, responses to its own messages swallowed, a blocked statement's error
// put in place of the server's, and ReadyForQuery read for the transaction's end, the client's
// session effects and the release of the server under transaction pooling.
#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>

#include "policy/channel_namespace.h"
#include "protocol/frame_reader.h"
#include "protocol/message_builder.h"
#include "protocol/message_reader.h"
#include "protocol/sqlstate.h"
#include "protocol/wire.h"
#include "relay/relay.h"
#include "relay/session_wire.h"

namespace pgtenant::relay {

namespace {
using protocol::BackendTag;
using protocol::DecodeStatus;

bool Is(uint8_t tag, BackendTag expected) { return tag == static_cast<uint8_t>(expected); }

// ErrorResponses up to this size are read whole for their severity. A larger one streams: a client
// can make the server quote megabytes of its input in an ERROR, while a FATAL is a short fixed text.
constexpr uint32_t kMaxInspectedErrorLength = 64 * 1024;
// The ErrorResponse or NoticeResponse `body` (tag `tag`) with its Position moved back by `shift`
// characters, into `out`: the server counted `shift` characters of pgtenant's own ahead of the
// client's text. A position within them is dropped (it points at no text of the client's). False:
// nothing to move (no Position), or the fields do not read; the message goes as it is.
bool WithPositionShifted(uint8_t tag, std::span<const uint8_t> body, uint32_t shift, std::string& out) {
  protocol::MessageReader reader(body);
  protocol::MessageBuilder builder(out);
  builder.Begin(tag);
  bool moved = false;
  for (;;) {
    uint8_t field = 0;
    if (!reader.Int8(field)) return false;
    if (field == 0) break;
    std::string_view value;
    if (!reader.CString(value)) return false;
    if (field != 'P') {
      builder.Int8(field).CString(value);
      continue;
    }
    uint64_t position = 0;
    for (char c : value) {
      if (c < '0' || c > '9' || position > UINT32_MAX) return false;
      position = position * 10 + static_cast<uint64_t>(c - '0');
    }
    if (position > shift) builder.Int8(field).CString(std::to_string(position - shift));
    moved = true;
  }
  if (!moved) return false;
  builder.Int8(0).End();
  return true;
}

// A NotificationResponse is read whole to take the tenant's namespace off its channel. PostgreSQL's
// are under 8,100 bytes (a payload under 8,000, a channel under 64).
constexpr uint32_t kMaxNotificationLength = 64 * 1024;

// FATAL and PANIC end the server's session: the backend exits right after sending them. Read in
// place, without copying fields: 'V' is never translated (PostgreSQL 9.6+), 'S' stands in without it.
bool EndsServerSession(std::span<const uint8_t> error_body) {
  protocol::MessageReader reader(error_body);
  std::string_view severity;
  uint8_t type = 0;
  while (reader.Int8(type) && type != 0) {
    std::string_view value;
    if (!reader.CString(value)) break;
    if (type == 'V') return value == "FATAL" || value == "PANIC";
    if (type == 'S') severity = value;
  }
  return severity == "FATAL" || severity == "PANIC";
}

// NotificationResponse (protocol section 55.7): Int32 process ID, then channel and payload.
constexpr size_t kPidSize = 4;
void WritePid(int32_t pid, uint8_t* out) {
  const auto value = static_cast<uint32_t>(pid);
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(value >> (24 - 8 * i));
}
}  // namespace

Relay::Step Relay::OnServerBytes(std::span<const uint8_t> data) {
  size_t pos = 0;
  size_t flushed = 0;
  // Forwards the input from the last flush up to `end`, then skips to `next`.
  auto flush_to = [&](size_t end, size_t next) -> bool {
    const bool ok = end <= flushed || host_.ForwardToClient(data.subspan(flushed, end - flushed));
    flushed = next;
    return ok;
  };
  // A ReadyForQuery ended the transaction (kTerminate) or freed the server (kReleaseServer): what
  // came before it goes to the client, the rest of the input waits (a released server's next bytes
  // belong to whoever gets it next).
  auto stop_after_ready = [&](Outcome after) -> Step {
    if (after == Outcome::kTerminate) {
      (void)flush_to(pos, pos);
      return End(after, data.size());
    }
    if (!flush_to(pos, pos)) return End(Outcome::kClientGone, data.size());
    return {pos, after};
  };
  while (pos < data.size()) {
    if (PassStreamed(s2c_remaining_, data.size(), pos)) continue;
    const protocol::FrameDecode d = protocol::DecodeFrameHeader(data.subspan(pos), protocol::kMaxMessageLength);
    if (d.status == DecodeStatus::kNeedMoreData) break;
    if (d.status == DecodeStatus::kInvalid) {
      (void)flush_to(pos, pos);
      exchange().end_status = std::make_unique<Status>(
          Status::Error(sqlstate::kProtocolViolation, "pgtenant: server sent an invalid message"));
      return End(Outcome::kServerBroken, data.size());
    }
    const uint8_t tag = d.header.tag;
    if (OwnBatchDue()) {
      // The answer to a query of pgtenant's own: swallowed (a ParameterStatus the client asked for
      // goes through, and a FATAL ends the session as from the server), and its ReadyForQuery ends it.
      if (data.size() - pos < d.header.total()) break;
      const auto body = data.subspan(pos + protocol::kHeaderSize, d.header.body_size());
      const size_t next = pos + d.header.total();
      if (Is(tag, BackendTag::kErrorResponse) && EndsServerSession(body)) {
        if (!flush_to(next, next)) return End(Outcome::kClientGone, data.size());
        return End(Outcome::kServerEnded, data.size());
      }
      // A query of pgtenant's own that failed (a follow-up after RESET ALL) may have left the context unset.
      if (Is(tag, BackendTag::kErrorResponse) && exchange_->context.watching()) exchange_->context.NoteError();
      const bool parameter = Is(tag, BackendTag::kParameterStatus);
      if (parameter) host_.OnServerParameterStatus(body);
      if (!(parameter && exchange_->own_batches.front().show_parameters) && !flush_to(pos, next))
        return End(Outcome::kClientGone, data.size());
      pos = next;
      if (!Is(tag, BackendTag::kReadyForQuery)) continue;
      auto status = protocol::ParseReadyForQuery(body);
      server_->NoteReadyForQuery(status.ok() ? *status : protocol::TransactionStatus::kFailed);
      exchange_->own_batches.pop_front();
      const Outcome after = AfterReady();
      if (after != Outcome::kNeedMore) return stop_after_ready(after);
      continue;
    }
    if (exchange_ != nullptr && exchange_->context.awaiting() && exchange_->context.carried_by_query() &&
        Is(tag, BackendTag::kErrorResponse)) {
      // The Query that carried the context failed before any statement of the client's ran: the
      // error and the Query's end are the client's, and the context stays unknown.
      (void)exchange_->context.OnAnswer(tag);
    }
    if (exchange_ != nullptr && exchange_->context.awaiting()) {
      // The tenant context's answers come before the client's (it went out first).
      if (data.size() - pos < d.header.total()) break;
      const size_t next = pos + d.header.total();
      if (!flush_to(pos, pos)) return End(Outcome::kClientGone, data.size());
      const Outcome outcome = OnContextAnswer(tag, data.subspan(pos + protocol::kHeaderSize, d.header.body_size()));
      if (outcome != Outcome::kNeedMore) return End(outcome, data.size());
      pos = next;
      flushed = next;
      continue;
    }
    if (Is(tag, BackendTag::kErrorResponse)) batch_failed_ = true;  // the request's transaction is undone
    // The transaction that carried a context switch: an error or a ROLLBACK may undo the context.
    const bool watching = exchange_ != nullptr && exchange_->context.watching();
    if (watching && Is(tag, BackendTag::kErrorResponse)) exchange_->context.NoteError();
    const bool context_watched = watching && Is(tag, BackendTag::kCommandComplete);  // a short message
    const bool queued = transaction_pooling_ && exchange_ != nullptr && exchange_->rewriter.responses().Completes(tag);
    const bool substitute = Is(tag, BackendTag::kErrorResponse) && HasBlockedBatch() &&
                            exchange_->blocked_batches.front().batch == batches_done_ &&
                            !exchange_->blocked_batches.front().answered;
    const bool ready = Is(tag, BackendTag::kReadyForQuery);
    const bool parameter = Is(tag, BackendTag::kParameterStatus);
    const bool error = Is(tag, BackendTag::kErrorResponse) && d.header.total() <= kMaxInspectedErrorLength;
    // An error or notice of the Query that carried the context: its position counts the context too.
    const bool shifted = exchange_ != nullptr && exchange_->position_shift > 0 &&
                         batches_done_ == exchange_->shifted_batch &&
                         (Is(tag, BackendTag::kErrorResponse) || Is(tag, BackendTag::kNoticeResponse)) &&
                         d.header.total() <= kMaxInspectedErrorLength;
    if (Is(tag, BackendTag::kNotificationResponse) && d.header.body_size() >= kPidSize) {
      if (std::string ns = host_.ChannelNamespace(); !ns.empty()) {
        // The tenant's channels lose their namespace; a notification outside it is not the client's.
        if (d.header.body_size() > kMaxNotificationLength) {
          (void)flush_to(pos, pos);
          exchange().end_status = std::make_unique<Status>(
              Status::Error(sqlstate::kProtocolViolation, "pgtenant: server sent an oversized notification"));
          return End(Outcome::kServerBroken, data.size());
        }
        if (data.size() - pos < d.header.total()) break;
        const size_t next = pos + d.header.total();
        std::string& rewritten = exchange().to_client;
        rewritten.clear();
        const bool theirs = ClientNotification(data.subspan(pos + protocol::kHeaderSize, d.header.body_size()), ns, rewritten);
        if (!flush_to(pos, next)) return End(Outcome::kClientGone, data.size());  // the server's message goes no further
        if (theirs && !host_.SendToClient(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(rewritten.data()),
                                                                   rewritten.size())))
          return End(Outcome::kClientGone, data.size());
        pos = next;
        continue;
      }
      // Its process ID first, in the client's terms; channel and payload stream on as they come.
      if (data.size() - pos < protocol::kHeaderSize + kPidSize) break;
      int32_t server_pid = 0;
      (void)protocol::MessageReader(data.subspan(pos + protocol::kHeaderSize, kPidSize)).Int32(server_pid);
      const int32_t client_pid = host_.NotifierPidForClient(server_pid);
      if (client_pid != server_pid) {
        uint8_t head[protocol::kHeaderSize + kPidSize];
        std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(pos), protocol::kHeaderSize, head);
        WritePid(client_pid, head + protocol::kHeaderSize);
        if (!flush_to(pos, pos + sizeof(head)) || !host_.SendToClient(head)) return End(Outcome::kClientGone, data.size());
      }
      pos += protocol::kHeaderSize + kPidSize;
      s2c_remaining_ = static_cast<uint32_t>(d.header.body_size() - kPidSize);
      continue;
    }
    // Statement outcomes, counted once: as a streamed message starts, or once a whole one is here.
    const bool completes = Is(tag, BackendTag::kCommandComplete) || Is(tag, BackendTag::kEmptyQueryResponse);
    if (!queued && !substitute && !ready && !parameter && !error && !context_watched && !shifted) {
      statements_completed_ += completes;
      statements_failed_ += Is(tag, BackendTag::kErrorResponse);  // one too long to inspect
      s2c_remaining_ = static_cast<uint32_t>(d.header.total());  // streamed as it comes: DataRow, CopyData, notices, ...
      continue;
    }
    if (data.size() - pos < d.header.total()) break;
    const auto body = data.subspan(pos + protocol::kHeaderSize, d.header.body_size());
    const size_t next = pos + d.header.total();
    if (context_watched) exchange_->context.NoteCommandComplete(body);
    if (error && EndsServerSession(body)) {
      // The server ends the session (pg_terminate_backend, shutdown, a lost client_connection_check):
      // its FATAL is the last thing the client hears, as from PostgreSQL itself, never replaced by a
      // blocked statement's error nor followed by one of pgtenant's.
      if (!flush_to(next, next)) return End(Outcome::kClientGone, data.size());
      return End(Outcome::kServerEnded, data.size());
    }
    bool swallow = queued && exchange_->rewriter.responses().OnServerMessage(tag, server_->statements());
    if (!swallow) {
      statements_completed_ += completes;
      statements_failed_ += error && !substitute;
    }
    if (substitute) {
      // The marker failed on the server exactly where the blocked statement would have: the
      // client gets pgtenant's verdict in its place.
      BlockedBatch& blocked = exchange_->blocked_batches.front();
      if (!flush_to(pos, next) || !host_.SendToClient(std::span<const uint8_t>(
                                      reinterpret_cast<const uint8_t*>(blocked.error.data()), blocked.error.size())))
        return End(Outcome::kClientGone, data.size());
      blocked.answered = true;
      swallow = false;
    }
    if (swallow && !flush_to(pos, next)) return End(Outcome::kClientGone, data.size());
    if (shifted && !swallow && !substitute) {
      std::string& moved = exchange_->to_client;
      moved.clear();
      if (WithPositionShifted(tag, body, exchange_->position_shift, moved) &&
          (!flush_to(pos, next) ||
           !host_.SendToClient(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(moved.data()), moved.size()))))
        return End(Outcome::kClientGone, data.size());
    }
    pos = next;
    if (queued && exchange_->rewriter.responses().SyntheticDue()) {
      std::string& synthetic = exchange_->to_client;
      synthetic.clear();
      exchange_->rewriter.responses().DrainSynthetic(synthetic);
      if (!flush_to(pos, pos) || !host_.SendToClient(std::span<const uint8_t>(
                                     reinterpret_cast<const uint8_t*>(synthetic.data()), synthetic.size())))
        return End(Outcome::kClientGone, data.size());
    }
    if (parameter) {
      host_.OnServerParameterStatus(body);
      continue;
    }
    if (!ready) continue;
    auto status = protocol::ParseReadyForQuery(body);
    const protocol::TransactionStatus txn = status.ok() ? *status : protocol::TransactionStatus::kFailed;
    server_->NoteReadyForQuery(txn);
    ++batches_done_;
    if (exchange_ != nullptr && batches_done_ > exchange_->shifted_batch) exchange_->position_shift = 0;
    while (HasBlockedBatch() && exchange_->blocked_batches.front().batch < batches_done_)
      exchange_->blocked_batches.pop_front();
    SettleEffects(txn);
    const Outcome after = AfterReady();
    if (after != Outcome::kNeedMore) return stop_after_ready(after);
  }
  if (!flush_to(pos, pos)) return End(Outcome::kClientGone, data.size());
  return {pos, Outcome::kNeedMore};
}

Relay::Outcome Relay::OnContextAnswer(uint8_t tag, std::span<const uint8_t> body) {
  switch (exchange_->context.OnAnswer(tag)) {
    case TenantContextSwitch::Answer::kSwallow:
      if (Is(tag, BackendTag::kParameterStatus)) host_.OnServerParameterStatus(body);
      return Outcome::kNeedMore;
    case TenantContextSwitch::Answer::kExecuted:
      return Outcome::kNeedMore;
    case TenantContextSwitch::Answer::kFailed: {
      // The server now skips the client's messages up to its Sync, and the session ends before
      // anything after that Sync is sent: closing the connection undoes the transaction, and no
      // statement of the client's ran (tenant_context_switch.h).
      Result<protocol::ErrorFields> fields = protocol::ParseErrorResponse(body);
      const std::string code = fields.ok() && !fields->sqlstate.empty() ? fields->sqlstate
                                                                        : std::string(sqlstate::kConnectionFailure);
      exchange_->end_status = std::make_unique<Status>(Status::Error(
          code, "pgtenant: could not set the tenant context on a shared server connection: " +
                    (fields.ok() ? fields->message : std::string("unreadable error"))));
      return Outcome::kServerBroken;
    }
    case TenantContextSwitch::Answer::kFailedInQuery:  // taken before (OnServerBytes): the client's to see
    case TenantContextSwitch::Answer::kUnexpected:
      break;
  }
  exchange_->context.Reset();
  exchange_->end_status = std::make_unique<Status>(
      Status::Error(sqlstate::kProtocolViolation, "pgtenant: server sent an unexpected answer to the tenant context"));
  return Outcome::kServerBroken;
}

bool Relay::ClientNotification(std::span<const uint8_t> body, std::string_view ns, std::string& out) {
  protocol::MessageReader reader(body);
  int32_t server_pid = 0;
  std::string_view channel;
  std::string_view payload;
  if (!reader.Int32(server_pid) || !reader.CString(channel) || !reader.CString(payload)) return false;
  const std::optional<std::string_view> client_channel = policy::ClientChannel(channel, ns);
  if (!client_channel) return false;
  protocol::MessageBuilder(out)
      .Begin(BackendTag::kNotificationResponse)
      .Int32(host_.NotifierPidForClient(server_pid))
      .CString(*client_channel)
      .CString(payload)
      .End();
  return true;
}

Relay::Outcome Relay::AfterReady() {
  if (!server_->IsClean()) return Outcome::kNeedMore;
  if (state_ == State::kInTransaction) {
    TransitionTo(State::kIdle);
    if (exchange_ != nullptr && exchange_->context.watching()) host_.OnContextSettled(exchange_->context.Settle());
    if (Status why = host_.OnTransactionEnd(); !why.ok()) {
      exchange().end_status = std::make_unique<Status>(std::move(why));
      return Outcome::kTerminate;
    }
  }
  // The transaction is over and nothing is in flight: the server goes back to the pool.
  if (transaction_pooling_ && c2s_remaining_ == 0 && c2s_skip_ == 0 && !AwaitsResponses())
    return Outcome::kReleaseServer;
  return Outcome::kNeedMore;
}

void Relay::SettleEffects(protocol::TransactionStatus status) {
  const bool failed = batch_failed_;
  batch_failed_ = false;
  if (exchange_ == nullptr) return;
  Exchange& ex = *exchange_;
  if (ex.effects_in_flight.empty() && ex.transaction_effects.empty()) return;
  // A failed request's effects are kept too: those before the error ran, and whatever brings the
  // transaction back (ROLLBACK TO a savepoint made before the error) undoes the ones after it.
  while (!ex.effects_in_flight.empty() && ex.effects_in_flight.front().batch < batches_done_) {
    ex.transaction_effects.push_back(std::move(ex.effects_in_flight.front().effect));
    ex.effects_in_flight.pop_front();
  }
  const bool was_aborted = ex.transaction_aborted;
  ex.transaction_aborted = status == protocol::TransactionStatus::kFailed;
  if (status != protocol::TransactionStatus::kIdle) return;  // the transaction goes on
  // It ended. An error that ended it (an implicit transaction, a failed COMMIT), or a COMMIT of an
  // aborted transaction (PostgreSQL rolls it back): nothing holds. Else what ROLLBACKs left.
  if (!failed && !was_aborted) {
    for (const SessionEffect& effect : CommittedEffects(std::move(ex.transaction_effects)))
      settings_.Commit(effect, server_->settings());
  }
  ex.transaction_effects.clear();
}

}  // namespace pgtenant::relay
