// Randomness from OpenSSL's CSPRNG; failure is fatal rather than silently weak.
//
// Small requests (a cancel key, a SCRAM nonce) are served from a per-thread pool filled 256 bytes at a
// time: each RAND_bytes call costs a getpid() system call (OpenSSL's fork check), and a new connection
// asks four times. The pool is dropped in a forked child, so parent and child never share bytes.
#include "protocol/random.h"

#include <openssl/rand.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace pgtenant::protocol {

namespace {

constexpr size_t kPoolSize = 256;
constexpr size_t kMaxPooledRequest = 64;

std::atomic<uint64_t> fork_generation{0};

void FillFromOpenSsl(std::span<uint8_t> out) {
  // RAND_bytes takes an int length; fill in chunks so any span size is safe.
  size_t done = 0;
  while (done < out.size()) {
    const size_t chunk = std::min<size_t>(out.size() - done, INT_MAX);
    if (RAND_bytes(out.data() + done, static_cast<int>(chunk)) != 1) std::abort();
    done += chunk;
  }
}

struct Pool {
  uint8_t bytes[kPoolSize];
  size_t used = kPoolSize;  // empty
  uint64_t generation = 0;

  Pool() {
    static const bool registered = [] {
      pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1); });
      return true;
    }();
    (void)registered;
  }
  ~Pool() { OPENSSL_cleanse(bytes, sizeof bytes); }

  void Take(std::span<uint8_t> out) {
    const uint64_t now = fork_generation.load(std::memory_order_relaxed);
    if (generation != now || kPoolSize - used < out.size()) {
      FillFromOpenSsl(bytes);
      used = 0;
      generation = now;
    }
    std::memcpy(out.data(), bytes + used, out.size());
    OPENSSL_cleanse(bytes + used, out.size());  // handed out once
    used += out.size();
  }
};

}  // namespace

void FillRandom(std::span<uint8_t> out) {
  if (out.size() > kMaxPooledRequest) {
    FillFromOpenSsl(out);
    return;
  }
  thread_local Pool pool;
  pool.Take(out);
}

int32_t RandomInt32() {
  uint8_t bytes[4];
  FillRandom(bytes);
  int32_t value;
  std::memcpy(&value, bytes, sizeof value);
  return value;
}

}  // namespace pgtenant::protocol
