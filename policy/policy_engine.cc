// PolicyEngine: cache lookup, one parse, the rules (tree_inspector.h), fingerprint and normalized text
// (statement_digest.h) from the same tree.
#include "policy/policy_engine.h"

#include "policy/cache_key.h"

#include <charconv>
#include <cstdint>
#include <memory>

#include "policy/channel_namespace.h"
#include "policy/effective_policy.h"
#include "policy/sql_parser.h"
#include "policy/statement_digest.h"
#include "policy/tree_inspector.h"

namespace pgtenant::policy {

namespace {

// Everything a verdict depends on besides the text. The config's address stands for the snapshot
// (its tenants' schemas, tenant_setting and policy sections); see PolicyEngine::ClearCache.
std::string PolicyClass(const SessionPolicy& session) {
  char address[2 * sizeof(uintptr_t)];
  char* const end =
      std::to_chars(address, address + sizeof address, reinterpret_cast<uintptr_t>(session.config), 16).ptr;
  std::string key(address, end);
  key += '|';
  key += session.tenant != nullptr ? session.tenant->name : std::string();
  key += '|';
  key += config::ToString(session.role);
  key += session.transaction_pooling ? "|tx" : "|session";
  key += session.shared_pool ? "|shared" : "|own";
  return key;
}

// The audit reason for text the parser refused: its message without the token it quotes ("at or
// near ..."): the token may be a data value, and reasons go into audit events, which never hold data
// values. (The client gets the whole message: it is the client's own text.)
std::string ParseErrorReason(const SyntaxError& error) {
  std::string message = error.message;
  const size_t near = message.find(" at or near ");
  if (near != std::string::npos) message.resize(near);
  const size_t at_end = message.find(" at end of input");
  if (at_end != std::string::npos) message.resize(at_end);
  return "the statement cannot be parsed (" + message + " at position " + std::to_string(error.position) +
         "); pgtenant forwards only SQL it can inspect";
}

// True for a verdict that holds for its own text only: one carrying a value SET takes (a number,
// which the key folds), or the text rewritten (its edits are places in this text).
bool HoldsForItsTextOnly(const PolicyVerdict& verdict) {
  if (!verdict.rewritten.empty()) return true;
  for (const protocol::SessionEffect& effect : verdict.effects)
    if (effect.kind == protocol::SessionEffect::Kind::kSet) return true;
  return false;
}

std::atomic<uint64_t> next_instance{1};

}  // namespace

PolicyEngine::PolicyEngine(size_t cache_capacity_bytes)
    : cache_(cache_capacity_bytes), instance_(next_instance.fetch_add(1)) {}

SharedVerdict PolicyEngine::Inspect(VerdictMemo& memo, const SessionPolicy& session, std::string_view sql,
                                   StatementSource source) {
  (void)source;  // the same rules hold for both; a Parse message with several statements fails in the server
  if (session.config == nullptr) {
    static const SharedVerdict kNoConfig =
        BlockedVerdict("parse.error", "internal error: the session has no configuration");
    return kNoConfig;
  }
  // Statements that differ only in numeric literals share a verdict (policy/cache_key.h), so
  // `WHERE aid = 12345` is parsed once, not once per value.
  std::string& key = memo.text_buffer();
  FoldNumericLiterals(sql, key);
  const VerdictMemo::Key memo_key{instance_, epoch_.load(std::memory_order_acquire), &session, key};
  if (SharedVerdict remembered = memo.Find(memo_key)) {
    memo_hits_[memo.counter_shard() % kHitShards].hits.fetch_add(1, std::memory_order_relaxed);
    return remembered;
  }
  SharedVerdict verdict = InspectUncached(session, sql, key);
  // Text the parser could not read is not cached (refusing it again is cheap), so not remembered
  // either; nor are verdicts that hold for their own text only (see InspectUncached).
  if (verdict->fingerprint.empty() || HoldsForItsTextOnly(*verdict)) return verdict;
  return memo.Remember(memo_key, *verdict);
}

SharedVerdict PolicyEngine::InspectUncached(const SessionPolicy& session, std::string_view sql, const std::string& key) {
  const std::string policy_class = PolicyClass(session);
  if (SharedVerdict cached = cache_.Lookup(policy_class, key)) return cached;

  const std::string text(sql);  // libpg_query wants a NUL-terminated string
  ParsedSql parsed = ParseSql(text);
  if (parsed.error.has_value()) {
    auto verdict = std::make_shared<PolicyVerdict>();
    verdict->allowed = false;
    verdict->rule_id = "parse.error";
    verdict->reason = ParseErrorReason(*parsed.error);
    verdict->syntax_error = std::make_shared<const SyntaxError>(std::move(*parsed.error));
    return verdict;  // not cached: refusing it again is cheap, and the error quotes the text
  }
  if (parsed.tree.state() == ParseTree::State::kTooDeep) {
    return BlockedVerdict("parse.error", "the statement is nested too deeply to inspect; pgtenant forwards only SQL it "
                                         "can inspect");
  }
  if (!parsed.tree.ok()) {
    return BlockedVerdict("parse.unknown_node", "the parse tree holds a field pgtenant does not know or cannot read; "
                                                "pgtenant forwards only SQL it can inspect");
  }
  const PgQuery__ParseResult& tree = parsed.tree.result();

  InspectionContext context;
  context.config = session.config;
  context.tenant = session.tenant;
  context.role = session.role;
  context.session_state_matters = session.transaction_pooling || session.shared_pool;
  context.shared_pool = session.shared_pool;
  context.text = text;
  const std::string channel_namespace = session.tenant != nullptr ? ChannelNamespace(*session.tenant) : std::string();
  context.channel_namespace = channel_namespace;
  context.policy = ResolveEffectivePolicy(*session.config, session.tenant, session.role);
  TreeInspector inspector(context);
  auto verdict = std::make_shared<PolicyVerdict>();
  if (std::optional<RuleHit> hit = inspector.Inspect(tree)) {
    verdict->allowed = false;
    verdict->rule_id = std::move(hit->rule_id);
    verdict->reason = std::move(hit->reason);
  } else {
    verdict->effects = inspector.effects();
    if (!inspector.edits().empty()) verdict->rewritten = ApplyEdits(text, inspector.edits());
  }
  StatementDigest digest = DigestStatement(tree, text);
  verdict->fingerprint = std::move(digest.fingerprint);
  verdict->normalized = std::move(digest.normalized);
  if (HoldsForItsTextOnly(*verdict)) return verdict;
  cache_.Insert(policy_class, key, verdict);
  return verdict;
}

SharedVerdict PolicyEngine::InspectFunctionCall(const SessionPolicy& session) const {
  static const SharedVerdict kAllowed = std::make_shared<const PolicyVerdict>();
  static const SharedVerdict kBlocked = BlockedVerdict(
      "protocol.function_call", "FunctionCall messages call functions by OID, around the SQL parser; use SELECT f(...) instead");
  if (session.config != nullptr &&
      !ResolveEffectivePolicy(*session.config, session.tenant, session.role).Enabled("protocol.function_call")) {
    return kAllowed;
  }
  return kBlocked;
}

PolicyEngine::CacheStats PolicyEngine::cache_stats() const {
  const VerdictCache::Stats stats = cache_.stats();
  uint64_t memo_hits = 0;
  for (const HitShard& shard : memo_hits_) memo_hits += shard.hits.load(std::memory_order_relaxed);
  return CacheStats{stats.hits + memo_hits, stats.misses, stats.entries, stats.bytes, memo_hits};
}

void PolicyEngine::ClearCache() {
  cache_.Clear();
  epoch_.fetch_add(1, std::memory_order_acq_rel);
}

}  // namespace pgtenant::policy
