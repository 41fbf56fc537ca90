// PolicyEngine: judges the SQL a client sends (Query and Parse messages) before pgtenant forwards it.
//
// A statement is parsed with PostgreSQL's own parser (libpg_query) and checked by the rules of
// config/policy_rules.h (each on by default; the config's policy: sections switch them per tenant and
// role; see tree_inspector.h for how the tree is searched). Fail closed: text the parser cannot read is
// blocked with rule parse.error. Verdicts of successful parses are cached by (policy class, text), with
// numeric literals folded (cache_key.h). In front of that shared cache the caller's VerdictMemo (one
// per event loop) holds the verdicts the loop handed out last, so a repeated statement costs a scan, a
// compare and a handle copy: no lock, no allocation.
//
// No I/O, no thread_local state. Thread-safety: every method may be called from several threads at
// once, each with a VerdictMemo of its own.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"
#include "policy/policy_verdict.h"
#include "policy/session_policy.h"
#include "policy/verdict_cache.h"
#include "policy/verdict_memo.h"

namespace pgtenant::policy {

enum class StatementSource { kSimpleQuery, kParse };

class PolicyEngine {
 public:
  explicit PolicyEngine(size_t cache_capacity_bytes = 16 << 20);
  PolicyEngine(const PolicyEngine&) = delete;
  PolicyEngine& operator=(const PolicyEngine&) = delete;

  // Judges the whole text (a simple Query may hold several statements: if any is blocked, the verdict
  // is blocked, with the first blocking rule in text order). Never null. `memo` is the calling loop's
  // (see verdict_memo.h); the verdict is shared with the cache and the memo and lives as long as the
  // caller keeps it.
  SharedVerdict Inspect(VerdictMemo& memo, const SessionPolicy& session, std::string_view sql, StatementSource source);

  // A FunctionCall ('F') protocol message: always blocked unless protocol.function_call is switched off.
  // Never null; does not allocate.
  SharedVerdict InspectFunctionCall(const SessionPolicy& session) const;

  struct CacheStats {
    uint64_t hits = 0, misses = 0, entries = 0, bytes = 0;
    uint64_t memo_hits = 0;  // of `hits`: answered from the caller's VerdictMemo, without the shared cache
  };
  CacheStats cache_stats() const;

  // Drops cached verdicts. Call after installing a reloaded config snapshot: entries are keyed by the
  // snapshot's address, which a later snapshot could reuse once the old one is freed.
  void ClearCache();

 private:
  SharedVerdict InspectUncached(const SessionPolicy& session, std::string_view sql, const std::string& key);

  VerdictCache cache_;
  const uint64_t instance_;             // tells this engine's memo entries from another's (a memo may serve several)
  std::atomic<uint64_t> epoch_{0};      // ClearCache bumps it: older memo entries are stale
  // Memo hits, counted with the cache's hits. Memos count in shards of their own cache line: one
  // counter written by every worker moved its line between cores on every statement.
  static constexpr size_t kHitShards = 8;
  struct alignas(64) HitShard {
    std::atomic<uint64_t> hits{0};
  };
  std::array<HitShard, kHitShards> memo_hits_;
};

}  // namespace pgtenant::policy
