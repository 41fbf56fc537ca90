// SCRAM-SHA-256 primitives (RFC 5802 sections 2.2, 3 and 7) over OpenSSL's EVP/HMAC/PBKDF2 APIs.
#include "protocol/scram_crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "protocol/base64.h"
#include "protocol/random.h"
#include "protocol/scram.h"
#include "protocol/sqlstate.h"

namespace pgtenant::protocol::scram_internal {

std::span<const uint8_t> AsBytes(std::string_view s) {
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

namespace {

// SHA-256 fetched once: EVP_sha256() and the one-shot HMAC() look the algorithm up in OpenSSL 3's
// provider store on every call, which was most of the cost of a login's SCRAM exchange (perf, -C).
const EVP_MD* FetchedSha256() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) std::abort();
  return md;
}

constexpr size_t kSha256BlockSize = 64;

// One SHA-256 over `parts`, with a per-thread digest context.
template <size_t N>
Key Sha256Of(const std::span<const uint8_t> (&parts)[N]) {
  struct CtxFree {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  thread_local const std::unique_ptr<EVP_MD_CTX, CtxFree> owned(EVP_MD_CTX_new());  // freed as the thread ends
  EVP_MD_CTX* const ctx = owned.get();
  Key out{};
  unsigned int len = 0;
  if (ctx == nullptr || EVP_DigestInit_ex2(ctx, FetchedSha256(), nullptr) != 1) std::abort();
  for (const auto& part : parts)
    if (EVP_DigestUpdate(ctx, part.data(), part.size()) != 1) std::abort();
  if (EVP_DigestFinal_ex(ctx, out.data(), &len) != 1 || len != out.size()) std::abort();
  return out;
}

}  // namespace

// OpenSSL failures here mean memory exhaustion or a broken library; continuing could authenticate
// wrongly, so they are fatal.
Key Sha256(std::span<const uint8_t> data) {
  const std::span<const uint8_t> parts[] = {data};
  return Sha256Of(parts);
}

// HMAC (RFC 2104): H((K ^ opad) || H((K ^ ipad) || data)), K padded to the block size (hashed first if longer).
Key HmacSha256(std::span<const uint8_t> key, std::string_view data) {
  uint8_t block[kSha256BlockSize] = {};
  if (key.size() > kSha256BlockSize) {
    const Key hashed = Sha256(key);
    std::copy(hashed.begin(), hashed.end(), block);
  } else {
    std::copy(key.begin(), key.end(), block);
  }
  uint8_t pad[kSha256BlockSize];
  for (size_t i = 0; i < kSha256BlockSize; ++i) pad[i] = block[i] ^ 0x36;
  const std::span<const uint8_t> inner_parts[] = {pad, AsBytes(data)};
  const Key inner = Sha256Of(inner_parts);
  for (size_t i = 0; i < kSha256BlockSize; ++i) pad[i] = block[i] ^ 0x5c;
  const std::span<const uint8_t> outer_parts[] = {pad, inner};
  const Key out = Sha256Of(outer_parts);
  OPENSSL_cleanse(block, sizeof block);
  OPENSSL_cleanse(pad, sizeof pad);
  return out;
}

Key SaltedPassword(std::string_view password, std::string_view salt, int iterations) {
  Key out{};
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()), iterations,
                        EVP_sha256(), static_cast<int>(out.size()), out.data()) != 1) {
    std::abort();
  }
  return out;
}

ScramKeys DeriveKeys(const Key& salted_password) {
  ScramKeys keys;
  keys.client_key = HmacSha256(salted_password, "Client Key");
  keys.stored_key = Sha256(keys.client_key);
  keys.server_key = HmacSha256(salted_password, "Server Key");
  return keys;
}

std::string RandomNonce() {
  std::array<uint8_t, kScramRawNonceLength> raw{};
  FillRandom(raw);
  return Base64Encode(raw);
}

bool IsPrintableNonce(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  }
  return true;
}

bool ReadAttribute(std::string_view& input, char name, std::string_view& value, char* actual) {
  if (input.size() < 2 || input[1] != '=') return false;
  const char c = input[0];
  if (name != 0 ? c != name : !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return false;
  const size_t comma = input.find(',');
  if (comma != std::string_view::npos && comma + 1 == input.size()) return false;  // trailing ','
  value = input.substr(2, comma == std::string_view::npos ? std::string_view::npos : comma - 2);
  input.remove_prefix(comma == std::string_view::npos ? input.size() : comma + 1);
  if (actual != nullptr) *actual = c;
  return true;
}

Status Malformed(std::string_view what) {
  return Status::Error(sqlstate::kProtocolViolation, "malformed SCRAM message: " + std::string(what));
}

}  // namespace pgtenant::protocol::scram_internal
