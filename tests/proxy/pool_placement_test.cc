// Adaptive pool placement (proxy/server/pool_placement.h): new pools fill the lowest quiet worker; a busy
// worker passes the pool that evens the load best; quiet workers' pools come back together; a
// single pool, a pool that may not move, or a gain within noise moves nothing.
#include <catch2/catch.hpp>

#include <vector>

#include "proxy/server/pool_placement.h"

namespace pgtenant::proxy {
namespace {

constexpr double kBusy = 0.7;

TEST_CASE("a new pool goes to the lowest worker below half of busy, else the least busy", "[placement]") {
  CHECK(PickHomeForNewPool(std::vector<double>{0.0, 0.0}, kBusy) == 0);
  CHECK(PickHomeForNewPool(std::vector<double>{0.34, 0.0}, kBusy) == 0);
  CHECK(PickHomeForNewPool(std::vector<double>{0.36, 0.0}, kBusy) == 1);
  CHECK(PickHomeForNewPool(std::vector<double>{0.9, 0.5, 0.6}, kBusy) == 1);
  CHECK(PickHomeForNewPool(std::vector<double>{0.5}, kBusy) == 0);
}

TEST_CASE("a busy worker passes the pool that evens the two loads best", "[placement]") {
  const std::vector<double> cpu = {0.9, 0.1};
  const std::vector<PoolLoad> pools = {{"pool a", 0, 600, true}, {"pool b", 0, 300, true}, {"pool c", 0, 100, true},
                                       {"pool d", 1, 50, true}};
  auto move = PlanPoolMove(cpu, pools, kBusy);
  REQUIRE(move.has_value());
  // a: 0.36 / 0.64; b: 0.63 / 0.37; c: 0.81 / 0.19. b leaves the lower peak.
  CHECK(move->key == "pool b");
  CHECK(move->from == 0);
  CHECK(move->to == 1);
}

TEST_CASE("what cannot help does not move: one pool, pools that may not move, small gains", "[placement]") {
  SECTION("a single busy pool") {
    const std::vector<PoolLoad> pools = {{"pool a", 0, 1000, true}};
    CHECK_FALSE(PlanPoolMove(std::vector<double>{0.95, 0.0}, pools, kBusy).has_value());
  }
  SECTION("the busy worker's pools may not move") {
    const std::vector<PoolLoad> pools = {{"backend x", 0, 500, false}, {"pool s", 0, 500, false}};
    CHECK_FALSE(PlanPoolMove(std::vector<double>{0.95, 0.0}, pools, kBusy).has_value());
  }
  SECTION("the movable pool carries almost nothing") {
    const std::vector<PoolLoad> pools = {{"pool a", 0, 1000, true}, {"pool b", 0, 10, true}};
    CHECK_FALSE(PlanPoolMove(std::vector<double>{0.95, 0.0}, pools, kBusy).has_value());
  }
  SECTION("the other worker is as busy") {
    const std::vector<PoolLoad> pools = {{"pool a", 0, 500, true}, {"pool b", 0, 500, true},
                                         {"pool c", 1, 500, true}, {"pool d", 1, 500, true}};
    CHECK_FALSE(PlanPoolMove(std::vector<double>{0.9, 0.85}, pools, kBusy).has_value());
  }
  SECTION("one worker") {
    const std::vector<PoolLoad> pools = {{"pool a", 0, 500, true}, {"pool b", 0, 500, true}};
    CHECK_FALSE(PlanPoolMove(std::vector<double>{0.99}, pools, kBusy).has_value());
  }
}

TEST_CASE("pools of quiet workers come back to the lowest, busiest pool first, with hysteresis", "[placement]") {
  const std::vector<PoolLoad> pools = {{"pool a", 0, 100, true}, {"pool b", 1, 20, true}, {"pool c", 1, 80, true},
                                       {"pool d", 2, 0, false}};
  auto move = PlanPoolMove(std::vector<double>{0.2, 0.1, 0.0}, pools, kBusy);
  REQUIRE(move.has_value());
  CHECK(move->key == "pool c");
  CHECK(move->from == 1);
  CHECK(move->to == 0);
  // Together at or above half of busy: they stay apart (a move back would soon be undone).
  CHECK_FALSE(PlanPoolMove(std::vector<double>{0.25, 0.1, 0.0}, pools, kBusy).has_value());
  // Worker 2 has only a pool that may not move.
  CHECK_FALSE(PlanPoolMove(std::vector<double>{0.0, 0.0, 0.0},
                           std::vector<PoolLoad>{{"pool a", 0, 0, true}, {"pool d", 2, 0, false}}, kBusy)
                  .has_value());
}

}  // namespace
}  // namespace pgtenant::proxy
