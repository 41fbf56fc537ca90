// WaiterQueue: the clients waiting for a server connection of one pool, served round robin over
// their tenants (one first-come-first-served queue per fairness key, a rotation over the keys that
// have waiters), so that on a shared pool one tenant's flood of waiters delays another tenant's
// next transaction by one turn, not by the whole flood.
//
// The key is the waiter's context tag (routing::Route::context_tag: tenant id and access) on a
// shared pool; on a pool of one tenant every waiter has the same (empty) key and the queue is plain
// FIFO. PopNext is O(1); Remove is O(1) on average; PopExpired looks at the oldest waiter of each
// key only (O(keys with waiters)), which holds because a key's waiters arrive in deadline order
// while wait_timeout stays the same.
//
// Thread-safety: none (the pool's loop thread). Waiters are not owned; nothing here calls them.
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/io/loop_clock.h"

namespace pgtenant::proxy {

class PoolClient;

class WaiterQueue {
 public:
  struct Waiter {
    PoolClient* client;
    Clock::time_point deadline;
  };

  WaiterQueue() = default;
  WaiterQueue(const WaiterQueue&) = delete;
  WaiterQueue& operator=(const WaiterQueue&) = delete;

  // Queues `client` behind the earlier waiters of `key`; a key without waiters joins the end of
  // the rotation. A client already queued keeps its place (and is served once).
  void Push(PoolClient* client, std::string_view key, Clock::time_point deadline);
  // The oldest waiter of the key whose turn it is, removed; that key goes to the end of the
  // rotation (or leaves it, with no waiter left). nullopt when nobody waits.
  std::optional<Waiter> PopNext();
  // Forgets `client`; false if it was not queued.
  bool Remove(PoolClient* client);
  // Every waiter whose deadline is at or before `now`, removed, oldest first.
  std::vector<Waiter> PopExpired(Clock::time_point now);
  // Every waiter, removed, oldest first.
  std::vector<Waiter> TakeAll();

  size_t size() const { return by_client_.size(); }
  bool empty() const { return by_client_.empty(); }
  // Keys with at least one waiter (the length of the rotation).
  size_t key_count() const { return rotation_.size(); }

 private:
  struct Entry {
    PoolClient* client;
    Clock::time_point deadline;
    uint64_t arrival;  // orders waiters across keys (PopExpired, TakeAll)
  };
  struct KeyQueue {
    std::string key;
    std::list<Entry> waiters;  // oldest first
  };
  using KeyIt = std::list<KeyQueue>::iterator;
  struct Position {
    KeyIt key;
    std::list<Entry>::iterator entry;
  };

  // Removes the entry at `at`; drops its key from the rotation when it has no waiter left.
  void Erase(const Position& at);
  static std::vector<Waiter> InArrivalOrder(std::vector<Entry> entries);

  std::list<KeyQueue> rotation_;                         // keys with waiters; the front has the next turn
  std::unordered_map<std::string_view, KeyIt> by_key_;   // views into KeyQueue::key (list nodes do not move)
  std::unordered_map<PoolClient*, Position> by_client_;  // every waiter
  uint64_t next_arrival_ = 0;
};

}  // namespace pgtenant::proxy
