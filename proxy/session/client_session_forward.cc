// ClientSession while active: client bytes and server bytes through the relay (relay/relay.h), and
// what it decided done here: terminate, close, give the server back, hold, pause a side that
// cannot keep up. Each direction is corked: what one read forwards leaves in one write.
#include <optional>
#include <string>
#include <utility>

#include "policy/channel_namespace.h"
#include "protocol/sqlstate.h"
#include "proxy/session/client_session.h"

namespace pgtenant::proxy {

namespace {
using Outcome = relay::Relay::Outcome;
}  // namespace

size_t ClientSession::ForwardClientMessages(std::span<const uint8_t> data) {
  // No server: the rest of a rejected request is skipped (the relay answers its end itself).
  ServerConnection* server = server_;
  if (server != nullptr) server->Cork();  // what this read forwards reaches the server in one write
  const uint64_t requests_sent = relay_.requests_sent();
  const relay::Relay::Step step = relay_.OnClientBytes(data);
  // Query latency runs from the first request sent while none was in flight (metrics.h).
  if (requests_sent == relay_.requests_done() && relay_.requests_sent() != requests_sent) request_started_ = LoopNow();
  const bool sent = server == nullptr || server->Uncork();
  if (!sent && server_ == server && (step.outcome == Outcome::kNeedMore || step.outcome == Outcome::kHold ||
                                     step.outcome == Outcome::kAwaitContext)) {
    OnServerLost(Status::Error(sqlstate::kConnectionFailure, "could not send data to the server"));
    return data.size();
  }
  switch (step.outcome) {
    case Outcome::kNeedMore:
      break;
    case Outcome::kHold:
      // PAUSE under transaction pooling: a held client keeps no server (as in PgBouncer).
      if (admin_held_ && transaction_pooling_ && server_ != nullptr && server_->IsClean()) ReleaseServer();
      return step.consumed;
    case Outcome::kAwaitContext:
      // The rest waits in carry until the server has answered the tenant context (OnServerBytes).
      Pause(kPauseContext);
      return step.consumed;
    case Outcome::kTerminate:
      Terminate(relay_.end_status());
      return data.size();
    case Outcome::kClose:
    case Outcome::kClientGone:
      Close();
      return data.size();
    case Outcome::kReleaseServer:
      ReleaseServer();  // it was held only while an oversize message was skipped
      return step.consumed;
    case Outcome::kServerGone:
    case Outcome::kServerBroken:
    case Outcome::kServerEnded:
      OnServerLost(Status::Error(sqlstate::kConnectionFailure, "could not send data to the server"));
      return data.size();
  }
  if (server_ != nullptr && server_->HasBacklog()) Pause(kPauseBackpressure);
  return step.consumed;
}

size_t ClientSession::OnServerBytes(std::span<const uint8_t> data) {
  // What this read brings goes to the client in one write, swallowed and synthesized parts and all.
  outbox_.Cork();
  const uint64_t requests_done = relay_.requests_done();
  const uint32_t completed = relay_.statements_completed();
  const uint32_t failed = relay_.statements_failed();
  const relay::Relay::Step step = relay_.OnServerBytes(data);
  // While active, state_since_ is the server's last ReadyForQuery: idle timeouts count from it.
  std::optional<double> query_seconds;
  if (relay_.requests_done() != requests_done) {
    state_since_ = LoopNow();
    if (relay_.requests_done() == relay_.requests_sent())
      query_seconds = std::chrono::duration<double>(state_since_ - request_started_).count();
  }
  if (query_seconds || relay_.statements_completed() != completed || relay_.statements_failed() != failed)
    Metrics::TallyAnswers(tally_, relay_.statements_completed() - completed, relay_.statements_failed() - failed,
                          query_seconds);
  switch (step.outcome) {
    case Outcome::kNeedMore:
      CountBytes(bytes_out_, bytes_out_untold_, step.consumed);
      break;
    case Outcome::kReleaseServer:
      // The transaction is over and nothing is in flight: the server goes back to the pool, and
      // what the client sent meanwhile goes on (with the next server).
      CountBytes(bytes_out_, bytes_out_untold_, step.consumed);
      ReleaseServer();
      Resume(kPauseBackpressure);
      if (!carry_.empty() && paused_ == 0) HandleBytes({});
      break;  // and uncork: the client gets this read's answers in one write
    case Outcome::kTerminate:
      Terminate(relay_.end_status());
      return data.size();
    case Outcome::kServerBroken: {
      ServerConnection* server = server_;
      server_ = nullptr;
      relay_.DetachServer();
      server->Unlink();
      server->Close();
      Terminate(relay_.end_status());
      return data.size();
    }
    case Outcome::kServerEnded:
      ServerEnded();
      return data.size();
    case Outcome::kHold:
    case Outcome::kAwaitContext:
    case Outcome::kClose:
    case Outcome::kClientGone:
    case Outcome::kServerGone:
      Close();
      return data.size();
  }
  if (!outbox_.Uncork()) {
    Close();
    return data.size();
  }
  if (outbox_.HasBacklog() && server_ != nullptr) server_->PauseReading();
  // The tenant context is set: the client's requests after its first one go on.
  if ((paused_ & kPauseContext) != 0 && !relay_.awaiting_context()) Resume(kPauseContext);
  return step.consumed;
}

void ClientSession::ReportTransactionEnd() {
  Metrics::TallyTransaction(tally_, std::chrono::duration<double>(LoopNow() - transaction_started_).count(),
                            bytes_in_untold_, bytes_out_untold_);
  bytes_in_untold_ = bytes_out_untold_ = 0;
}

relay::Admission ClientSession::AdmitTransaction(bool starts_transaction, bool terminating) {
  relay::Admission admission;
  if (starts_transaction) {
    if (Status why = AdoptLatestConfig(); !why.ok()) {
      admission.kind = relay::Admission::Kind::kRefuse;
      admission.why = std::move(why);
      return admission;
    }
    relay_.set_limits(RelayLimits());
    if (!terminating && HeldByAdmin()) {  // PAUSE: this transaction starts at RESUME
      admission.kind = relay::Admission::Kind::kHold;
      return admission;
    }
    transaction_started_ = LoopNow();
  }
  // Session pooling with a transaction rate: the rest waits in carry until a token frees.
  if (!terminating && !transaction_pooling_ && route_->tenant->max_transactions_per_second > 0 &&
      !TakeTransactionToken())
    admission.kind = relay::Admission::Kind::kHold;
  return admission;
}

Status ClientSession::OnTransactionEnd() {
  ReportTransactionEnd();
  if (shutdown_requested_)
    return Status::Error(sqlstate::kAdminShutdown, "terminating connection due to administrator command");
  return Status();
}

void ClientSession::OnServerParameterStatus(std::span<const uint8_t> body) {
  server_->NoteParameterStatus(body);
}

int32_t ClientSession::NotifierPidForClient(int32_t server_pid) {
  return server_ != nullptr && server_pid == server_->backend_pid() ? cancel_pid_ : server_pid;
}

std::string_view ClientSession::SharedContextSql() const {
  return route_ != nullptr && route_->shared_pool ? std::string_view(route_->context_sql) : std::string_view();
}

std::string ClientSession::ChannelNamespace() const {
  return route_ != nullptr && route_->tenant != nullptr ? policy::ChannelNamespace(*route_->tenant) : std::string();
}

relay::Relay::Limits ClientSession::RelayLimits() const {
  return {config_->max_query_size, config_->max_function_call_size};
}

}  // namespace pgtenant::proxy
