// PeerCancel: cancel keys name their instance; unknown cancels go to that peer, once.
#include <catch2/catch.hpp>

#include <set>

#include "proxy/worker/peer_cancel.h"

namespace pgtenant::proxy {
namespace {

TEST_CASE("pids name the instance in bits 30..21, the worker in 20..15, and are otherwise random", "[peer_cancel]") {
  PeerCancel peers;
  peers.set_instance_id(1023);
  std::set<int32_t> seen;
  for (int i = 0; i < 200; ++i) {
    const int worker = i % PeerCancel::kMaxWorkers;
    const int32_t pid = peers.NewPid(worker);
    CHECK(pid > 0);
    CHECK(PeerCancel::InstanceOf(pid) == 1023);
    CHECK(PeerCancel::WorkerOf(pid) == worker);
    seen.insert(pid & ((1 << PeerCancel::kWorkerShift) - 1));
  }
  CHECK(seen.size() > 190);  // 15 random bits: a few collisions in 200 draws at most

  PeerCancel unset;  // no --instance-id: instance 0
  CHECK(PeerCancel::InstanceOf(unset.NewPid(5)) == 0);
  CHECK(PeerCancel::WorkerOf(unset.NewPid(5)) == 5);
}

TEST_CASE("peers need this instance's id among them", "[peer_cancel]") {
  const std::vector<config::PeerConfig> list = {{1, "10.0.0.1", 6432}, {2, "10.0.0.2", 6432}};
  PeerCancel peers;
  CHECK(peers.Configure({}).ok());
  CHECK_THAT(peers.Configure(list).message(), Catch::Contains("--instance-id"));
  peers.set_instance_id(3);
  CHECK_THAT(peers.Configure(list).message(), Catch::Contains("id 3 is not listed under peers"));
  peers.set_instance_id(2);
  CHECK(peers.Configure(list).ok());
}

TEST_CASE("cancels naming this instance, an unknown one, or none at all are not forwarded", "[peer_cancel]") {
  PeerCancel peers;
  peers.set_instance_id(2);
  REQUIRE(peers.Configure({{1, "127.0.0.1", 1}, {2, "127.0.0.1", 2}}).ok());
  const int32_t own = (2 << PeerCancel::kRandomPidBits) | 7;
  const int32_t unknown = (9 << PeerCancel::kRandomPidBits) | 7;
  CHECK_FALSE(peers.Forward(nullptr, own, 1));      // never reaches the loop: nothing is sent
  CHECK_FALSE(peers.Forward(nullptr, unknown, 1));

  PeerCancel alone;  // no peers configured
  CHECK_FALSE(alone.Forward(nullptr, (1 << PeerCancel::kRandomPidBits) | 7, 1));
}

TEST_CASE("a cancel naming a peer is forwarded once per key within the window", "[peer_cancel]") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  PeerCancel peers;
  peers.set_instance_id(2);
  REQUIRE(peers.Configure({{1, "127.0.0.1", 1}, {2, "127.0.0.1", 2}}).ok());  // port 1: refused, quickly
  const int32_t pid = (1 << PeerCancel::kRandomPidBits) | 7;
  const auto now = PeerCancel::Clock::now();
  CHECK(peers.Forward(&loop, pid, 42, now));
  CHECK_FALSE(peers.Forward(&loop, pid, 42, now));  // came back (a loop): dropped
  CHECK(peers.Forward(&loop, pid, 43, now));        // another key
  CHECK(peers.Forward(&loop, pid, 42, now + PeerCancel::kForwardWindow));
  uv_run(&loop, UV_RUN_DEFAULT);  // the forwarders connect, fail and free themselves
  CHECK(uv_loop_close(&loop) == 0);
}

}  // namespace
}  // namespace pgtenant::proxy
