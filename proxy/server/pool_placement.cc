// Pool placement: where a new pool goes, and which pool moves when loads change.
#include "proxy/server/pool_placement.h"

#include <algorithm>

namespace pgtenant::proxy {

namespace {

// A move must take at least this share of a core off the busier worker: smaller gains are noise.
constexpr double kMinimumGain = 0.05;

int LeastBusy(std::span<const double> cpu, int except) {
  int best = -1;
  for (int i = 0; i < static_cast<int>(cpu.size()); ++i) {
    if (i == except) continue;
    if (best < 0 || cpu[static_cast<size_t>(i)] < cpu[static_cast<size_t>(best)]) best = i;
  }
  return best;
}

std::optional<PoolMove> Relieve(std::span<const double> cpu, std::span<const PoolLoad> pools, double busy) {
  const int from = static_cast<int>(std::max_element(cpu.begin(), cpu.end()) - cpu.begin());
  const double load = cpu[static_cast<size_t>(from)];
  if (load <= busy) return std::nullopt;
  const int to = LeastBusy(cpu, from);
  if (to < 0) return std::nullopt;
  double transactions = 0;
  for (const PoolLoad& pool : pools)
    if (pool.worker == from) transactions += pool.transactions;
  if (transactions <= 0) return std::nullopt;
  const PoolLoad* best = nullptr;
  double best_peak = load - kMinimumGain;
  for (const PoolLoad& pool : pools) {
    if (pool.worker != from || !pool.movable || pool.transactions <= 0) continue;
    const double share = load * pool.transactions / transactions;
    const double peak = std::max(load - share, cpu[static_cast<size_t>(to)] + share);
    if (peak < best_peak) {
      best_peak = peak;
      best = &pool;
    }
  }
  if (best == nullptr) return std::nullopt;
  return PoolMove{best->key, from, to};
}

std::optional<PoolMove> Gather(std::span<const double> cpu, std::span<const PoolLoad> pools, double busy) {
  for (int from = static_cast<int>(cpu.size()) - 1; from > 0; --from) {
    const PoolLoad* busiest = nullptr;
    for (const PoolLoad& pool : pools) {
      if (pool.worker == from && pool.movable && (busiest == nullptr || pool.transactions > busiest->transactions))
        busiest = &pool;
    }
    if (busiest == nullptr) continue;
    for (int to = 0; to < from; ++to) {
      if (cpu[static_cast<size_t>(to)] + cpu[static_cast<size_t>(from)] < busy / 2)
        return PoolMove{busiest->key, from, to};
    }
  }
  return std::nullopt;
}

}  // namespace

int PickHomeForNewPool(std::span<const double> cpu, double busy) {
  for (size_t i = 0; i < cpu.size(); ++i)
    if (cpu[i] < busy / 2) return static_cast<int>(i);
  return std::max(0, LeastBusy(cpu, -1));
}

std::optional<PoolMove> PlanPoolMove(std::span<const double> cpu, std::span<const PoolLoad> pools, double busy) {
  if (cpu.size() < 2) return std::nullopt;
  if (std::optional<PoolMove> move = Relieve(cpu, pools, busy)) return move;
  return Gather(cpu, pools, busy);
}

}  // namespace pgtenant::proxy
