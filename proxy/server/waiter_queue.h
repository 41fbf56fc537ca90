// WaiterQueue: the clients waiting for a server connection of one pool, served round robin over
// their tenants (one first-come-first-served queue per fairness key, a rotation over the keys that
// have waiters), so that on a shared pool one tenant's flood of waiters delays another tenant's
// next transaction by one turn, not by the whole flood.
//
// The key is the waiter's context tag (routing::Route::context_tag: tenant id and access) on a
// shared pool; on a pool of one tenant every waiter has the same (empty) key and the queue is plain
// FIFO. PopNext and Remove are O(1); PopExpired looks at the oldest waiter of each
// key only (O(keys with waiters)), which holds because a key's waiters arrive in deadline order
// while wait_timeout stays the same.
//
// Nothing is allocated per wait: waiters live in a slab of nodes reused through a free list, each
// client holds the index of its node (PoolClient::waiting_place), and a key keeps its queue while it has
// no waiter, until many such keys pile up (then the idle ones are dropped). A pool of one tenant has
// one key: with the map nodes of the queue before (a node per waiter and per key) a transaction that
// waited for a connection cost four allocations and their frees.
//
// Thread-safety: none (the pool's loop thread). Waiters are not owned; nothing here calls them. A
// client waits in at most one queue at a time.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/io/loop_clock.h"
#include "proxy/server/pool_client.h"

namespace pgtenant::proxy {

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

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Keys with at least one waiter (the length of the rotation).
  size_t key_count() const { return rotation_size_; }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Node {  // a waiter, linked into its key's queue; a free node is linked through `next`
    PoolClient* client = nullptr;
    Clock::time_point deadline;
    uint64_t arrival = 0;  // orders waiters across keys (PopExpired, TakeAll)
    uint32_t key = kNone;
    uint32_t prev = kNone;
    uint32_t next = kNone;
  };
  struct Key {  // a key's waiters, oldest first, and its place in the rotation while it has any
    std::string name;
    uint32_t head = kNone;
    uint32_t tail = kNone;
    uint32_t prev = kNone;  // rotation links
    uint32_t next = kNone;
    bool in_rotation = false;
    bool free = false;  // on free_keys_, in no map
  };

  uint32_t KeyOf(std::string_view name);
  // `client`'s node in this queue, or kNone.
  uint32_t NodeOf(const PoolClient* client) const;
  // Takes node `n` out of its key's queue (the key leaves the rotation with its last waiter) and
  // frees it; the client waits no more.
  void Release(uint32_t n);
  void JoinRotation(uint32_t key);
  void LeaveRotation(uint32_t key);
  // Forgets the keys without waiters once they outnumber those with waiters by far.
  void PruneKeys();
  static std::vector<Waiter> InArrivalOrder(std::vector<Node> nodes);

  std::vector<Node> nodes_;
  uint32_t free_nodes_ = kNone;
  std::deque<Key> keys_;  // a deque: by_name_ views the names, which stay put
  std::vector<uint32_t> free_keys_;
  std::unordered_map<std::string_view, uint32_t> by_name_;
  uint32_t rotation_head_ = kNone;  // the key whose turn is next
  uint32_t rotation_tail_ = kNone;
  size_t rotation_size_ = 0;
  size_t size_ = 0;
  uint64_t next_arrival_ = 0;
};

}  // namespace pgtenant::proxy
