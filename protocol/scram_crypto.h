// ScramKeys and SCRAM message attributes: the RFC 5802 primitives shared by ScramServer, ScramClient
// and ScramVerifier. Internal to protocol/; other modules use protocol/scram.h.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "protocol/status.h"

namespace pgtenant::protocol::scram_internal {

using Key = std::array<uint8_t, 32>;  // one SHA-256 output

std::span<const uint8_t> AsBytes(std::string_view s);
Key Sha256(std::span<const uint8_t> data);
Key HmacSha256(std::span<const uint8_t> key, std::string_view data);
// SaltedPassword := Hi(password, salt, i) = PBKDF2-HMAC-SHA-256 (RFC 5802 section 2.2).
Key SaltedPassword(std::string_view password, std::string_view salt, int iterations);

// The keys RFC 5802 section 3 derives from a SaltedPassword.
struct ScramKeys {
  Key client_key, stored_key, server_key;
};
ScramKeys DeriveKeys(const Key& salted_password);

// A random nonce: kScramRawNonceLength bytes, base64.
std::string RandomNonce();

// True if every character is printable ASCII other than ',' (RFC 5802 "printable"), and s is non-empty.
bool IsPrintableNonce(std::string_view s);

// Reads "<name>=<value>" at the start of `input` up to the next ',' (consumed) or the end. False if the
// attribute there has another name or no '='. `name` 0 accepts any letter (extensions); the name read is
// stored in *actual if given. A ',' that ends the input is malformed (false).
bool ReadAttribute(std::string_view& input, char name, std::string_view& value, char* actual = nullptr);

Status Malformed(std::string_view what);  // 08P01 "malformed SCRAM message: <what>"

}  // namespace pgtenant::protocol::scram_internal
