// PolicyEngine: judges the SQL a client sends (Query and Parse messages) before pgtenant forwards it.
//
// A statement is parsed with PostgreSQL's own parser (libpg_query) and checked by the rules of
// config/policy_rules.h (each on by default; the config's policy: sections switch them per tenant and
// role; see tree_inspector.h for how the tree is searched). Fail closed: text the parser cannot read is
// blocked with rule parse.error. Verdicts of successful parses are cached by (policy class, text), with
// numeric literals folded (cache_key.h). In front of that shared cache each thread keeps a small memo of
// the verdicts it handed out last, so a repeated statement costs a scan and a compare: no lock, no copy.
//
// No I/O. Thread-safety: every method may be called from several threads at once.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"
#include "policy/verdict_cache.h"

namespace pgtenant::policy {

enum class StatementSource { kSimpleQuery, kParse };

// What the engine needs to know about one client session; built once per session by the proxy.
struct SessionPolicy {
  const config::Config* config = nullptr;  // the snapshot the session holds; REQUIRES: non-null
  const config::TenantConfig* tenant = nullptr;
  config::TenantRole role = config::TenantRole::kMember;
  bool transaction_pooling = false;  // pool mode of the session's route
  bool shared_pool = false;          // the backend shares server connections across tenants
};

struct PolicyVerdict {
  bool allowed = true;
  std::string rule_id;      // stable id of the first rule that blocked, e.g. "context.tenant_setting"
  std::string reason;       // one sentence a person can act on; never holds literal values from the SQL
  std::string fingerprint;  // pg_query fingerprint (hex) of the whole text, empty if unparseable
  std::string normalized;   // the text with literals replaced by $n (pg_query_normalize); empty if unparseable
};

class PolicyEngine {
 public:
  explicit PolicyEngine(size_t cache_capacity_bytes = 16 << 20);
  PolicyEngine(const PolicyEngine&) = delete;
  PolicyEngine& operator=(const PolicyEngine&) = delete;

  // Judges the whole text (a simple Query may hold several statements: if any is blocked, the verdict
  // is blocked, with the first blocking rule in text order). The reference stays valid until the
  // calling thread's next Inspect or InspectFunctionCall.
  const PolicyVerdict& Inspect(const SessionPolicy& session, std::string_view sql, StatementSource source);

  // A FunctionCall ('F') protocol message: always blocked unless protocol.function_call is switched off.
  const PolicyVerdict& InspectFunctionCall(const SessionPolicy& session);

  struct CacheStats {
    uint64_t hits = 0, misses = 0, entries = 0, bytes = 0;
    uint64_t memo_hits = 0;  // of `hits`: answered from the calling thread's own memo, without the shared cache
  };
  CacheStats cache_stats() const;

  // Drops cached verdicts. Call after installing a reloaded config snapshot: entries are keyed by the
  // snapshot's address, which a later snapshot could reuse once the old one is freed.
  void ClearCache();

 private:
  PolicyVerdict InspectUncached(const SessionPolicy& session, std::string_view sql, const std::string& key);

  VerdictCache cache_;
  const uint64_t instance_;             // tells this engine's memo entries from another's (thread memos are per thread)
  std::atomic<uint64_t> epoch_{0};      // ClearCache bumps it: older memo entries are stale
  // Memo hits, counted with the cache's hits. Threads count in shards of their own cache line: one
  // counter written by every worker moved its line between cores on every statement.
  static constexpr size_t kHitShards = 8;
  struct alignas(64) HitShard {
    std::atomic<uint64_t> hits{0};
  };
  std::array<HitShard, kHitShards> memo_hits_;
};

// The client-facing message for a blocked verdict: "pgtenant: blocked by rule <id>: <reason>"
// (sent with SQLSTATE 42501).
std::string BlockedMessage(const PolicyVerdict& verdict);

}  // namespace pgtenant::policy
