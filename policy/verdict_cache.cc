// VerdictCache: an LRU list plus a hash index over (policy class, text).
#include "policy/verdict_cache.h"

#include <functional>

namespace pgtenant::policy {

namespace {
// List node, hash-index node and bookkeeping per entry, beyond the strings themselves.
constexpr size_t kEntryOverhead = 128;
}  // namespace

uint64_t VerdictCache::Hash(std::string_view policy_class, std::string_view text) {
  const uint64_t a = std::hash<std::string_view>{}(policy_class);
  const uint64_t b = std::hash<std::string_view>{}(text);
  return a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
}

size_t VerdictCache::EntryBytes(const Entry& entry) {
  const PolicyVerdict& v = *entry.verdict;
  return sizeof(Entry) + kEntryOverhead + entry.policy_class.size() + entry.text.size() + v.rule_id.size() +
         v.reason.size() + v.fingerprint.size() + v.normalized.size();
}

VerdictCache::EntryList::iterator VerdictCache::Find(uint64_t hash, std::string_view policy_class,
                                                     std::string_view text) {
  auto [first, last] = index_.equal_range(hash);
  for (auto it = first; it != last; ++it) {
    const Entry& entry = *it->second;
    if (entry.policy_class == policy_class && entry.text == text) return it->second;
  }
  return lru_.end();
}

void VerdictCache::Erase(EntryList::iterator entry) {
  auto [first, last] = index_.equal_range(entry->hash);
  for (auto it = first; it != last; ++it) {
    if (it->second == entry) {
      index_.erase(it);
      break;
    }
  }
  bytes_ -= entry->bytes;
  lru_.erase(entry);
}

SharedVerdict VerdictCache::Lookup(std::string_view policy_class, std::string_view text) {
  const uint64_t hash = Hash(policy_class, text);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = Find(hash, policy_class, text);
  if (it == lru_.end()) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, it);
  return it->verdict;
}

void VerdictCache::Insert(std::string_view policy_class, std::string_view text, SharedVerdict verdict) {
  Entry entry{Hash(policy_class, text), std::string(policy_class), std::string(text), std::move(verdict), 0};
  entry.bytes = EntryBytes(entry);
  if (entry.bytes > capacity_) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto existing = Find(entry.hash, policy_class, text);
  if (existing != lru_.end()) Erase(existing);
  while (!lru_.empty() && bytes_ + entry.bytes > capacity_) Erase(std::prev(lru_.end()));
  bytes_ += entry.bytes;
  const uint64_t hash = entry.hash;
  lru_.push_front(std::move(entry));
  index_.emplace(hash, lru_.begin());
}

void VerdictCache::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  lru_.clear();
  index_.clear();
  bytes_ = 0;
}

VerdictCache::Stats VerdictCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return Stats{hits_, misses_, static_cast<uint64_t>(lru_.size()), static_cast<uint64_t>(bytes_)};
}

}  // namespace pgtenant::policy
