// PolicyEngine: cache lookup, parsing, the rules (tree_inspector.h), fingerprint and normalized text.
#include "policy/policy_engine.h"

#include "policy/cache_key.h"

#include <pg_query.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>

#include "policy/effective_policy.h"
#include "policy/json_tree.h"
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

std::atomic<uint64_t> next_instance{1};

// A thread's memo: set-associative by a hash of (engine, session policy, folded text). An entry is
// used only if all of them are equal and the engine's epoch has not moved since it was filled. A set
// has eight ways, so the statements a worker's sessions repeat (pgbench's tpcb: seven per
// transaction, for each of the worker's tenants) do not keep evicting each other when several land
// in one set (a direct-mapped memo sent a quarter of tpcb's statements to the shared cache; with four
// ways, about one ASan run in thirty of the memo test found five of its twenty entries in one set).
// The ways' hashes fill one cache line, read before the slot that matches.
struct MemoSlot {
  uint64_t instance = 0;  // 0: empty
  uint64_t epoch = 0;
  SessionPolicy session;
  std::string key;  // the folded text
  PolicyVerdict verdict;
};
constexpr size_t kMemoWays = 8;
constexpr size_t kMemoSets = 64;

struct alignas(64) MemoSet {
  std::array<size_t, kMemoWays> hashes{};
  uint8_t next = 0;  // the way a miss fills: first in, first out
  std::array<MemoSlot, kMemoWays> ways;
};

struct ThreadMemo {
  std::array<MemoSet, kMemoSets> sets;
  std::string key;          // the text being judged, folded; its capacity is reused
  PolicyVerdict scratch;    // what is handed out when no slot holds it (the session has no config)
};

// Threads take shards in the order they first count: the first few threads never share one.
size_t ThreadShard() {
  static std::atomic<size_t> next_shard{0};
  thread_local const size_t shard = next_shard.fetch_add(1, std::memory_order_relaxed);
  return shard;
}

ThreadMemo& Memo() {
  thread_local ThreadMemo memo;
  return memo;
}

bool SamePolicy(const SessionPolicy& a, const SessionPolicy& b) {
  return a.config == b.config && a.tenant == b.tenant && a.role == b.role &&
         a.transaction_pooling == b.transaction_pooling && a.shared_pool == b.shared_pool;
}

// Eight bytes a step: a slot index and a quick inequality test before the keys are compared whole.
uint64_t HashText(std::string_view text) {
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ text.size();
  size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, text.data() + i, 8);
    h = (h ^ word) * 0xff51afd7ed558ccdULL;
    h ^= h >> 32;
  }
  uint64_t tail = 0;
  if (i < text.size()) std::memcpy(&tail, text.data() + i, text.size() - i);
  h = (h ^ tail) * 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 29);
}

// Mixed to the end (MurmurHash3's finalizer): the set is picked by the low bits, and without it they
// would be those of a product, which depend only on the low bits of the text's hash and the pointers.
size_t MemoHash(uint64_t instance, const SessionPolicy& s, std::string_view key) {
  uint64_t h = HashText(key);
  for (uint64_t part : {instance, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(s.config)),
                        static_cast<uint64_t>(reinterpret_cast<uintptr_t>(s.tenant)),
                        uint64_t{static_cast<uint8_t>(s.role)} << 2 | uint64_t{s.transaction_pooling} << 1 |
                            uint64_t{s.shared_pool}})
    h = (h ^ part) * 0x9e3779b97f4a7c15ULL;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  return static_cast<size_t>(h ^ (h >> 33));
}

bool Holds(const MemoSlot& slot, uint64_t instance, uint64_t epoch, const SessionPolicy& session,
           const std::string& key) {
  return slot.instance == instance && slot.epoch == epoch && SamePolicy(slot.session, session) && slot.key == key;
}

}  // namespace

PolicyEngine::PolicyEngine(size_t cache_capacity_bytes)
    : cache_(cache_capacity_bytes), instance_(next_instance.fetch_add(1)) {}

const PolicyVerdict& PolicyEngine::Inspect(const SessionPolicy& session, std::string_view sql, StatementSource source) {
  (void)source;  // the same rules hold for both; a Parse message with several statements fails in the server
  ThreadMemo& memo = Memo();
  if (session.config == nullptr) {
    memo.scratch = Blocked("parse.error", "internal error: the session has no configuration");
    return memo.scratch;
  }
  // Statements that differ only in numeric literals share a verdict (policy/cache_key.h), so
  // `WHERE aid = 12345` is parsed once, not once per value.
  FoldNumericLiterals(sql, memo.key);
  const uint64_t epoch = epoch_.load(std::memory_order_acquire);
  const size_t hash = MemoHash(instance_, session, memo.key);
  MemoSet& set = memo.sets[hash % kMemoSets];
  for (size_t way = 0; way < kMemoWays; ++way) {
    if (set.hashes[way] == hash && Holds(set.ways[way], instance_, epoch, session, memo.key)) {
      memo_hits_[ThreadShard() % kHitShards].hits.fetch_add(1, std::memory_order_relaxed);
      return set.ways[way].verdict;
    }
  }
  PolicyVerdict verdict = InspectUncached(session, sql, memo.key);
  if (verdict.fingerprint.empty()) {  // text the parser could not read: not cached here either
    memo.scratch = std::move(verdict);
    return memo.scratch;
  }
  const size_t way = set.next;
  set.next = static_cast<uint8_t>((way + 1) % kMemoWays);
  set.hashes[way] = hash;
  MemoSlot& slot = set.ways[way];
  slot.verdict = std::move(verdict);
  slot.instance = instance_;
  slot.epoch = epoch;
  slot.session = session;
  slot.key = memo.key;
  return slot.verdict;
}

PolicyVerdict PolicyEngine::InspectUncached(const SessionPolicy& session, std::string_view sql, const std::string& key) {
  const std::string policy_class = PolicyClass(session);
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

const PolicyVerdict& PolicyEngine::InspectFunctionCall(const SessionPolicy& session) {
  ThreadMemo& memo = Memo();
  if (session.config != nullptr &&
      !ResolveEffectivePolicy(*session.config, session.tenant, session.role).Enabled("protocol.function_call")) {
    memo.scratch = PolicyVerdict{};
  } else {
    memo.scratch = Blocked("protocol.function_call",
                           "FunctionCall messages call functions by OID, around the SQL parser; use SELECT f(...) instead");
  }
  return memo.scratch;
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

std::string BlockedMessage(const PolicyVerdict& verdict) {
  return "pgtenant: blocked by rule " + verdict.rule_id + ": " + verdict.reason;
}

}  // namespace pgtenant::policy
