// PolicyEngine: cache lookup, parsing, the rules (tree_inspector.h), fingerprint and normalized text.
#include "policy/policy_engine.h"

#include "policy/cache_key.h"

#include <pg_query.h>

#include <cstdio>

#include "policy/effective_policy.h"
#include "policy/json_tree.h"
#include "policy/tree_inspector.h"

namespace pgtenant::policy {

namespace {

// Everything a verdict depends on besides the text. The config's address stands for the snapshot
// (its tenants' schemas, tenant_setting and policy sections); see PolicyEngine::ClearCache.
std::string PolicyClass(const SessionPolicy& session) {
  char address[2 + 2 * sizeof(void*) + 1];
  std::snprintf(address, sizeof(address), "%p", static_cast<const void*>(session.config));
  std::string key = address;
  key += '|';
  key += session.tenant != nullptr ? session.tenant->name : std::string();
  key += '|';
  key += config::ToString(session.role);
  key += session.transaction_pooling ? "|tx" : "|session";
  key += session.shared_pool ? "|shared" : "|own";
  return key;
}

PolicyVerdict Blocked(std::string rule_id, std::string reason) {
  PolicyVerdict verdict;
  verdict.allowed = false;
  verdict.rule_id = std::move(rule_id);
  verdict.reason = std::move(reason);
  return verdict;
}

// The parser's message without the token it quotes ("at or near ..."): the token may be a data value,
// and reasons go into audit events, which never hold data values.
std::string ParseErrorReason(const PgQueryError& error) {
  std::string message = error.message != nullptr ? error.message : "syntax error";
  const size_t near = message.find(" at or near ");
  if (near != std::string::npos) message.resize(near);
  const size_t at_end = message.find(" at end of input");
  if (at_end != std::string::npos) message.resize(at_end);
  return "the statement cannot be parsed (" + message + " at position " + std::to_string(error.cursorpos) +
         "); pgtenant forwards only SQL it can inspect";
}

void AddFingerprintAndNormalized(const std::string& text, PolicyVerdict& verdict) {
  PgQueryFingerprintResult fingerprint = pg_query_fingerprint(text.c_str());
  if (fingerprint.error == nullptr && fingerprint.fingerprint_str != nullptr) {
    verdict.fingerprint = fingerprint.fingerprint_str;
  }
  pg_query_free_fingerprint_result(fingerprint);
  PgQueryNormalizeResult normalized = pg_query_normalize(text.c_str());
  if (normalized.error == nullptr && normalized.normalized_query != nullptr) {
    verdict.normalized = normalized.normalized_query;
  }
  pg_query_free_normalize_result(normalized);
}

CachedVerdict ToCached(const PolicyVerdict& v) {
  return CachedVerdict{v.allowed, v.rule_id, v.reason, v.fingerprint, v.normalized};
}

PolicyVerdict FromCached(CachedVerdict v) {
  return PolicyVerdict{v.allowed, std::move(v.rule_id), std::move(v.reason), std::move(v.fingerprint),
                       std::move(v.normalized)};
}

}  // namespace

PolicyEngine::PolicyEngine(size_t cache_capacity_bytes) : cache_(cache_capacity_bytes) {}

PolicyVerdict PolicyEngine::Inspect(const SessionPolicy& session, std::string_view sql, StatementSource source) {
  (void)source;  // the same rules hold for both; a Parse message with several statements fails in the server
  if (session.config == nullptr) return Blocked("parse.error", "internal error: the session has no configuration");
  const std::string policy_class = PolicyClass(session);
  // Statements that differ only in numeric literals share a verdict (policy/cache_key.h), so
  // `WHERE aid = 12345` is parsed once, not once per value.
  const std::string key = FoldNumericLiterals(sql);
  if (std::optional<CachedVerdict> cached = cache_.Lookup(policy_class, key)) return FromCached(std::move(*cached));

  const std::string text(sql);  // libpg_query wants a NUL-terminated string
  PgQueryParseResult parsed = pg_query_parse(text.c_str());
  if (parsed.error != nullptr) {
    PolicyVerdict verdict = Blocked("parse.error", ParseErrorReason(*parsed.error));
    pg_query_free_parse_result(parsed);
    return verdict;  // not cached: refusing it again is cheap
  }
  Result<JsonValue> tree = ParseJson(parsed.parse_tree != nullptr ? parsed.parse_tree : "{}");
  pg_query_free_parse_result(parsed);
  if (!tree.ok()) {
    return Blocked("parse.error", "the statement is nested too deeply to inspect; pgtenant forwards only SQL it "
                                  "can inspect");
  }

  InspectionContext context;
  context.config = session.config;
  context.tenant = session.tenant;
  context.role = session.role;
  context.session_state_matters = session.transaction_pooling || session.shared_pool;
  context.policy = ResolveEffectivePolicy(*session.config, session.tenant, session.role);
  TreeInspector inspector(context);
  PolicyVerdict verdict;
  if (std::optional<RuleHit> hit = inspector.Inspect(*tree)) verdict = Blocked(hit->rule_id, hit->reason);
  AddFingerprintAndNormalized(text, verdict);
  cache_.Insert(policy_class, key, ToCached(verdict));
  return verdict;
}

PolicyVerdict PolicyEngine::InspectFunctionCall(const SessionPolicy& session) {
  if (session.config != nullptr &&
      !ResolveEffectivePolicy(*session.config, session.tenant, session.role).Enabled("protocol.function_call")) {
    return PolicyVerdict{};
  }
  return Blocked("protocol.function_call",
                 "FunctionCall messages call functions by OID, around the SQL parser; use SELECT f(...) instead");
}

PolicyEngine::CacheStats PolicyEngine::cache_stats() const {
  const VerdictCache::Stats stats = cache_.stats();
  return CacheStats{stats.hits, stats.misses, stats.entries, stats.bytes};
}

void PolicyEngine::ClearCache() { cache_.Clear(); }

std::string BlockedMessage(const PolicyVerdict& verdict) {
  return "pgtenant: blocked by rule " + verdict.rule_id + ": " + verdict.reason;
}

}  // namespace pgtenant::policy
