// ScramVerifier: PostgreSQL's stored SCRAM secret (src/common/scram-common.c scram_build_secret(),
// src/backend/libpq/auth-scram.c parse_scram_secret()), and the mock verifier for unknown users.
#include "protocol/scram.h"

#include <cassert>
#include <charconv>

#include "protocol/base64.h"
#include "protocol/random.h"
#include "protocol/scram_crypto.h"

namespace pgtenant::protocol {
namespace {

using scram_internal::AsBytes;
using scram_internal::Key;

constexpr std::string_view kVerifierPrefix = "SCRAM-SHA-256$";

Status InvalidVerifier(std::string_view what) {
  return Status::Error("invalid SCRAM-SHA-256 verifier: " + std::string(what));
}

bool DecodeKey(std::string_view text, Key& key) {
  Result<std::string> raw = Base64Decode(text);
  if (!raw.ok() || raw->size() != key.size()) return false;
  std::copy(raw->begin(), raw->end(), key.begin());
  return true;
}

}  // namespace

bool IsScramVerifier(std::string_view text) { return text.starts_with(kVerifierPrefix); }

Result<ScramVerifier> ScramVerifier::Parse(std::string_view text) {
  if (!IsScramVerifier(text)) return InvalidVerifier("expected prefix \"SCRAM-SHA-256$\"");
  text.remove_prefix(kVerifierPrefix.size());
  const size_t dollar = text.find('$');
  if (dollar == std::string_view::npos) return InvalidVerifier("expected <iterations>:<salt>$<StoredKey>:<ServerKey>");
  const std::string_view params = text.substr(0, dollar), keys = text.substr(dollar + 1);
  const size_t colon1 = params.find(':'), colon2 = keys.find(':');
  if (colon1 == std::string_view::npos || colon2 == std::string_view::npos) {
    return InvalidVerifier("expected <iterations>:<salt>$<StoredKey>:<ServerKey>");
  }
  ScramVerifier v;
  const std::string_view iterations = params.substr(0, colon1);
  const auto [end, ec] = std::from_chars(iterations.data(), iterations.data() + iterations.size(), v.iterations);
  if (iterations.empty() || ec != std::errc() || end != iterations.data() + iterations.size() || v.iterations < 1) {
    return InvalidVerifier("iteration count must be a positive integer");
  }
  Result<std::string> salt = Base64Decode(params.substr(colon1 + 1));
  if (!salt.ok() || salt->empty()) return InvalidVerifier("salt is not valid non-empty base64");
  v.salt = std::move(salt).value();
  if (!DecodeKey(keys.substr(0, colon2), v.stored_key)) return InvalidVerifier("StoredKey is not 32 bytes of base64");
  if (!DecodeKey(keys.substr(colon2 + 1), v.server_key)) return InvalidVerifier("ServerKey is not 32 bytes of base64");
  return v;
}

std::string ScramVerifier::ToString() const {
  return std::string(kVerifierPrefix) + std::to_string(iterations) + ":" + Base64Encode(salt) + "$" +
         Base64Encode(stored_key) + ":" + Base64Encode(server_key);
}

ScramVerifier MakeScramVerifier(std::string_view password, int iterations, std::string salt) {
  assert(iterations >= 1);
  if (salt.empty()) {
    salt.resize(kScramSaltLength);
    FillRandom(std::span<uint8_t>(reinterpret_cast<uint8_t*>(salt.data()), salt.size()));
  }
  const scram_internal::ScramKeys keys = scram_internal::DeriveKeys(scram_internal::SaltedPassword(password, salt, iterations));
  ScramVerifier v;
  v.iterations = iterations;
  v.salt = std::move(salt);
  v.stored_key = keys.stored_key;
  v.server_key = keys.server_key;
  return v;
}

ScramVerifier MakeMockVerifier(std::string_view username, std::string_view secret, int iterations) {
  // Distinct labels keep the three derived values independent. Nobody knows a ClientKey whose
  // SHA-256 is the mock StoredKey, so no proof can ever verify.
  const std::span<const uint8_t> key = AsBytes(secret);
  const Key salt = scram_internal::HmacSha256(key, "pgtenant mock salt\n" + std::string(username));
  ScramVerifier v;
  v.iterations = iterations;
  v.salt.assign(reinterpret_cast<const char*>(salt.data()), kScramSaltLength);
  v.stored_key = scram_internal::HmacSha256(key, "pgtenant mock StoredKey\n" + std::string(username));
  v.server_key = scram_internal::HmacSha256(key, "pgtenant mock ServerKey\n" + std::string(username));
  return v;
}

}  // namespace pgtenant::protocol
