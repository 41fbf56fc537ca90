// PolicyVerdict: what the policy engine decided about one statement, and the one type that carries it
// from the parser through the shared cache and a loop's memo to the session.
//
// Verdicts are immutable once made and handed out as shared_ptr<const PolicyVerdict>: the cache and the
// memos hold the same object, and a session that keeps its handle keeps the verdict alive whatever the
// cache evicts or whichever loop the session moves to.
#pragma once

#include <memory>
#include <string>

#include "policy/sql_parser.h"
#include "protocol/session_effect.h"

namespace pgtenant::policy {

struct PolicyVerdict {
  bool allowed = true;
  std::string rule_id;      // stable id of the first rule that blocked, e.g. "context.tenant_setting"
  std::string reason;       // one sentence a person can act on; never holds literal values from the SQL
  std::string fingerprint;  // of the whole text (statement_digest.h), 16 hex digits; empty if unparseable
  // The text with every literal replaced by $n and comments dropped (statement_digest.h); empty if
  // unparseable or if that cannot be vouched for (the fingerprint alone then names the statement).
  // Never holds a literal.
  std::string normalized;
  // Rule parse.error when the parser refused the text: PostgreSQL's own error for it, which the client
  // gets in place of BlockedMessage. Quotes the text: never cached, audited or logged.
  std::shared_ptr<const SyntaxError> syntax_error;
  protocol::SessionEffects effects;  // what the allowed statements do to the session (SET, RESET ...), in order
  // Not empty: the text the server gets in the client's (LISTEN/NOTIFY channels put in the tenant's
  // namespace, policy/channel_namespace.h). Such a verdict holds for its own text only: not cached.
  std::string rewritten;
};

// A verdict that is shared, never copied: copying the handle costs an atomic increment, no allocation.
using SharedVerdict = std::shared_ptr<const PolicyVerdict>;

// A blocked verdict without fingerprint or normalized text (allocates: not for the cached path).
SharedVerdict BlockedVerdict(std::string rule_id, std::string reason);

// The client-facing message for a blocked verdict: "pgtenant: blocked by rule <id>: <reason>"
// (sent with SQLSTATE 42501). A verdict with a syntax_error is reported with that error instead.
std::string BlockedMessage(const PolicyVerdict& verdict);

}  // namespace pgtenant::policy
