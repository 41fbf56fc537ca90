// Base64 (RFC 4648): the standard alphabet with padding, which SCRAM uses for salts, nonces, proofs and
// signatures and PostgreSQL uses in SCRAM verifiers; and base64url without padding, which JWTs use
// (RFC 7515 section 2). The one base64 codec of pgtenant.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "protocol/status.h"

namespace pgtenant::protocol {

// Standard alphabet, '=' padding, no line breaks.
std::string Base64Encode(std::span<const uint8_t> data);
std::string Base64Encode(std::string_view data);

// Strict: the length must be a multiple of 4, only the standard alphabet, '=' only as the last one
// or two characters, no whitespace. Errors carry SQLSTATE 08P01 (the input usually comes off the wire).
Result<std::string> Base64Decode(std::string_view text);

// URL-safe alphabet ('-' and '_' for '+' and '/'), no padding.
std::string Base64UrlEncode(std::string_view data);

// Strict: only the URL-safe alphabet, no padding, no whitespace, not a length of 4n+1. Errors carry
// SQLSTATE 08P01.
Result<std::string> Base64UrlDecode(std::string_view text);

}  // namespace pgtenant::protocol
