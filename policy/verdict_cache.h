// VerdictCache: verdicts of statements already judged, so repeated statements are not parsed again.
//
// Keyed by (policy class, exact statement text); the policy class names everything a verdict depends
// on besides the text (config snapshot, tenant, role, pooling flags). Bounded by an estimate of the
// bytes its entries hold; least recently used entries are evicted first. An entry larger than the whole
// capacity is not stored.
// Entries hold shared verdicts: a verdict handed out stays valid after its entry is evicted.
// Thread-safety: every method is safe to call from several threads (one mutex).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "policy/policy_verdict.h"

namespace pgtenant::policy {

class VerdictCache {
 public:
  struct Stats {
    uint64_t hits = 0, misses = 0, entries = 0, bytes = 0;
  };

  explicit VerdictCache(size_t capacity_bytes) : capacity_(capacity_bytes) {}
  VerdictCache(const VerdictCache&) = delete;
  VerdictCache& operator=(const VerdictCache&) = delete;

  // The cached verdict, counting a hit, or null, counting a miss.
  SharedVerdict Lookup(std::string_view policy_class, std::string_view text);
  // Stores (or refreshes) a verdict, evicting least recently used entries to stay within capacity.
  // REQUIRES: verdict is not null.
  void Insert(std::string_view policy_class, std::string_view text, SharedVerdict verdict);
  // Drops every entry; the counters of hits and misses are kept.
  void Clear();
  Stats stats() const;

 private:
  struct Entry {
    uint64_t hash;
    std::string policy_class;
    std::string text;
    SharedVerdict verdict;
    size_t bytes;
  };
  using EntryList = std::list<Entry>;

  static uint64_t Hash(std::string_view policy_class, std::string_view text);
  static size_t EntryBytes(const Entry& entry);
  EntryList::iterator Find(uint64_t hash, std::string_view policy_class, std::string_view text);  // REQUIRES: mu_
  void Erase(EntryList::iterator it);                                                              // REQUIRES: mu_

  const size_t capacity_;
  mutable std::mutex mu_;
  EntryList lru_;                                                // GUARDED_BY(mu_); front = most recent
  std::unordered_multimap<uint64_t, EntryList::iterator> index_;  // GUARDED_BY(mu_)
  size_t bytes_ = 0;                                             // GUARDED_BY(mu_)
  uint64_t hits_ = 0;                                            // GUARDED_BY(mu_)
  uint64_t misses_ = 0;                                          // GUARDED_BY(mu_)
};

}  // namespace pgtenant::policy
