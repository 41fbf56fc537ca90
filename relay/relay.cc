// Relay: states, and client messages to the server (SQL judged whole through the host, statements
// renamed under transaction pooling, a rejected request skipped). What one call forwards is a few
// ranges of its input, so a read the session corks leaves in one write, uncopied.
#include "relay/relay.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

#include "protocol/frame_reader.h"
#include "protocol/message_builder.h"
#include "protocol/sqlstate.h"
#include "protocol/wire.h"
#include "relay/session_wire.h"

namespace pgtenant::relay {

namespace {

using protocol::DecodeStatus;
using protocol::FrontendTag;

// Stands in for a blocked statement on the server: it cannot parse, so the server reports an
// error in the statement's place (see SendBlockedMarker).
constexpr const char* kBlockedMarker = "pgtenant blocked this statement";
// A client's first Query up to this size carries the tenant context in its text (a copy of it goes
// to the server); a larger one gets it in messages of its own ahead of it.
constexpr uint32_t kMaxCarrierQuery = 64 * 1024;

// The most a frontend message with this tag may announce in its length field, as PostgreSQL
// reads it (SocketBackend); 0 for a tag no client may send in a session.
uint32_t MaxFrontendLength(uint8_t tag) {
  switch (static_cast<FrontendTag>(tag)) {
    case FrontendTag::kBind:
    case FrontendTag::kCopyData:
    case FrontendTag::kFunctionCall:
    case FrontendTag::kParse:
    case FrontendTag::kQuery:
      return protocol::kMaxMessageLength;
    case FrontendTag::kClose:
    case FrontendTag::kCopyDone:
    case FrontendTag::kCopyFail:
    case FrontendTag::kDescribe:
    case FrontendTag::kExecute:
    case FrontendTag::kFlush:
    case FrontendTag::kSync:
      return protocol::kMaxSmallMessageLength;
    default:
      return 0;
  }
}

bool Is(uint8_t tag, FrontendTag expected) { return tag == static_cast<uint8_t>(expected); }

std::span<const uint8_t> Bytes(std::string_view s) {
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace

void Relay::TransitionTo(State next) {
  bool allowed = false;
  switch (state_) {
    case State::kNoServer:
      allowed = next == State::kIdle || next == State::kDiscarding;
      break;
    case State::kIdle:
      allowed = next == State::kInTransaction || next == State::kNoServer;
      break;
    case State::kInTransaction:
      allowed = next == State::kIdle || next == State::kNoServer;
      break;
    case State::kDiscarding:
      allowed = next == State::kDiscardingLast || next == State::kNoServer;
      break;
    case State::kDiscardingLast:
      allowed = next == State::kNoServer;
      break;
    case State::kEnded:
      allowed = false;
      break;
  }
  allowed = allowed || next == State::kEnded;
  if (!allowed) std::abort();  // a bug in the relay, never a client's doing: the fuzzer hunts for it
  state_ = next;
}

void Relay::AttachServer(ServerWire& server) {
  server_ = &server;
  s2c_remaining_ = 0;
  TransitionTo(State::kIdle);
}

void Relay::DetachServer() {
  // A message half-forwarded either way leaves the server's byte stream out of step for good.
  if (server_ != nullptr && (c2s_remaining_ > 0 || s2c_remaining_ > 0)) server_->NoteMessageCut();
  server_ = nullptr;
  // A switch not sent, or not settled, is dropped: the host left the connection's context unknown.
  if (exchange_ != nullptr) exchange_->context.Reset();
  if (state_ == State::kIdle || state_ == State::kInTransaction) TransitionTo(State::kNoServer);
}

Relay::Step Relay::End(Outcome outcome, size_t consumed) {
  if (state_ != State::kEnded) TransitionTo(State::kEnded);
  return {consumed, outcome};
}

bool Relay::Quiescent() const {
  return !AwaitsResponses() && !(exchange_ != nullptr && exchange_->context.phase() != TenantContextSwitch::Phase::kNone) && !HasBlockedBatch() && c2s_remaining_ == 0 && c2s_skip_ == 0 && !discarding() &&
         state_ != State::kInTransaction;
}

size_t Relay::Footprint() const {
  if (exchange_ == nullptr) return 0;
  size_t bytes = sizeof(Exchange) + exchange_->to_server.capacity() + exchange_->to_client.capacity() +
                 exchange_->rewriter.responses().size() * 64 + exchange_->rewriter.statements().bytes();
  for (size_t i = 0; i < exchange_->blocked_batches.size(); ++i) bytes += 256;
  return bytes;
}

void Relay::TrimIdle() {
  if (exchange_ != nullptr && exchange_->empty()) exchange_.reset();
}

bool Relay::SendOwn(std::string_view bytes, bool to_server) {
  return to_server ? host_.SendToServer(Bytes(bytes)) : host_.SendToClient(Bytes(bytes));
}

bool Relay::SendBlockedMarker(uint8_t tag, std::string error) {
  Exchange& ex = exchange();
  BlockedBatch blocked;
  blocked.batch = batches_sent_;
  blocked.error = std::move(error);
  ex.blocked_batches.push_back(std::move(blocked));
  std::string& marker = ex.to_server;
  marker.clear();
  if (Is(tag, FrontendTag::kParse)) {
    protocol::MessageBuilder(marker).Begin(FrontendTag::kParse).CString("").CString(kBlockedMarker).Int16(0).End();
    server_->NoteFrontendMessage(FrontendTag::kParse);
    if (transaction_pooling_) ex.rewriter.ExpectMarkerResponse(/*parse=*/true);
  } else {
    protocol::AppendQuery(marker, kBlockedMarker);  // a FunctionCall, too, ends with ReadyForQuery
    server_->NoteFrontendMessage(FrontendTag::kQuery);
    ++batches_sent_;
    if (transaction_pooling_) {
      server_->statements().EndSegment();
      ex.rewriter.ExpectMarkerResponse(/*parse=*/false);
    }
  }
  return SendOwn(marker, /*to_server=*/true);
}

bool Relay::SendOwnQuery(std::string_view sql, bool show_parameters) {
  Exchange& ex = exchange();
  std::string& query = ex.to_server;
  query.clear();
  protocol::AppendQuery(query, sql);
  server_->NoteFrontendMessage(FrontendTag::kQuery);
  if (transaction_pooling_) server_->statements().EndSegment();
  ex.own_batches.push_back(OwnBatch{batches_sent_, show_parameters});
  return SendOwn(query, /*to_server=*/true);
}

bool Relay::SyncServerSettings() {
  std::string sql = settings_.SyncServer(server_->settings(), server_->reported());
  // A tenant switch: currval() and lastval() are session state that no policy rule blocks. Here, in
  // a transaction of its own, unless the switch carries it: DISCARD takes a snapshot, which would fix
  // the isolation level of the client's transaction before its BEGIN could choose it.
  if (exchange_ != nullptr && exchange_->context.armed() &&
      exchange_->context.sequence_reset() == TenantContextSwitch::SequenceReset::kOwnQuery)
    sql.append(TenantContextSwitch::kDiscardSequences).append(";");
  return sql.empty() || SendOwnQuery(sql, /*show_parameters=*/false);
}

bool Relay::SendCarriedQuery(const TenantContextSwitch::CarriedQuery& query, std::span<const uint8_t> body) {
  const std::array<std::span<const uint8_t>, 4> pieces = {std::span<const uint8_t>(query.head),
                                                          Bytes(query.statements), Bytes(query.discard), body};
  return host_.SendPiecesToServer(pieces);
}

bool Relay::SendContextSwitch() {
  Exchange& ex = exchange();
  std::string& messages = ex.to_server;
  messages.clear();
  ex.context.AppendMessages(messages);
  ex.context_after = batches_sent_;
  // Not noted in the ServerWire: the client's first request (a Query, or its own Parse ... Sync) is
  // what the server answers with ReadyForQuery, and it ends the context's segment too.
  return SendOwn(messages, /*to_server=*/true);
}

void Relay::NoteEffects(SessionEffects& effects) {
  Exchange& ex = exchange();
  for (SessionEffect& effect : effects) {
    switch (effect.kind) {
      case SessionEffect::Kind::kSet:
        server_->settings().MarkUnknown(effect.name);
        break;
      case SessionEffect::Kind::kReset:
        // The server resets to its own default; PostgreSQL would reset to the client's startup value.
        server_->settings().MarkUnknown(effect.name);
        ex.follow_up += settings_.StartupValueSql(effect.name);
        break;
      case SessionEffect::Kind::kResetAll:
      case SessionEffect::Kind::kDiscardAll:
      case SessionEffect::Kind::kDeallocateAll:
        if (effect.kind != SessionEffect::Kind::kDeallocateAll) {
          // A shared server connection lost the tenant context too: it is set again first (the policy
          // lets RESET ALL and DISCARD ALL through there only as the last statement of a text).
          if (std::string_view context = host_.SharedContextSql(); !context.empty())
            ex.follow_up.append(context).append(";");
          server_->settings().MarkAllUnknown();
          ex.follow_up += settings_.AllStartupValuesSql();
        }
        if (effect.kind != SessionEffect::Kind::kResetAll && transaction_pooling_) {
          // The server drops every prepared statement, other clients' content-named ones too: they
          // are prepared again where needed; the client's own are gone, as in PostgreSQL.
          server_->statements().Clear();
          ex.rewriter.ForgetStatements();
        }
        break;
      case SessionEffect::Kind::kDeallocate:  // session pooling: the server's statements are the client's
      case SessionEffect::Kind::kRollback:
      case SessionEffect::Kind::kSavepoint:
      case SessionEffect::Kind::kRelease:
      case SessionEffect::Kind::kRollbackTo:
        break;
    }
    ex.effects_in_flight.push_back(PendingEffect{batches_sent_, std::move(effect)});
  }
  if (!ex.follow_up.empty()) ex.follow_up_after = batches_sent_;
}

bool Relay::DeallocateStatement(uint8_t tag, std::span<const uint8_t> body, const std::string& name) {
  static constexpr const char* kStandIn = "pgtenant_deallocate";
  Exchange& ex = exchange();
  const bool parse = Is(tag, FrontendTag::kParse);
  const bool named_parse = parse && !body.empty() && body[0] != 0;
  if (named_parse || ex.rewriter.statements().Find(name) == nullptr) {
    // Not the client's (the server's content-named statements are shared): PostgreSQL's error. A
    // named Parse would run it later, where pgtenant no longer sees it: refused.
    protocol::ErrorFields e;
    e.severity = "ERROR";
    e.sqlstate = std::string(named_parse ? sqlstate::kFeatureNotSupported : sqlstate::kInvalidSqlStatementName);
    e.message = named_parse ? "pgtenant: DEALLOCATE cannot be a named prepared statement in transaction pooling"
                            : "prepared statement \"" + name + "\" does not exist";
    std::string error;
    protocol::AppendErrorResponse(error, e);
    return SendBlockedMarker(tag, std::move(error));
  }
  ex.rewriter.ForgetStatement(name);
  std::string nothing_synthesized;  // forwarded and swallowed entries append nothing
  if (!parse) {
    // PREPARE fails harmlessly (and is swallowed) if an earlier stand-in was left; DEALLOCATE drops it.
    if (!SendOwnQuery(std::string("PREPARE ") + kStandIn + " AS SELECT", /*show_parameters=*/false)) return false;
    std::string& query = ex.to_server;
    query.clear();
    protocol::AppendQuery(query, std::string("DEALLOCATE ") + kStandIn);
    server_->NoteFrontendMessage(FrontendTag::kQuery);
    server_->statements().EndSegment();
    ex.rewriter.responses().Push(ResponseQueue::Expect::kQuery, ResponseQueue::Disposition::kForward,
                                 nothing_synthesized);
    ++batches_sent_;
    return SendOwn(query, /*to_server=*/true);
  }
  std::string& messages = ex.to_server;
  messages.clear();
  protocol::MessageBuilder(messages).Begin(FrontendTag::kClose).Int8('S').CString(kStandIn).End();
  protocol::MessageBuilder(messages).Begin(FrontendTag::kParse).CString(kStandIn).CString("SELECT").Int16(0).End();
  protocol::MessageBuilder(messages)
      .Begin(FrontendTag::kParse)
      .CString("")
      .CString(std::string("DEALLOCATE ") + kStandIn)
      .Int16(0)
      .End();
  ResponseQueue& responses = ex.rewriter.responses();
  responses.Push(ResponseQueue::Expect::kClose, ResponseQueue::Disposition::kSwallow, nothing_synthesized);
  responses.Push(ResponseQueue::Expect::kParse, ResponseQueue::Disposition::kSwallow, nothing_synthesized);
  responses.Push(ResponseQueue::Expect::kParse, ResponseQueue::Disposition::kForward, nothing_synthesized);
  server_->NoteFrontendMessage(FrontendTag::kParse);
  return SendOwn(messages, /*to_server=*/true);
}

bool Relay::SendDueFollowUp() {
  Exchange& ex = *exchange_;
  std::string sql;
  sql.swap(ex.follow_up);
  return SendOwnQuery(sql, /*show_parameters=*/true);
}

bool Relay::BeginOversizeSkip(const protocol::FrameHeader& header, size_t limit) {
  const bool function_call = Is(header.tag, FrontendTag::kFunctionCall);
  const char* kind = function_call ? "FunctionCall" : Is(header.tag, FrontendTag::kParse) ? "Parse" : "Query";
  const char* setting = function_call ? "limits.max_function_call_size" : "limits.max_query_size";
  protocol::ErrorFields e;
  e.severity = "ERROR";
  e.sqlstate = sqlstate::kProgramLimitExceeded;
  e.message = std::string("pgtenant: a ") + kind + " message of " + std::to_string(header.body_size()) +
              " bytes exceeds " + setting + " (" + std::to_string(limit) + " bytes)";
  e.hint = function_call ? "Write large objects in smaller pieces, or raise limits.max_function_call_size."
                         : "Send large values as parameters (PQexecParams), or raise limits.max_query_size.";
  std::string error;
  protocol::AppendErrorResponse(error, e);
  c2s_skip_ = static_cast<uint32_t>(header.total());  // at most kMaxMessageLength + 1
  return SendBlockedMarker(header.tag, std::move(error));
}

Relay::Step Relay::OnClientBytes(std::span<const uint8_t> data) {
  if (discarding()) return DiscardRequest(data);
  size_t pos = 0;
  size_t flushed = 0;
  // Forwards the input from the last flush up to `pos`: bytes pass in as few ranges as possible.
  auto flush = [&]() -> bool {
    const bool ok = pos == flushed || host_.ForwardToServer(data.subspan(flushed, pos - flushed));
    flushed = pos;
    return ok;
  };
  auto fail = [&](Status why) -> Step {
    if (!flush()) return End(Outcome::kServerGone, data.size());
    exchange().end_status = std::make_unique<Status>(std::move(why));
    return End(Outcome::kTerminate, data.size());
  };
  while (pos < data.size()) {
    if (c2s_skip_ > 0) {
      // A message over its limit passes by unread; its error is on its way (BeginOversizeSkip).
      if (!flush()) return End(Outcome::kServerGone, data.size());
      const size_t n = std::min<size_t>(c2s_skip_, data.size() - pos);
      pos += n;
      flushed = pos;
      c2s_skip_ -= static_cast<uint32_t>(n);
      // The server was held for the skip alone: under transaction pooling it goes back now.
      if (c2s_skip_ == 0 && transaction_pooling_ && server_->IsClean() && c2s_remaining_ == 0 && !AwaitsResponses())
        return {pos, Outcome::kReleaseServer};
      continue;
    }
    if (PassStreamed(c2s_remaining_, data.size(), pos)) continue;
    if (exchange_ != nullptr && exchange_->context.awaiting() && batches_sent_ > exchange_->context_after) {
      // The client's first request went out behind the tenant context; nothing more of the client
      // reaches the server before the context is known to be set (tenant_context_switch.h).
      if (!flush()) return End(Outcome::kServerGone, data.size());
      return {pos, Outcome::kAwaitContext};
    }
    if (FollowUpDue() && (!flush() || !SendDueFollowUp())) return End(Outcome::kServerGone, data.size());
    const protocol::FrameDecode d = protocol::DecodeFrameHeader(data.subspan(pos), protocol::kMaxMessageLength);
    if (d.status == DecodeStatus::kNeedMoreData) break;
    if (d.status == DecodeStatus::kInvalid) return fail(d.error());
    const uint8_t tag = d.header.tag;
    const bool terminating = Is(tag, FrontendTag::kTerminate);
    if (server_->IsClean()) {
      if (!flush()) return End(Outcome::kServerGone, data.size());
      Admission admission = host_.AdmitTransaction(state_ == State::kIdle, terminating);
      if (admission.kind == Admission::Kind::kHold) return {pos, Outcome::kHold};
      if (admission.kind == Admission::Kind::kRefuse) return fail(std::move(admission.why));
      if (state_ == State::kIdle && !terminating) {
        TransitionTo(State::kInTransaction);
        if (transaction_pooling_ && !SyncServerSettings()) return End(Outcome::kServerGone, data.size());
        if (exchange_ != nullptr && exchange_->context.armed()) {
          // A small whole Query whose first statement takes a snapshot carries the context in its own
          // text (below); anything else gets it in messages ahead of it (tenant_context_switch.h).
          if (Is(tag, FrontendTag::kQuery) && d.header.total() <= kMaxCarrierQuery &&
              data.size() - pos >= d.header.total() &&
              TenantContextSwitch::QueryMayCarry(tag, data.subspan(pos + protocol::kHeaderSize, d.header.body_size())))
            exchange_->context_after = batches_sent_;
          else if (!SendContextSwitch())
            return End(Outcome::kServerGone, data.size());
        }
      }
    }
    if (terminating) {
      if (!flush()) return End(Outcome::kServerGone, data.size());
      return End(Outcome::kClose, data.size());
    }
    const uint32_t max_length = MaxFrontendLength(tag);
    if (max_length == 0)
      return fail(Status::Error(sqlstate::kProtocolViolation, "invalid frontend message type " + TagName(tag)));
    if (d.header.length > max_length) {
      // Forwarded, it would end the server connection silently, maybe after the server went back to
      // the pool (a Flush awaits no answer): the session ends here, the server stays sound.
      return fail(Status::Error(sqlstate::kProtocolViolation,
                                "invalid message length: a " + TagName(tag) + " message of " +
                                    std::to_string(d.header.body_size()) + " bytes (PostgreSQL takes at most " +
                                    std::to_string(max_length - 4) + ")"));
    }
    const bool sql_bearing = Is(tag, FrontendTag::kQuery) || Is(tag, FrontendTag::kParse);
    const bool judged = sql_bearing || Is(tag, FrontendTag::kFunctionCall);
    // The message as the server gets it: the client's bytes, or the host's rewrite of a judged one.
    std::span<const uint8_t> message = data.subspan(pos);
    protocol::FrameHeader header = d.header;
    bool replaced = false;
    std::optional<TenantContextSwitch::CarriedQuery> carried;  // the message goes with the tenant context
    if (judged) {
      // Judged whole, so buffered whole: up to a limit. A larger message is skipped, never read.
      const size_t limit = sql_bearing ? max_query_size_ : max_function_call_size_;
      if (d.header.body_size() > limit) {
        if (!flush() || !SendArmedContext() || !BeginOversizeSkip(d.header, limit))
          return End(Outcome::kServerGone, data.size());
        continue;
      }
      if (data.size() - pos < d.header.total()) break;  // SQL is judged whole before it is forwarded
      std::string blocked_error;  // empty: no allocation unless blocked
      SessionEffects effects;     // likewise, unless the statement touches the session
      std::string replacement;    // likewise, unless the statement is rewritten
      if (!host_.JudgeStatement(tag, data.subspan(pos + protocol::kHeaderSize, d.header.body_size()), blocked_error,
                                effects, replacement)) {
        if (!flush() || !SendArmedContext() || !SendBlockedMarker(tag, std::move(blocked_error)))
          return End(Outcome::kServerGone, data.size());
        pos += d.header.total();
        flushed = pos;
        continue;
      }
      if (!effects.empty() && transaction_pooling_ && effects.front().kind == SessionEffect::Kind::kDeallocate) {
        if (!flush() || !SendArmedContext() ||
            !DeallocateStatement(tag, data.subspan(pos + protocol::kHeaderSize, d.header.body_size()),
                                 effects.front().name))
          return End(Outcome::kServerGone, data.size());
        pos += d.header.total();
        flushed = pos;
        continue;
      }
      if (!effects.empty()) NoteEffects(effects);
      if (!replacement.empty()) {
        std::string& rewritten = exchange().rewritten;
        rewritten.clear();
        protocol::MessageBuilder(rewritten).Begin(tag).Bytes(replacement).End();
        message = Bytes(rewritten);
        header.length = static_cast<uint32_t>(rewritten.size() - 1);
        replaced = true;
      }
      if (exchange_ != nullptr && exchange_->context.armed() && !Is(tag, FrontendTag::kQuery) &&
          (!flush() || !SendContextSwitch()))
        return End(Outcome::kServerGone, data.size());
      if (exchange_ != nullptr && exchange_->context.armed()) {
        // The Query that carries the tenant context (chosen as the transaction started): sent below in
        // pieces, the context's text from where the route keeps it and the client's from its buffer.
        Exchange& ex = *exchange_;
        carried = ex.context.CarryQuery(header.body_size());
        ex.position_shift = carried->shift;
        ex.shifted_batch = batches_sent_;
        replaced = true;
      }
    }
    if (Is(tag, FrontendTag::kQuery) || Is(tag, FrontendTag::kSync) || Is(tag, FrontendTag::kFunctionCall))
      ++batches_sent_;
    if (transaction_pooling_) {
      Exchange& ex = exchange();
      ex.to_server.clear();
      ex.to_client.clear();
      StatementRewriter::Output out{ex.to_server, ex.to_client};
      const StatementRewriter::Action action =
          ex.rewriter.Rewrite(message, header, server_->statements(), max_query_size_, out);
      if (action == StatementRewriter::Action::kNeedMore) break;
      if (action == StatementRewriter::Action::kFailed) return fail(std::move(out.failure));
      if (action == StatementRewriter::Action::kRewritten) {
        server_->NoteFrontendMessage(static_cast<FrontendTag>(tag));
        if (!flush() || !SendOwn(ex.to_server, /*to_server=*/true)) return End(Outcome::kServerGone, data.size());
        if (!ex.to_client.empty() && !SendOwn(ex.to_client, /*to_server=*/false))
          return End(Outcome::kClientGone, data.size());
        pos += replaced ? d.header.total() : out.consumed;  // a rewritten message was whole
        flushed = pos;
        c2s_remaining_ = static_cast<uint32_t>(out.stream_rest);
        continue;
      }
      if (!ex.to_client.empty()) {
        if (!flush()) return End(Outcome::kServerGone, data.size());
        if (!SendOwn(ex.to_client, /*to_server=*/false)) return End(Outcome::kClientGone, data.size());
      }
    }
    server_->NoteFrontendMessage(static_cast<FrontendTag>(tag));
    if (replaced) {
      if (!flush() ||
          !(carried ? SendCarriedQuery(*carried, message.subspan(protocol::kHeaderSize, header.body_size()))
                    : SendOwn(std::string_view(reinterpret_cast<const char*>(message.data()), message.size()),
                              /*to_server=*/true)))
        return End(Outcome::kServerGone, data.size());
      pos += d.header.total();
      flushed = pos;
      continue;
    }
    if (judged) {
      pos += d.header.total();
      continue;
    }
    c2s_remaining_ = static_cast<uint32_t>(d.header.total());
  }
  if (FollowUpDue() && (!flush() || !SendDueFollowUp())) return End(Outcome::kServerGone, data.size());
  if (!flush()) return End(Outcome::kServerGone, data.size());
  return {pos, Outcome::kNeedMore};
}

bool Relay::Reject(const Status& why) {
  protocol::ErrorFields e;
  e.severity = "ERROR";
  e.sqlstate = why.sqlstate().empty() ? std::string(sqlstate::kInternalError) : why.sqlstate();
  e.message = why.message();
  e.hint = why.hint();
  std::string out;
  protocol::AppendErrorResponse(out, e);
  if (!SendOwn(out, /*to_server=*/false)) {
    End(Outcome::kClientGone, 0);
    return false;
  }
  c2s_remaining_ = 0;
  TransitionTo(State::kDiscarding);
  return true;
}

Relay::Step Relay::DiscardRequest(std::span<const uint8_t> data) {
  size_t pos = 0;
  while (pos < data.size() && discarding()) {
    if (PassStreamed(c2s_remaining_, data.size(), pos)) {
      if (state_ == State::kDiscardingLast && c2s_remaining_ == 0) TransitionTo(State::kNoServer);
      continue;
    }
    const protocol::FrameDecode d = protocol::DecodeFrameHeader(data.subspan(pos), protocol::kMaxMessageLength);
    if (d.status == DecodeStatus::kNeedMoreData) break;
    if (d.status == DecodeStatus::kInvalid) {
      exchange().end_status = std::make_unique<Status>(d.error());
      return End(Outcome::kTerminate, data.size());
    }
    const uint8_t tag = d.header.tag;
    if (Is(tag, FrontendTag::kTerminate)) return End(Outcome::kClose, data.size());
    c2s_remaining_ = static_cast<uint32_t>(d.header.total());
    // The request ends at a simple Query, a FunctionCall or a Sync: ReadyForQuery tells the client so.
    if (Is(tag, FrontendTag::kQuery) || Is(tag, FrontendTag::kSync) || Is(tag, FrontendTag::kFunctionCall)) {
      std::string out;
      protocol::AppendReadyForQuery(out, protocol::TransactionStatus::kIdle);
      if (!SendOwn(out, /*to_server=*/false)) return End(Outcome::kClientGone, data.size());
      TransitionTo(State::kDiscardingLast);  // its own bytes are skipped still
    }
  }
  if (state_ == State::kDiscardingLast && c2s_remaining_ == 0) TransitionTo(State::kNoServer);
  return {pos, Outcome::kNeedMore};
}

}  // namespace pgtenant::relay
