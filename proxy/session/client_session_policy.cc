// ClientSession and the policy engine: the verdict on each Query, Parse and FunctionCall the relay
// asks about, and what a blocked one is reported as (the relay puts its error in place).
#include <cstring>
#include <string>

#include "policy/policy_engine.h"
#include "protocol/message_builder.h"
#include "protocol/sqlstate.h"
#include "protocol/wire.h"
#include "proxy/session/client_session.h"
#include "proxy/telemetry/log.h"

namespace pgtenant::proxy {

namespace {
using protocol::FrontendTag;
}  // namespace

policy::SharedVerdict ClientSession::Judge(uint8_t tag, std::span<const uint8_t> body) {
  if (tag == static_cast<uint8_t>(FrontendTag::kFunctionCall)) return host_->policy().InspectFunctionCall(session_policy());
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
  return host_->policy().Inspect(host_->verdict_memo(), session_policy(), sql,
                                  tag == static_cast<uint8_t>(FrontendTag::kQuery) ? policy::StatementSource::kSimpleQuery
                                                                                    : policy::StatementSource::kParse);
}

bool ClientSession::JudgeStatement(uint8_t tag, std::span<const uint8_t> body, std::string& blocked_error,
                                   protocol::SessionEffects& effects, std::string& replacement) {
  // The verdict is used here and nowhere else: nothing of it reaches the relay but allowed-or-error.
  const policy::SharedVerdict judged = Judge(tag, body);
  const policy::PolicyVerdict& verdict = *judged;
  ++statements_seen_;
  const bool sql_bearing =
      tag == static_cast<uint8_t>(FrontendTag::kQuery) || tag == static_cast<uint8_t>(FrontendTag::kParse);
  if (verdict.allowed) {
    effects = verdict.effects;  // SET, RESET, DISCARD ALL...: the relay keeps the client's session
    if (!verdict.rewritten.empty()) Rewrite(tag, body, verdict.rewritten, replacement);
    if (sql_bearing && config_->audit.statements && host_->auditing()) {
      policy::AuditEvent event = NewAuditEvent(policy::AuditEventType::kStatement);
      event.fields = {{"fingerprint", verdict.fingerprint}, {"statement", verdict.normalized}};
      host_->Audit(std::move(event));
    }
    return true;
  }
  ReportBlocked(tag, verdict, blocked_error);
  return false;
}

void ClientSession::Rewrite(uint8_t tag, std::span<const uint8_t> body, const std::string& sql, std::string& out) {
  // A Query is its text; a Parse is its name, its text and what follows (parameter types).
  const std::string_view message(reinterpret_cast<const char*>(body.data()), body.size());
  size_t start = 0;
  if (tag == static_cast<uint8_t>(FrontendTag::kParse)) start = message.find('\0') + 1;  // Judge found both NULs
  const size_t end = message.find('\0', start);
  out.reserve(body.size() + sql.size());
  out.append(message.substr(0, start));
  out.append(sql);
  out.append(message.substr(end));
}

void ClientSession::ReportBlocked(uint8_t tag, const policy::PolicyVerdict& verdict, std::string& error) {
  if (statements_blocked_ != UINT32_MAX) ++statements_blocked_;
  host_->metrics().CountBlocked(route_->tenant->name, verdict.rule_id);
  // The verdict's reason never holds a literal of the statement (policy_verdict.h); the fingerprint
  // names the statement for the audit trail.
  LogInfo("policy", "blocked by rule " + verdict.rule_id + ": " + verdict.reason,
          {{"tenant", route_->tenant->name}, {"user", login().username}, {"rule", verdict.rule_id},
           {"fingerprint", verdict.fingerprint}});
  if (host_->auditing()) {
    policy::AuditEvent event = NewAuditEvent(policy::AuditEventType::kStatementBlocked);
    event.fields = {{"rule", verdict.rule_id},
                    {"reason", verdict.reason},
                    {"fingerprint", verdict.fingerprint},
                    {"statement", verdict.normalized},
                    {"protocol", tag == static_cast<uint8_t>(FrontendTag::kQuery)   ? "simple"
                                 : tag == static_cast<uint8_t>(FrontendTag::kParse) ? "extended"
                                                                                    : "function_call"}};
    host_->Audit(std::move(event));
  }
  protocol::ErrorFields e;
  e.severity = "ERROR";
  if (verdict.syntax_error != nullptr) {
    // SQL the parser cannot read gets what PostgreSQL would have answered: its message, SQLSTATE,
    // hint and Position (psql's "LINE 1:" and caret). The rule is in the audit event and the log;
    // the client is told of pgtenant only when its server reads another grammar than the parser.
    const policy::SyntaxError& syntax = *verdict.syntax_error;
    e.sqlstate = syntax.sqlstate;
    e.message = syntax.message;
    e.hint = syntax.hint;
    e.position = syntax.position;
    e.detail = ParserVersionNote();
  } else {
    // SQL that does not parse keeps PostgreSQL's syntax_error code; everything else is 42501.
    e.sqlstate =
        std::string(verdict.rule_id == "parse.error" ? sqlstate::kSyntaxError : sqlstate::kInsufficientPrivilege);
    e.message = policy::BlockedMessage(verdict);
  }
  protocol::AppendErrorResponse(error, e);
}

std::string ClientSession::ParserVersionNote() const {
  if (server_ == nullptr) return std::string();
  for (const auto& [name, value] : server_->params()) {
    if (name == "server_version") return policy::ParserVersionDetail(value);
  }
  return std::string();
}

}  // namespace pgtenant::proxy
