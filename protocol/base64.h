// Base64 (RFC 4648, standard alphabet, with padding): the encoding SCRAM uses for salts, nonces,
// proofs and signatures, and PostgreSQL uses in SCRAM verifiers.
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

}  // namespace pgtenant::protocol
