// ClientSession and the policy engine: the verdict on each Query, Parse and FunctionCall, and what
// goes to the server in place of a blocked statement.
#include <cstring>
#include <string>

#include "policy/policy_engine.h"
#include "protocol/message_builder.h"
#include "protocol/sqlstate.h"
#include "protocol/wire.h"
#include "proxy/session/client_session.h"
#include "proxy/telemetry/log.h"
#include "proxy/worker/proxy_server.h"

namespace pgtenant::proxy {

namespace {
using protocol::FrontendTag;

// Stands in for a blocked statement on the server: it cannot parse, so the server reports an
// error in the statement's place (see ForwardBlocked).
constexpr const char* kBlockedMarker = "pgtenant blocked this statement";
}  // namespace

policy::SharedVerdict ClientSession::Judge(uint8_t tag, std::span<const uint8_t> body) {
  if (tag == static_cast<uint8_t>(FrontendTag::kFunctionCall)) return proxy_->policy().InspectFunctionCall(session_policy_);
  // The offset of the first NUL at or after `from`, body.size() if there is none (memchr: the
  // statement is scanned on every Query and Parse).
  auto nul_from = [&](size_t from) -> size_t {
    if (from >= body.size()) return body.size();
    const void* nul = std::memchr(body.data() + from, 0, body.size() - from);
    return nul == nullptr ? body.size() : static_cast<size_t>(static_cast<const uint8_t*>(nul) - body.data());
  };
  size_t start = 0;
  if (tag == static_cast<uint8_t>(FrontendTag::kParse)) start = nul_from(0) + 1;  // statement name first
  const size_t end = nul_from(start);
  if (start > body.size() || end >= body.size()) {
    static const policy::SharedVerdict kMalformed =
        policy::BlockedVerdict("parse.error", "the message does not hold a NUL-terminated statement");
    return kMalformed;
  }
  std::string_view sql(reinterpret_cast<const char*>(body.data()) + start, end - start);
  return proxy_->policy().Inspect(proxy_->verdict_memo(), session_policy_, sql,
                                  tag == static_cast<uint8_t>(FrontendTag::kQuery) ? policy::StatementSource::kSimpleQuery
                                                                                    : policy::StatementSource::kParse);
}

bool ClientSession::ForwardBlocked(uint8_t tag, const policy::PolicyVerdict& verdict) {
  ++statements_blocked_;
  proxy_->metrics().CountBlocked(route_->tenant->name, verdict.rule_id);
  LogInfo("policy", "tenant " + route_->tenant->name + " user " + login().username + ": blocked by rule " + verdict.rule_id +
                        " (fingerprint " + verdict.fingerprint + ")");
  if (proxy_->auditing()) {
    policy::AuditEvent event = NewAuditEvent(policy::AuditEventType::kStatementBlocked);
    event.fields = {{"rule", verdict.rule_id},
                    {"reason", verdict.reason},
                    {"fingerprint", verdict.fingerprint},
                    {"statement", verdict.normalized},
                    {"protocol", tag == static_cast<uint8_t>(FrontendTag::kQuery)   ? "simple"
                                 : tag == static_cast<uint8_t>(FrontendTag::kParse) ? "extended"
                                                                                    : "function_call"}};
    proxy_->Audit(std::move(event));
  }
  // The statement never reaches the server. In its place goes a marker that fails to parse, so
  // the server answers with an error exactly where the statement's answer belongs (after what
  // is in flight, skipping to Sync, aborting an open transaction) and that error is replaced by
  // pgtenant's verdict on the way back.
  protocol::ErrorFields e;
  e.severity = "ERROR";
  // SQL that does not parse keeps PostgreSQL's syntax_error code; everything else is 42501.
  e.sqlstate = std::string(verdict.rule_id == "parse.error" ? sqlstate::kSyntaxError : sqlstate::kInsufficientPrivilege);
  e.message = policy::BlockedMessage(verdict);
  BlockedBatch blocked;
  blocked.batch = batches_sent_;
  protocol::AppendErrorResponse(blocked.error, e);
  exchange().blocked_batches.push_back(std::move(blocked));

  std::string marker;
  std::string ignored;
  if (tag == static_cast<uint8_t>(FrontendTag::kParse)) {
    protocol::MessageBuilder(marker).Begin(FrontendTag::kParse).CString("").CString(kBlockedMarker).Int16(0).End();
    server_->NoteFrontendMessage(FrontendTag::kParse);
    if (transaction_pooling_) exchange().responses.Push(ResponseQueue::Expect::kParse, ResponseQueue::Disposition::kForward, ignored);
  } else {
    protocol::AppendQuery(marker, kBlockedMarker);  // a FunctionCall, too, ends with ReadyForQuery
    server_->NoteFrontendMessage(FrontendTag::kQuery);
    ++batches_sent_;
    if (transaction_pooling_) exchange().responses.Push(ResponseQueue::Expect::kQuery, ResponseQueue::Disposition::kForward, ignored);
  }
  return server_->Send(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(marker.data()), marker.size()));
}

}  // namespace pgtenant::proxy
