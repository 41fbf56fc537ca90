// Pool placement among workers under `worker_placement: adaptive` (proxy/worker/worker_group.h).
//
// A worker's loop wakes once per burst of events, and every wake-up costs kernel time: two loops
// that are each lightly loaded wake about twice as often as one loop carrying both, for the same
// work. So pools fill the lowest worker until its thread is busy (more than `busy` of a core over
// the last second); then pools move to a quieter worker, one at a time. When two workers together
// use less than half of `busy`, the higher one's pools come back to the lower one. A single pool is
// never split: it is served by one thread wherever it lives.
//
// Pure functions of the measured figures: no clock, no threads.
#pragma once

#include <optional>
#include <span>
#include <string>

namespace pgtenant::proxy {

// A pool as the planner sees it.
struct PoolLoad {
  std::string key;            // WorkerGroup's placement key
  int worker = 0;             // where it lives
  double transactions = 0;    // transactions (server acquisitions) over the last measurement
  bool movable = false;       // transaction pooling, and its backend has no max_connections
};

struct PoolMove {
  std::string key;
  int from = 0;
  int to = 0;
};

// The worker for a new pool: the lowest one using less than half of `busy`; when all are busier,
// the least busy. `cpu[i]` is worker i's share of a core (0..1).
int PickHomeForNewPool(std::span<const double> cpu, double busy);

// The one move that helps most now, if any: first relieving a busy worker (the move must lower the
// busier of the two workers' estimated loads), then bringing pools of lightly loaded workers
// together. A pool's load is estimated as its share of its worker's transactions times that
// worker's CPU.
std::optional<PoolMove> PlanPoolMove(std::span<const double> cpu, std::span<const PoolLoad> pools, double busy);

}  // namespace pgtenant::proxy
