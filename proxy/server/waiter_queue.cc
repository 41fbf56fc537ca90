// WaiterQueue: round robin over keys, first come first served within a key.
#include "proxy/server/waiter_queue.h"

#include <algorithm>

namespace pgtenant::proxy {

void WaiterQueue::Push(PoolClient* client, std::string_view key, Clock::time_point deadline) {
  if (by_client_.contains(client)) return;  // already waiting: it hears once, in its first place
  KeyIt queue;
  if (auto found = by_key_.find(key); found != by_key_.end()) {
    queue = found->second;
  } else {
    queue = rotation_.insert(rotation_.end(), KeyQueue{std::string(key), {}});
    by_key_.emplace(queue->key, queue);
  }
  auto entry = queue->waiters.insert(queue->waiters.end(), Entry{client, deadline, next_arrival_++});
  by_client_.emplace(client, Position{queue, entry});
}

void WaiterQueue::Erase(const Position& at) {
  at.key->waiters.erase(at.entry);
  if (!at.key->waiters.empty()) return;
  by_key_.erase(at.key->key);
  rotation_.erase(at.key);
}

std::optional<WaiterQueue::Waiter> WaiterQueue::PopNext() {
  if (rotation_.empty()) return std::nullopt;
  KeyIt turn = rotation_.begin();
  const Entry oldest = turn->waiters.front();
  by_client_.erase(oldest.client);
  turn->waiters.pop_front();
  if (turn->waiters.empty()) {
    by_key_.erase(turn->key);
    rotation_.erase(turn);
  } else {
    rotation_.splice(rotation_.end(), rotation_, turn);  // waits on: its next turn comes after every other key's
  }
  return Waiter{oldest.client, oldest.deadline};
}

bool WaiterQueue::Remove(PoolClient* client) {
  auto found = by_client_.find(client);
  if (found == by_client_.end()) return false;
  const Position at = found->second;
  by_client_.erase(found);
  Erase(at);  // a key keeps its place in the rotation while it has waiters
  return true;
}

std::vector<WaiterQueue::Waiter> WaiterQueue::PopExpired(Clock::time_point now) {
  std::vector<Entry> expired;
  for (KeyIt queue = rotation_.begin(); queue != rotation_.end();) {
    while (!queue->waiters.empty() && queue->waiters.front().deadline <= now) {
      expired.push_back(queue->waiters.front());
      by_client_.erase(queue->waiters.front().client);
      queue->waiters.pop_front();
    }
    if (queue->waiters.empty()) {
      by_key_.erase(queue->key);
      queue = rotation_.erase(queue);
    } else {
      ++queue;
    }
  }
  return InArrivalOrder(std::move(expired));
}

std::vector<WaiterQueue::Waiter> WaiterQueue::TakeAll() {
  std::vector<Entry> all;
  all.reserve(by_client_.size());
  for (const KeyQueue& queue : rotation_) all.insert(all.end(), queue.waiters.begin(), queue.waiters.end());
  by_client_.clear();
  by_key_.clear();
  rotation_.clear();
  return InArrivalOrder(std::move(all));
}

std::vector<WaiterQueue::Waiter> WaiterQueue::InArrivalOrder(std::vector<Entry> entries) {
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.arrival < b.arrival; });
  std::vector<Waiter> waiters;
  waiters.reserve(entries.size());
  for (const Entry& e : entries) waiters.push_back({e.client, e.deadline});
  return waiters;
}

}  // namespace pgtenant::proxy
