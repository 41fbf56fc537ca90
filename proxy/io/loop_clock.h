// LoopNow: the time of the current turn of a worker's event loop.
//
// A transaction used to read the clock five or six times (client activity, transaction start, pool
// wait, transaction end, server idle, pool lifetime check): ~4% of pgtenant's CPU at one client.
// A worker now reads it once per turn of its loop: the first LoopNow after the loop woke reads the
// clock, the later ones in the same turn reuse that reading, and the reading is dropped right before
// the loop waits for events again (ProxyServer's uv_prepare handle calls NewLoopTurn). A timestamp is
// therefore late by at most the processing time of the turn it was taken in, never by a wait.
// On a thread without a loop (tests, helpers) LoopNow reads the clock every time.
//
// Thread-safety: the cached reading is per thread.
#pragma once

#include <chrono>

namespace pgtenant::proxy {

using Clock = std::chrono::steady_clock;

namespace loop_clock_internal {
struct TurnClock {
  bool enabled = false;  // this thread runs an event loop that calls NewLoopTurn before each wait
  bool valid = false;
  Clock::time_point now;
};
inline thread_local TurnClock turn_clock;
}  // namespace loop_clock_internal

inline Clock::time_point LoopNow() {
  loop_clock_internal::TurnClock& turn = loop_clock_internal::turn_clock;
  if (turn.valid) return turn.now;
  turn.now = Clock::now();
  turn.valid = turn.enabled;
  return turn.now;
}

// Called on the loop's thread right before each wait for events (and once to enable the cache).
inline void NewLoopTurn() {
  loop_clock_internal::turn_clock.enabled = true;
  loop_clock_internal::turn_clock.valid = false;
}

}  // namespace pgtenant::proxy
