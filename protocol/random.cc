// Randomness from OpenSSL's CSPRNG; failure is fatal rather than silently weak.
#include "protocol/random.h"

#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace pgtenant::protocol {

void FillRandom(std::span<uint8_t> out) {
  // RAND_bytes takes an int length; fill in chunks so any span size is safe.
  size_t done = 0;
  while (done < out.size()) {
    const size_t chunk = std::min<size_t>(out.size() - done, INT_MAX);
    if (RAND_bytes(out.data() + done, static_cast<int>(chunk)) != 1) std::abort();
    done += chunk;
  }
}

int32_t RandomInt32() {
  uint8_t bytes[4];
  FillRandom(bytes);
  int32_t value;
  std::memcpy(&value, bytes, sizeof value);
  return value;
}

}  // namespace pgtenant::protocol
