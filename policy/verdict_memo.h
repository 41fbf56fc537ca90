// VerdictMemo: the verdicts one event loop handed out last, in front of PolicyEngine's shared cache, so
// a statement the loop's sessions repeat costs a hash, a compare and a handle copy: no lock, no
// allocation.
//
// One per event loop, owned by whoever runs the loop (ProxyServer has one per worker) and passed to
// every PolicyEngine::Inspect. Nothing here is thread_local: a session that moves to another loop asks
// that loop's memo from then on, and the verdicts it already holds are shared handles that stay valid.
// An entry answers only for the engine that filled it, the same session policy and folded text, and
// while that engine's epoch (bumped by ClearCache) has not moved.
// Thread-safety: none; one thread at a time (the loop's).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "policy/policy_verdict.h"
#include "policy/session_policy.h"

namespace pgtenant::policy {

class VerdictMemo {
 public:
  // Who filled an entry and for what: everything a remembered verdict depends on.
  struct Key {
    uint64_t engine = 0;  // PolicyEngine instance; 0 is never one
    uint64_t epoch = 0;
    const SessionPolicy* session = nullptr;
    std::string_view folded_text;
  };

  VerdictMemo();
  VerdictMemo(const VerdictMemo&) = delete;
  VerdictMemo& operator=(const VerdictMemo&) = delete;

  // The verdict remembered for `key`, or null.
  SharedVerdict Find(const Key& key) const;
  // Remembers a copy of `verdict` for `key`, in place of the oldest entry of its set, and returns the
  // copy. The copy is this memo's own: handing it out touches a reference count that no other loop
  // writes (a verdict shared with the cache and other loops' memos would move its count's cache line
  // between cores on every statement).
  SharedVerdict Remember(const Key& key, const PolicyVerdict& verdict);

  // A buffer for the folded text of the statement being judged; its capacity is reused.
  std::string& text_buffer() { return text_buffer_; }
  // Which of an engine's hit counters this memo counts in (memos made one after another differ).
  size_t counter_shard() const { return counter_shard_; }

 private:
  struct Slot {
    uint64_t engine = 0;  // 0: empty
    uint64_t epoch = 0;
    SessionPolicy session;
    std::string folded_text;
    SharedVerdict verdict;
  };
  // Set-associative by a hash of the whole key. A set has eight ways, so the statements a loop's
  // sessions repeat (pgbench's tpcb: seven per transaction, for each of the loop's tenants) do not keep
  // evicting each other when several land in one set (a direct-mapped memo sent a quarter of tpcb's
  // statements to the shared cache; with four ways, about one ASan run in thirty of the memo test found
  // five of its twenty entries in one set). The ways' hashes fill one cache line, read before the slot
  // that matches. An entry is per tenant (the session policy names it): 2,048 entries hold the
  // statements of a thousand tenants on one loop (a shared pool's many small tenants; with 512, each
  // of their statements missed, went to the shared cache and its lock, and was copied back in).
  static constexpr size_t kWays = 8;
  static constexpr size_t kSets = 256;
  struct alignas(64) Set {
    std::array<size_t, kWays> hashes{};
    uint8_t next = 0;  // the way a miss fills: first in, first out
    std::array<Slot, kWays> ways;
  };

  static size_t Hash(const Key& key);
  static bool Holds(const Slot& slot, const Key& key);

  std::array<Set, kSets> sets_;
  std::string text_buffer_;
  const size_t counter_shard_;
};

}  // namespace pgtenant::policy
