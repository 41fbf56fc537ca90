// VerdictMemo: a set-associative table of shared verdicts, keyed by engine, epoch, session policy and
// folded text.
#include "policy/verdict_memo.h"

#include <atomic>
#include <cstring>

namespace pgtenant::policy {

namespace {

// Memos take counter shards in the order they are made: the first few loops never share one.
std::atomic<size_t> next_counter_shard{0};

// Eight bytes a step: a set index and a quick inequality test before the texts are compared whole.
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

}  // namespace

VerdictMemo::VerdictMemo() : counter_shard_(next_counter_shard.fetch_add(1, std::memory_order_relaxed)) {}

// Mixed to the end (MurmurHash3's finalizer): the set is picked by the low bits, and without it they
// would be those of a product, which depend only on the low bits of the text's hash and the pointers.
// The epoch is left out: an entry of an older epoch is replaced in the same set.
size_t VerdictMemo::Hash(const Key& key) {
  const SessionPolicy& s = *key.session;
  uint64_t h = HashText(key.folded_text);
  for (uint64_t part : {key.engine, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(s.config)),
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

bool VerdictMemo::Holds(const Slot& slot, const Key& key) {
  return slot.engine == key.engine && slot.epoch == key.epoch && slot.session == *key.session &&
         slot.folded_text == key.folded_text;
}

SharedVerdict VerdictMemo::Find(const Key& key) const {
  const size_t hash = Hash(key);
  const Set& set = sets_[hash % kSets];
  for (size_t way = 0; way < kWays; ++way) {
    if (set.hashes[way] == hash && Holds(set.ways[way], key)) return set.ways[way].verdict;
  }
  return nullptr;
}

SharedVerdict VerdictMemo::Remember(const Key& key, const PolicyVerdict& verdict) {
  const size_t hash = Hash(key);
  Set& set = sets_[hash % kSets];
  const size_t way = set.next;
  set.next = static_cast<uint8_t>((way + 1) % kWays);
  set.hashes[way] = hash;
  Slot& slot = set.ways[way];
  slot.engine = key.engine;
  slot.epoch = key.epoch;
  slot.session = *key.session;
  slot.folded_text.assign(key.folded_text);
  slot.verdict = std::make_shared<const PolicyVerdict>(verdict);
  return slot.verdict;
}

}  // namespace pgtenant::policy
