// ClientSession while active: client messages to the server (SQL judged whole by the policy engine,
// statements renamed under transaction pooling) and server messages to the client (responses
// pgtenant owes or swallows, blocked statements' errors put in place, the server given back at the
// end of a transaction). Each direction is corked: what one read forwards leaves in one write.

#include <string>
#include <utility>

#include "protocol/frame_reader.h"
#include "protocol/message_reader.h"
#include "protocol/sqlstate.h"
#include "protocol/wire.h"
#include "proxy/session/client_session.h"
#include "proxy/worker/proxy_server.h"
#include "proxy/session_wire.h"

namespace pgtenant::proxy {

namespace {

using protocol::BackendTag;
using protocol::DecodeStatus;
using protocol::FrontendTag;

// A FunctionCall is an OID and a few arguments; anything larger is refused.
constexpr uint32_t kMaxFunctionCallLength = 1 << 20;

// A string borrowed from a spare the thread keeps, so that renaming a prepared statement's Bind
// allocates nothing once the spare has grown. Borrowed on the first text() (a read without renaming
// leaves the spare alone), handed back at the end of the scope unless it grew past kMaxSpare. A
// borrow while another is out (re-entry) gets an empty string and works as before.
class Scratch {
 public:
  explicit Scratch(std::string& spare) : spare_(spare) {}
  ~Scratch() {
    if (borrowed_ && text_.capacity() <= kMaxSpare) spare_ = std::move(text_);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  std::string& text() {
    if (!borrowed_) {
      text_ = std::move(spare_);
      borrowed_ = true;
    }
    return text_;
  }

 private:
  static constexpr size_t kMaxSpare = 4096;
  std::string& spare_;
  std::string text_;
  bool borrowed_ = false;
};
thread_local std::string spare_to_server;
thread_local std::string spare_to_client;

bool IsForwardableFrontendTag(uint8_t tag) {
  switch (static_cast<FrontendTag>(tag)) {
    case FrontendTag::kBind:
    case FrontendTag::kClose:
    case FrontendTag::kCopyData:
    case FrontendTag::kCopyDone:
    case FrontendTag::kCopyFail:
    case FrontendTag::kDescribe:
    case FrontendTag::kExecute:
    case FrontendTag::kFlush:
    case FrontendTag::kFunctionCall:
    case FrontendTag::kParse:
    case FrontendTag::kQuery:
    case FrontendTag::kSync:
      return true;
    default:
      return false;
  }
}

}  // namespace

size_t ClientSession::ForwardClientMessages(std::span<const uint8_t> data) {
  // What this read forwards reaches the server in one write (Outbox::Cork).
  ServerConnection* server = server_;
  server->Cork();
  const size_t pos = ForwardCorked(data);
  if (!server->Uncork() && server_ == server) {
    OnServerLost(Status::Error(sqlstate::kConnectionFailure, "could not send data to the server"));
    return data.size();
  }
  if (server_ != nullptr && server_->HasBacklog()) Pause(kPauseBackpressure);
  return pos;
}

size_t ClientSession::ForwardCorked(std::span<const uint8_t> data) {
  size_t pos = 0;
  size_t flushed = 0;
  auto flush = [&]() -> bool {
    bool ok = pos == flushed || server_->Forward(data.subspan(flushed, pos - flushed));
    flushed = pos;
    return ok;
  };
  // Transaction pooling: what a renamed message becomes (to_server) and what pgtenant answers itself.
  Scratch server_scratch(spare_to_server), client_scratch(spare_to_client);
  while (pos < data.size()) {
    if (PassStreamed(c2s_remaining_, data.size(), pos)) continue;
    protocol::FrameDecode d = protocol::DecodeFrameHeader(data.subspan(pos), protocol::kMaxMessageLength);
    if (d.status == DecodeStatus::kNeedMoreData) break;
    uint8_t tag = d.header.tag;
    if (d.status == DecodeStatus::kInvalid) {
      flush();
      Terminate(d.error());
      return data.size();
    }
    if (!in_transaction_ && server_->IsClean()) {
      if (!AdoptLatestConfig()) return data.size();
      if (tag != static_cast<uint8_t>(FrontendTag::kTerminate) && proxy_->admin().IsPaused(route_->tenant->name)) {
        flush();
        HeldByAdmin();  // PAUSE: this transaction starts at RESUME
        break;
      }
      in_transaction_ = true;
      transaction_started_ = LoopNow();
    }
    if (!transaction_pooling_ && route_->tenant->max_transactions_per_second > 0 && server_->IsClean() &&
        tag != static_cast<uint8_t>(FrontendTag::kTerminate) && !TakeTransactionToken()) {
      break;  // throttled: the rest waits in carry until a token frees
    }
    if (tag == static_cast<uint8_t>(FrontendTag::kTerminate)) {
      flush();
      Close();
      return data.size();
    }
    if (!IsForwardableFrontendTag(tag)) {
      flush();
      Terminate(Status::Error(sqlstate::kProtocolViolation, "invalid frontend message type " + TagName(tag)));
      return data.size();
    }
    const bool sql_bearing =
        tag == static_cast<uint8_t>(FrontendTag::kQuery) || tag == static_cast<uint8_t>(FrontendTag::kParse);
    if (sql_bearing || tag == static_cast<uint8_t>(FrontendTag::kFunctionCall)) {
      if (sql_bearing && d.header.body_size() > config_->max_query_size) {
        flush();
        Terminate(Status::Error(sqlstate::kProtocolViolation,
                                "pgtenant: statement of " + std::to_string(d.header.body_size()) +
                                    " bytes exceeds limits.max_query_size (" + std::to_string(config_->max_query_size) +
                                    " bytes)",
                                "Send large values as parameters (PQexecParams) or raise limits.max_query_size."));
        return data.size();
      }
      if (!sql_bearing && d.header.body_size() > kMaxFunctionCallLength) {
        flush();
        Terminate(Status::Error(sqlstate::kProtocolViolation, "pgtenant: FunctionCall message too large"));
        return data.size();
      }
      if (data.size() - pos < d.header.total()) break;  // SQL is judged whole before it is forwarded
      const policy::SharedVerdict judged = Judge(tag, data.subspan(pos + protocol::kHeaderSize, d.header.body_size()));
      const policy::PolicyVerdict& verdict = *judged;
      ++statements_seen_;
      Metrics::TallyStatement(series_);
      if (verdict.allowed && sql_bearing && config_->audit.statements && proxy_->auditing()) {
        policy::AuditEvent event = NewAuditEvent(policy::AuditEventType::kStatement);
        event.fields = {{"fingerprint", verdict.fingerprint}, {"statement", verdict.normalized}};
        proxy_->Audit(std::move(event));
      }
      if (!verdict.allowed) {
        if (!flush() || !ForwardBlocked(tag, verdict)) {
          OnServerLost(Status::Error(sqlstate::kConnectionFailure, "could not send data to the server"));
          return data.size();
        }
        pos += d.header.total();
        flushed = pos;
        continue;
      }
    }
    if (tag == static_cast<uint8_t>(FrontendTag::kQuery) || tag == static_cast<uint8_t>(FrontendTag::kSync) ||
        tag == static_cast<uint8_t>(FrontendTag::kFunctionCall))
      ++batches_sent_;
    if (transaction_pooling_) {
      std::string& to_server = server_scratch.text();
      std::string& to_client = client_scratch.text();
      to_server.clear();
      to_client.clear();
      size_t consumed = 0;
      size_t stream_rest = 0;
      Status failure;
      Rewrite r = RewriteForTransactionPooling(data.subspan(pos), d.header, to_server, to_client, consumed, stream_rest,
                                               failure);
      if (r == Rewrite::kNeedMore) break;
      if (r == Rewrite::kFailed) {
        // What came before it in this read goes on first (as PostgreSQL would run it), then the
        // session ends; Terminate gives the server back, so nothing may touch server_ after it.
        flush();
        Terminate(failure);
        return data.size();
      }
      if (r == Rewrite::kRewritten) {
        server_->NoteFrontendMessage(static_cast<FrontendTag>(tag));
        if (!flush() || !server_->Send(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(to_server.data()),
                                                                  to_server.size()))) {
          OnServerLost(Status::Error(sqlstate::kConnectionFailure, "could not send data to the server"));
          return data.size();
        }
        if (!to_client.empty() && !Send(to_client)) return data.size();
        pos += consumed;
        flushed = pos;
        c2s_remaining_ = stream_rest;
        continue;
      }
      if (!to_client.empty()) {
        flush();
        if (!Send(to_client)) return data.size();
      }
    }
    if (sql_bearing || tag == static_cast<uint8_t>(FrontendTag::kFunctionCall)) {
      server_->NoteFrontendMessage(static_cast<FrontendTag>(tag));
      pos += d.header.total();
      continue;
    }
    server_->NoteFrontendMessage(static_cast<FrontendTag>(tag));
    c2s_remaining_ = d.header.total();
  }
  if (!flush()) {
    OnServerLost(Status::Error(sqlstate::kConnectionFailure, "could not send data to the server"));
    return data.size();
  }
  return pos;
}

size_t ClientSession::OnServerBytes(std::span<const uint8_t> data) {
  // What this read brings goes to the client in one write, swallowed and synthesized parts and all.
  outbox_.Cork();
  const size_t pos = ForwardServerMessages(data);
  if (!outbox_.Uncork()) {
    Close();
    return data.size();
  }
  if (outbox_.HasBacklog() && server_ != nullptr) server_->PauseReading();
  return pos;
}

size_t ClientSession::ForwardServerMessages(std::span<const uint8_t> data) {
  size_t pos = 0;
  size_t flushed = 0;
  while (pos < data.size()) {
    if (PassStreamed(s2c_remaining_, data.size(), pos)) continue;
    protocol::FrameDecode d = protocol::DecodeFrameHeader(data.subspan(pos), protocol::kMaxMessageLength);
    if (d.status == DecodeStatus::kNeedMoreData) break;
    if (d.status == DecodeStatus::kInvalid) {
      if (pos > flushed) outbox_.Forward(data.subspan(flushed, pos - flushed));
      ServerConnection* server = server_;
      server_ = nullptr;
      server->Unlink();
      server->Close();
      Terminate(Status::Error(sqlstate::kProtocolViolation, "pgtenant: server sent an invalid message"));
      return data.size();
    }
    uint8_t tag = d.header.tag;
    bool queued = transaction_pooling_ && exchange_ != nullptr && exchange_->responses.Completes(tag);
    bool substitute = tag == static_cast<uint8_t>(BackendTag::kErrorResponse) && HasBlockedBatch() &&
                      exchange_->blocked_batches.front().batch == batches_done_ &&
                      !exchange_->blocked_batches.front().answered;
    if (queued || substitute || tag == static_cast<uint8_t>(BackendTag::kReadyForQuery) ||
        tag == static_cast<uint8_t>(BackendTag::kParameterStatus)) {
      if (data.size() - pos < d.header.total()) break;
      auto body = data.subspan(pos + protocol::kHeaderSize, d.header.body_size());
      bool swallow = queued && exchange_->responses.OnServerMessage(tag, server_->statements());
      if (substitute) {
        // The marker failed on the server exactly where the blocked statement would have: the
        // client gets pgtenant's verdict in its place.
        if ((pos > flushed && !outbox_.Forward(data.subspan(flushed, pos - flushed))) ||
            !outbox_.Send(exchange_->blocked_batches.front().error)) {
          Close();
          return data.size();
        }
        exchange_->blocked_batches.front().answered = true;
        swallow = false;
        flushed = pos + d.header.total();
      }
      if (swallow) {
        if (pos > flushed && !outbox_.Forward(data.subspan(flushed, pos - flushed))) {
          Close();
          return data.size();
        }
        flushed = pos + d.header.total();
      }
      pos += d.header.total();
      if (queued && exchange_->responses.SyntheticDue()) {
        std::string synthetic;
        exchange_->responses.DrainSynthetic(synthetic);
        if ((pos > flushed && !outbox_.Forward(data.subspan(flushed, pos - flushed))) || !outbox_.Send(synthetic)) {
          Close();
          return data.size();
        }
        flushed = pos;
      }
      if (tag != static_cast<uint8_t>(BackendTag::kReadyForQuery) &&
          tag != static_cast<uint8_t>(BackendTag::kParameterStatus))
        continue;
      if (tag == static_cast<uint8_t>(BackendTag::kParameterStatus)) {
        server_->NoteParameterStatus(body);
        continue;
      }
      auto st = protocol::ParseReadyForQuery(body);
      server_->NoteReadyForQuery(st.ok() ? *st : protocol::TransactionStatus::kFailed);
      ++batches_done_;
      while (HasBlockedBatch() && exchange_->blocked_batches.front().batch < batches_done_)
        exchange_->blocked_batches.pop_front();
      if (in_transaction_ && server_->IsClean()) ReportTransactionEnd();
      if (shutdown_requested_ && server_->IsClean()) {
        if (pos > flushed) outbox_.Forward(data.subspan(flushed, pos - flushed));
        Terminate(Status::Error(sqlstate::kAdminShutdown, "terminating connection due to administrator command"));
        return data.size();
      }
      if (transaction_pooling_ && server_->IsClean() && c2s_remaining_ == 0 && !AwaitsResponses()) {
        // The transaction is over and nothing is in flight: the server goes back to the pool.
        if (!outbox_.Forward(data.subspan(flushed, pos - flushed))) {
          Close();
          return data.size();
        }
        bytes_out_ += pos;
        ReleaseServer();
        Resume(kPauseBackpressure);
        if (!carry_.empty() && paused_ == 0) HandleBytes({});
        return pos;
      }
      continue;
    }
    s2c_remaining_ = d.header.total();
  }
  if (pos > flushed && !outbox_.Forward(data.subspan(flushed, pos - flushed))) {
    Close();
    return data.size();
  }
  bytes_out_ += pos;
  return pos;
}

}  // namespace pgtenant::proxy
