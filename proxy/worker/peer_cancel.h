// PeerCancel: cancel keys that say which pgtenant instance issued them, and the forwarding of cancel
// requests to the instance that can act on them (scale-out: N instances behind one load balancer).
//
// The process id pgtenant hands out in BackendKeyData is: bit 31 clear, bits 30..21 the instance id
// (0..config::kMaxInstanceId), bits 20..15 the worker (event-loop thread) of the session, bits 14..0
// random; the secret key is 32 random bits. So 47 bits of a key are random, against PostgreSQL's
// own 32.
//
// A CancelRequest this instance has no target for is forwarded when its pid names another instance
// listed in `peers:`: a plain CancelRequest to that peer's address, fire and forget. Loops cannot
// form: an instance never forwards a key naming itself, and forwards a given (pid, key) at most
// once per kForwardWindow (so a mis-addressed peer list costs at most one hop per instance).
//
// Thread-safety: set_instance_id before any worker runs; the rest from any worker's thread (one
// mutex), so a key is forwarded at most once per instance, whichever worker received it.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_set>
#include <vector>

#include "config/config.h"
#include "protocol/status.h"

namespace pgtenant::proxy {

class PeerCancel {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr int kRandomPidBits = 21;  // below the instance id: the worker and random bits
  static constexpr int kWorkerShift = 15;
  static constexpr int kMaxWorkers = config::kMaxWorkers;  // 6 bits
  static constexpr std::chrono::seconds kForwardWindow{10};
  static constexpr size_t kMaxRemembered = 4096;  // forwards remembered in the window; beyond, none

  // "--instance-id N" / PGTENANT_INSTANCE_ID: nullopt when neither was given (the id is then 0).
  void set_instance_id(std::optional<int> id) { instance_id_ = id; }
  int instance_id() const { return instance_id_.value_or(0); }

  // Takes the peer list of a (re)loaded config. An error when peers are configured but this
  // instance has no id or is not among them (the list is taken anyway).
  Status Configure(const std::vector<config::PeerConfig>& peers);

  // A fresh pid for BackendKeyData, naming this instance and `worker`; never 0.
  int32_t NewPid(int worker) const;
  // The instance and the worker a pid names.
  static int InstanceOf(int32_t pid) { return (pid >> kRandomPidBits) & config::kMaxInstanceId; }
  static int WorkerOf(int32_t pid) { return (pid >> kWorkerShift) & (kMaxWorkers - 1); }

  // For a CancelRequest with no local target: forwards it if it names a peer. True if forwarded.
  bool Forward(uv_loop_t* loop, int32_t pid, int32_t key, Clock::time_point now = Clock::now());

 private:
  std::optional<int> instance_id_;
  std::mutex mu_;
  std::vector<config::PeerConfig> peers_;  // GUARDED_BY(mu_), as are the two below
  struct Forwarded {
    Clock::time_point at;
    uint64_t request;  // pid << 32 | key
  };
  std::deque<Forwarded> recent_;  // oldest first
  std::unordered_set<uint64_t> recent_set_;
};

}  // namespace pgtenant::proxy
