// Cryptographically secure randomness for salts, nonces and cancel keys (OpenSSL RAND_bytes).
#pragma once

#include <cstdint>
#include <span>

namespace pgtenant::protocol {

// Fills `out` from OpenSSL's CSPRNG. Thread-safe. If the CSPRNG fails the process aborts:
// pgtenant never falls back to weak randomness.
void FillRandom(std::span<uint8_t> out);

// A uniformly random int32 (e.g. a BackendKeyData cancel key). Thread-safe; aborts like FillRandom.
int32_t RandomInt32();

}  // namespace pgtenant::protocol
