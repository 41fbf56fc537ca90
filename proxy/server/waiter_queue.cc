// WaiterQueue: round robin over keys, first come first served within a key.
#include "proxy/server/waiter_queue.h"

#include <algorithm>

namespace pgtenant::proxy {

namespace {
// Keys without waiters kept for reuse, beyond those with waiters (a shared pool sees a key per tenant
// that ever waited: they are dropped once this many idle ones pile up).
constexpr size_t kIdleKeysKept = 64;
}  // namespace

void WaiterQueue::Push(PoolClient* client, std::string_view key, Clock::time_point deadline) {
  if (NodeOf(client) != kNone) return;  // already waiting here: it hears once, in its first place
  // The key this client waited under last time, if it is still that name: no hash, no map lookup
  // (a shared pool's clients wait at nearly every transaction, each tenant under its own key).
  uint32_t k = client->waiting_place.key;
  if (k >= keys_.size() || keys_[k].free || keys_[k].name != key) k = KeyOf(key);
  client->waiting_place.key = k;
  uint32_t n = free_nodes_;
  if (n != kNone) {
    free_nodes_ = nodes_[n].next;
  } else {
    n = static_cast<uint32_t>(nodes_.size());
    nodes_.emplace_back();
  }
  Key& queue = keys_[k];
  nodes_[n] = Node{client, deadline, next_arrival_++, k, queue.tail, kNone};
  if (queue.tail != kNone) {
    nodes_[queue.tail].next = n;
  } else {
    queue.head = n;
  }
  queue.tail = n;
  if (!queue.in_rotation) JoinRotation(k);
  client->waiting_place.node = n;
  ++size_;
}

uint32_t WaiterQueue::KeyOf(std::string_view name) {
  if (auto found = by_name_.find(name); found != by_name_.end()) return found->second;
  uint32_t k = 0;
  if (!free_keys_.empty()) {
    k = free_keys_.back();
    free_keys_.pop_back();
    keys_[k] = Key{std::string(name)};
  } else {
    k = static_cast<uint32_t>(keys_.size());
    keys_.push_back(Key{std::string(name)});
  }
  by_name_.emplace(keys_[k].name, k);
  return k;
}

void WaiterQueue::JoinRotation(uint32_t k) {
  Key& key = keys_[k];
  key.in_rotation = true;
  key.prev = rotation_tail_;
  key.next = kNone;
  if (rotation_tail_ != kNone) {
    keys_[rotation_tail_].next = k;
  } else {
    rotation_head_ = k;
  }
  rotation_tail_ = k;
  ++rotation_size_;
}

void WaiterQueue::LeaveRotation(uint32_t k) {
  Key& key = keys_[k];
  (key.prev != kNone ? keys_[key.prev].next : rotation_head_) = key.next;
  (key.next != kNone ? keys_[key.next].prev : rotation_tail_) = key.prev;
  key.prev = key.next = kNone;
  key.in_rotation = false;
  --rotation_size_;
}

void WaiterQueue::Release(uint32_t n) {
  Node& node = nodes_[n];
  Key& key = keys_[node.key];
  (node.prev != kNone ? nodes_[node.prev].next : key.head) = node.next;
  (node.next != kNone ? nodes_[node.next].prev : key.tail) = node.prev;
  if (key.head == kNone) LeaveRotation(node.key);
  node.client->waiting_place.node = kNone;
  node.client = nullptr;
  node.next = free_nodes_;
  free_nodes_ = n;
  --size_;
}

std::optional<WaiterQueue::Waiter> WaiterQueue::PopNext() {
  if (rotation_head_ == kNone) return std::nullopt;
  const uint32_t k = rotation_head_;
  const uint32_t n = keys_[k].head;
  const Waiter oldest{nodes_[n].client, nodes_[n].deadline};
  Release(n);
  if (keys_[k].in_rotation) {  // waits on: its next turn comes after every other key's
    LeaveRotation(k);
    JoinRotation(k);
  }
  return oldest;
}

uint32_t WaiterQueue::NodeOf(const PoolClient* client) const {
  // A place left from a queue that is gone (a pool dropped with its waiters) is no node of this client here.
  const uint32_t n = client->waiting_place.node;
  return n < nodes_.size() && nodes_[n].client == client ? n : kNone;
}

bool WaiterQueue::Remove(PoolClient* client) {
  const uint32_t n = NodeOf(client);
  if (n == kNone) return false;
  Release(n);  // a key keeps its place in the rotation while it has waiters
  return true;
}

std::vector<WaiterQueue::Waiter> WaiterQueue::PopExpired(Clock::time_point now) {
  std::vector<Node> expired;
  for (uint32_t k = rotation_head_; k != kNone;) {
    const uint32_t next = keys_[k].next;  // Release may take k out of the rotation
    while (keys_[k].head != kNone && nodes_[keys_[k].head].deadline <= now) {
      expired.push_back(nodes_[keys_[k].head]);
      Release(keys_[k].head);
    }
    k = next;
  }
  PruneKeys();
  return InArrivalOrder(std::move(expired));
}

std::vector<WaiterQueue::Waiter> WaiterQueue::TakeAll() {
  std::vector<Node> all;
  all.reserve(size_);
  while (rotation_head_ != kNone) {
    const uint32_t n = keys_[rotation_head_].head;
    all.push_back(nodes_[n]);
    Release(n);
  }
  PruneKeys();
  return InArrivalOrder(std::move(all));
}

void WaiterQueue::PruneKeys() {
  if (keys_.size() - free_keys_.size() <= rotation_size_ + kIdleKeysKept) return;
  for (uint32_t k = 0; k < keys_.size(); ++k) {
    Key& key = keys_[k];
    if (key.free || key.in_rotation) continue;
    by_name_.erase(key.name);
    key = Key{};
    key.free = true;
    free_keys_.push_back(k);
  }
}

std::vector<WaiterQueue::Waiter> WaiterQueue::InArrivalOrder(std::vector<Node> nodes) {
  std::sort(nodes.begin(), nodes.end(), [](const Node& a, const Node& b) { return a.arrival < b.arrival; });
  std::vector<Waiter> waiters;
  waiters.reserve(nodes.size());
  for (const Node& node : nodes) waiters.push_back({node.client, node.deadline});
  return waiters;
}

}  // namespace pgtenant::proxy
