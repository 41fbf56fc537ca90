// BackendBudget: the cap on server connections to one backend, shared by all its pools.
//
// Every pool of the backend reserves a slot before opening a connection and returns it when the
// connection has closed. When the cap is reached, a pool that needs a connection joins a
// round-robin queue, another pool's idle connection is closed to make room, and pools holding
// more than their fair share (cap / pools with demand) give a connection back at the end of a
// transaction — so one busy tenant cannot starve the others.
//
// Thread-safety: loop thread only. Pools register for their lifetime.
#pragma once

#include <deque>
#include <string>
#include <vector>

namespace pgtenant::proxy {

class ServerPool;

class BackendBudget {
 public:
  // cap 0 = unlimited.
  BackendBudget(std::string backend, int cap) : backend_(std::move(backend)), cap_(cap) {}
  BackendBudget(const BackendBudget&) = delete;
  BackendBudget& operator=(const BackendBudget&) = delete;

  void Register(ServerPool* pool) { pools_.push_back(pool); }

  // True if `pool` may open one more connection (the slot is taken). Otherwise the pool is
  // queued, hears Dispatch() when a slot frees, and an idle connection elsewhere is reclaimed.
  bool TryReserve(ServerPool* pool);
  // A connection counted by TryReserve has closed.
  void Return();
  // Whether `pool` should close a connection it is done with, so a waiting pool gets a slot.
  bool ShouldYield(const ServerPool* pool) const;

  void set_cap(int cap) { cap_ = cap; }
  int open() const { return open_; }
  int cap() const { return cap_; }
  size_t waiting_pools() const { return waiting_.size(); }

 private:
  std::string backend_;
  int cap_;
  int open_ = 0;
  std::vector<ServerPool*> pools_;
  std::deque<ServerPool*> waiting_;
};

}  // namespace pgtenant::proxy
