// WaiterQueue: round robin over keys, first come first served within a key, removal anywhere,
// expiry per waiter, and a random interleaving checked against a model of the same rules.
#include "proxy/server/waiter_queue.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace pgtenant::proxy {
namespace {

using std::chrono::milliseconds;

// WaiterQueue never calls its waiters; each holds its place in the queue (PoolClient::waiting_place).
class FakeClient final : public PoolClient {
 public:
  void OnServerAssigned(ServerConnection*) override {}
  void OnServerUnavailable(const Status&) override {}
};

// Client number n of one test case: Clients ClientNo; ... ClientNo(3).
class Clients {
 public:
  PoolClient* operator()(int n) {
    while (all_.size() <= static_cast<size_t>(n)) all_.emplace_back();
    return &all_[static_cast<size_t>(n)];
  }
  int NumberOf(const PoolClient* client) const {
    for (size_t i = 0; i < all_.size(); ++i)
      if (&all_[i] == client) return static_cast<int>(i);
    return -1;
  }

 private:
  std::deque<FakeClient> all_;  // a deque: the clients stay where they are
};

// The client numbers PopNext hands out until the queue is empty.
std::vector<int> DrainOrder(WaiterQueue& queue, const Clients& clients) {
  std::vector<int> order;
  while (std::optional<WaiterQueue::Waiter> next = queue.PopNext()) order.push_back(clients.NumberOf(next->client));
  return order;
}

const Clock::time_point kT0 = Clock::time_point{} + std::chrono::hours(1);

TEST_CASE("waiters of one key are served first come, first served", "[waiter_queue]") {
  Clients ClientNo;
  WaiterQueue queue;
  for (int i = 0; i < 5; ++i) queue.Push(ClientNo(i), "", kT0);
  CHECK(queue.size() == 5);
  CHECK(queue.key_count() == 1);
  CHECK(DrainOrder(queue, ClientNo) == std::vector<int>{0, 1, 2, 3, 4});
  CHECK(queue.empty());
  CHECK(queue.key_count() == 0);
}

TEST_CASE("a flood of one key does not hold back another key's waiter: keys take turns", "[waiter_queue]") {
  Clients ClientNo;
  WaiterQueue queue;
  for (int i = 0; i < 30; ++i) queue.Push(ClientNo(i), "flood/rw", kT0);  // 30 waiters of the noisy tenant
  queue.Push(ClientNo(100), "quiet/rw", kT0);                            // then one of the quiet tenant
  queue.Push(ClientNo(101), "quiet/rw", kT0);
  queue.Push(ClientNo(200), "third/rw", kT0);
  CHECK(queue.key_count() == 3);
  std::vector<int> order = DrainOrder(queue, ClientNo);
  REQUIRE(order.size() == 33);
  // flood, quiet, third, flood, quiet, then the flood alone, each key in its own arrival order.
  CHECK(std::vector<int>(order.begin(), order.begin() + 6) == std::vector<int>{0, 100, 200, 1, 101, 2});
  for (size_t i = 6; i < order.size(); ++i) CHECK(order[i] == static_cast<int>(i) - 3);
}

TEST_CASE("a key that comes back after its waiters were served joins the end of the rotation", "[waiter_queue]") {
  Clients ClientNo;
  WaiterQueue queue;
  queue.Push(ClientNo(1), "a", kT0);
  queue.Push(ClientNo(2), "b", kT0);
  queue.Push(ClientNo(3), "b", kT0);
  CHECK(DrainOrder(queue, ClientNo).size() == 3);
  queue.Push(ClientNo(4), "b", kT0);
  queue.Push(ClientNo(5), "a", kT0);
  queue.Push(ClientNo(6), "b", kT0);
  CHECK(DrainOrder(queue, ClientNo) == std::vector<int>{4, 5, 6});
}

TEST_CASE("a waiter removed anywhere is never served; its key leaves the rotation with its last waiter",
          "[waiter_queue]") {
  Clients ClientNo;
  WaiterQueue queue;
  queue.Push(ClientNo(1), "a", kT0);
  queue.Push(ClientNo(2), "b", kT0);
  queue.Push(ClientNo(3), "a", kT0);
  queue.Push(ClientNo(4), "c", kT0);
  CHECK(queue.Remove(ClientNo(2)));
  CHECK_FALSE(queue.Remove(ClientNo(2)));
  CHECK_FALSE(queue.Remove(ClientNo(9)));
  CHECK(queue.key_count() == 2);
  CHECK(queue.Remove(ClientNo(1)));  // the front of a's queue
  CHECK(queue.size() == 2);
  CHECK(DrainOrder(queue, ClientNo) == std::vector<int>{3, 4});
}

TEST_CASE("a client pushed twice waits once, in its first place", "[waiter_queue]") {
  Clients ClientNo;
  WaiterQueue queue;
  queue.Push(ClientNo(1), "a", kT0);
  queue.Push(ClientNo(2), "a", kT0);
  queue.Push(ClientNo(1), "b", kT0);
  CHECK(queue.size() == 2);
  CHECK(DrainOrder(queue, ClientNo) == std::vector<int>{1, 2});
}

TEST_CASE("expired waiters of every key leave together, oldest first; the others keep their turns",
          "[waiter_queue]") {
  Clients ClientNo;
  WaiterQueue queue;
  queue.Push(ClientNo(1), "a", kT0);
  queue.Push(ClientNo(2), "b", kT0 + milliseconds(5));
  queue.Push(ClientNo(3), "a", kT0 + milliseconds(10));
  queue.Push(ClientNo(4), "b", kT0 + milliseconds(20));
  queue.Push(ClientNo(5), "c", kT0 + milliseconds(30));
  CHECK(queue.PopExpired(kT0 - milliseconds(1)).empty());
  std::vector<WaiterQueue::Waiter> expired = queue.PopExpired(kT0 + milliseconds(10));
  REQUIRE(expired.size() == 3);
  CHECK(expired[0].client == ClientNo(1));
  CHECK(expired[1].client == ClientNo(2));
  CHECK(expired[2].client == ClientNo(3));
  CHECK(expired[2].deadline == kT0 + milliseconds(10));
  CHECK(queue.size() == 2);
  CHECK(queue.key_count() == 2);  // a has left the rotation
  CHECK_FALSE(queue.Remove(ClientNo(3)));
  CHECK(DrainOrder(queue, ClientNo) == std::vector<int>{4, 5});
}

TEST_CASE("TakeAll empties the queue in arrival order across keys", "[waiter_queue]") {
  Clients ClientNo;
  WaiterQueue queue;
  queue.Push(ClientNo(1), "a", kT0);
  queue.Push(ClientNo(2), "b", kT0);
  queue.Push(ClientNo(3), "a", kT0);
  std::vector<WaiterQueue::Waiter> all = queue.TakeAll();
  REQUIRE(all.size() == 3);
  CHECK(all[0].client == ClientNo(1));
  CHECK(all[1].client == ClientNo(2));
  CHECK(all[2].client == ClientNo(3));
  CHECK(queue.empty());
  CHECK(queue.key_count() == 0);
  CHECK_FALSE(queue.PopNext().has_value());
}

TEST_CASE("a client whose queue went away with it waiting can wait in another", "[waiter_queue]") {
  Clients ClientNo;
  {
    WaiterQueue gone;
    gone.Push(ClientNo(0), "a", kT0);
    gone.Push(ClientNo(1), "a", kT0);
  }  // dropped with both waiting
  WaiterQueue queue;
  queue.Push(ClientNo(1), "b", kT0);
  queue.Push(ClientNo(0), "b", kT0);
  queue.Push(ClientNo(1), "b", kT0);  // waits here now: once
  CHECK(queue.size() == 2);
  CHECK(DrainOrder(queue, ClientNo) == std::vector<int>{1, 0});
}

TEST_CASE("keys without waiters are dropped once many pile up, and come back as new ones", "[waiter_queue]") {
  Clients ClientNo;
  WaiterQueue queue;
  for (int i = 0; i < 200; ++i) queue.Push(ClientNo(i), "tenant-" + std::to_string(i), kT0);
  queue.Push(ClientNo(200), "tenant-7", kT0 + milliseconds(10));
  CHECK(queue.key_count() == 200);
  CHECK(queue.PopExpired(kT0).size() == 200);  // 199 keys are left without waiters: dropped
  CHECK(queue.key_count() == 1);
  CHECK(queue.size() == 1);
  // A dropped key is new again: it joins the end of the rotation behind the key that kept a waiter.
  queue.Push(ClientNo(201), "tenant-3", kT0);
  queue.Push(ClientNo(202), "tenant-7", kT0);
  queue.Push(ClientNo(203), "tenant-3", kT0);
  CHECK(queue.key_count() == 2);
  CHECK(DrainOrder(queue, ClientNo) == std::vector<int>{200, 201, 202, 203});
  // Every client left the queue: each may wait again.
  queue.Push(ClientNo(0), "tenant-0", kT0);
  CHECK(queue.size() == 1);
  CHECK(queue.Remove(ClientNo(0)));
  CHECK(queue.empty());
}

TEST_CASE("a client's remembered key is used only while it still has that name", "[waiter_queue]") {
  Clients ClientNo;
  WaiterQueue queue;
  // Client 199 waits under tenant-199, then every key is dropped and a slot reused for "other" (the
  // last key dropped is the first slot reused: tenant-199's).
  for (int i = 0; i < 200; ++i) queue.Push(ClientNo(i), "tenant-" + std::to_string(i), kT0);
  CHECK(queue.PopExpired(kT0).size() == 200);
  queue.Push(ClientNo(300), "other", kT0 + milliseconds(10));
  queue.Push(ClientNo(301), "other", kT0 + milliseconds(10));
  // Client 199 comes back under its old name: a key of its own, behind "other" in the rotation, not
  // a place in "other"'s queue.
  queue.Push(ClientNo(199), "tenant-199", kT0 + milliseconds(10));
  CHECK(queue.key_count() == 2);
  CHECK(DrainOrder(queue, ClientNo) == std::vector<int>{300, 199, 301});
  // And under another name than last time: that name's queue.
  queue.Push(ClientNo(5), "other", kT0);
  queue.Push(ClientNo(199), "other", kT0);
  queue.Push(ClientNo(6), "tenant-6", kT0);
  CHECK(DrainOrder(queue, ClientNo) == std::vector<int>{5, 6, 199});
}

// A model of the rules: a list of keys in rotation order, a FIFO per key.
class ModelQueue {
 public:
  void Push(int client, const std::string& key) {
    if (where_.count(client) != 0) return;
    if (fifo_[key].empty()) rotation_.push_back(key);
    fifo_[key].push_back(client);
    where_[client] = key;
  }
  std::optional<int> PopNext() {
    if (rotation_.empty()) return std::nullopt;
    std::string key = rotation_.front();
    rotation_.pop_front();
    int client = fifo_[key].front();
    fifo_[key].pop_front();
    where_.erase(client);
    if (!fifo_[key].empty()) rotation_.push_back(key);
    return client;
  }
  bool Remove(int client) {
    auto it = where_.find(client);
    if (it == where_.end()) return false;
    std::deque<int>& fifo = fifo_[it->second];
    fifo.erase(std::find(fifo.begin(), fifo.end(), client));
    if (fifo.empty()) rotation_.erase(std::find(rotation_.begin(), rotation_.end(), it->second));
    where_.erase(it);
    return true;
  }
  size_t size() const { return where_.size(); }

 private:
  std::deque<std::string> rotation_;
  std::map<std::string, std::deque<int>> fifo_;
  std::map<int, std::string> where_;
};

TEST_CASE("random pushes, pops and removals follow the model", "[waiter_queue]") {
  const unsigned seed = std::random_device{}();
  std::cout << "waiter_queue random test seed " << seed << "\n";
  INFO("seed " << seed);
  std::mt19937 random(seed);
  Clients ClientNo;
  WaiterQueue queue;
  ModelQueue model;
  int next_client = 0;
  for (int step = 0; step < 20000; ++step) {
    int what = static_cast<int>(random() % 11);
    if (what == 10) {  // expires no one; drops idle keys once there are many (the 300 below)
      REQUIRE(queue.PopExpired(kT0 - milliseconds(1)).empty());
    } else if (what < 5) {
      // Mostly a few busy keys, sometimes one of many (a shared pool's tenants).
      std::string key = "tenant-" + std::to_string(random() % 4 == 0 ? 7 + random() % 300 : random() % 7);
      model.Push(next_client, key);
      queue.Push(ClientNo(next_client), key, kT0);
      ++next_client;
    } else if (what < 8) {
      std::optional<int> expected = model.PopNext();
      std::optional<WaiterQueue::Waiter> got = queue.PopNext();
      REQUIRE(got.has_value() == expected.has_value());
      if (got) REQUIRE(got->client == ClientNo(*expected));
    } else {
      int client = next_client == 0 ? 0 : static_cast<int>(random() % next_client);
      REQUIRE(queue.Remove(ClientNo(client)) == model.Remove(client));
    }
    REQUIRE(queue.size() == model.size());
  }
}

}  // namespace
}  // namespace pgtenant::proxy
