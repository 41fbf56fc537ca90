// BackendBudget: slots, the round-robin queue of pools, idle reclaim and fair share.
#include "proxy/server/backend_budget.h"

#include <algorithm>

#include "proxy/server/server_pool.h"

namespace pgtenant::proxy {

bool BackendBudget::TryReserve(ServerPool* pool) {
  if (cap_ <= 0 || open_ < cap_) {
    ++open_;
    return true;
  }
  if (std::find(waiting_.begin(), waiting_.end(), pool) == waiting_.end()) waiting_.push_back(pool);
  // Make room: an idle connection of another pool is worth less than a waiting client.
  for (ServerPool* other : pools_) {
    if (other != pool && other->idle_count() > 0) {
      other->RetireIdle();
      break;
    }
  }
  return false;
}

void BackendBudget::Return() {
  if (open_ > 0) --open_;
  // Round robin: the pool at the front gets the first chance; if it no longer needs a slot,
  // the next one does.
  size_t rounds = waiting_.size();
  while (rounds-- > 0 && !waiting_.empty() && (cap_ <= 0 || open_ < cap_)) {
    ServerPool* pool = waiting_.front();
    waiting_.pop_front();
    pool->Dispatch();
  }
}

bool BackendBudget::ShouldYield(const ServerPool* pool) const {
  if (cap_ <= 0 || waiting_.empty()) return false;
  if (waiting_.size() == 1 && waiting_.front() == pool) return false;
  size_t with_demand = 0;
  for (const ServerPool* p : pools_)
    if (p->total() > 0 || std::find(waiting_.begin(), waiting_.end(), p) != waiting_.end()) ++with_demand;
  size_t share = std::max<size_t>(1, static_cast<size_t>(cap_) / std::max<size_t>(1, with_demand));
  return pool->total() > share;
}

}  // namespace pgtenant::proxy
