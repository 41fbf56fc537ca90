// The config thread: where replaced config snapshots are freed and where SIGHUP's reload reads the file,
// so that neither runs on an event loop.
//
// RetireOffLoop: a 100,000-tenant snapshot takes ~0.1 s to free, and its last reference drops wherever it
// happens to: the worker that applies the next snapshot, or a session adopting it at its transaction
// boundary. That worker's clients waited meanwhile. The snapshot RetireOffLoop returns is the same config;
// when its last reference drops, the config is handed to the config thread, which frees it and then gives
// the freed heap back to the system (malloc_trim).
//
// RunOnConfigThread: work a loop must not wait for, done on the config thread while the caller (not a
// loop: libuv's pool, the catalog reader) waits: SIGHUP's read of the file and its comparison with the
// running config (at 100,000 tenants the comparison was all that was left of a reload on the loop), a
// tenant catalog's merges.
// One thread for both reading and freeing, because glibc
// gives each thread that allocates its own arena: snapshots read on libuv's pool (up to four threads) kept
// up to four arenas' worth of fragments, RSS ~195 MB after a few reloads of a 100,000-tenant file that
// starts at 95 MB.
//
// Thread-safety: call from any thread. The thread lives as long as the process (it is never torn down,
// so a reference dropped while the process exits still has somewhere to go).
#pragma once

#include <functional>
#include <memory>

#include "config/config.h"

namespace pgtenant::proxy {

std::shared_ptr<const config::Config> RetireOffLoop(std::shared_ptr<const config::Config> config);

// Blocks the calling thread (not a loop) until the config thread has run `task`.
void RunOnConfigThread(const std::function<void()>& task);

// Waits until what was handed to the config thread so far is done (tests).
void WaitForRetiredConfigs();

}  // namespace pgtenant::proxy
