// MD5 password hashing as PostgreSQL does it (src/common/md5_common.c, src/backend/libpq/crypt.c).
#include "protocol/md5_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstdlib>

namespace pgtenant::protocol {
namespace {

constexpr std::string_view kMd5Prefix = "md5";
constexpr size_t kMd5HexLength = 32;

}  // namespace

std::string Md5Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  // EVP_Digest rather than MD5(): the low-level call is deprecated in OpenSSL 3.
  if (EVP_Digest(data.data(), data.size(), digest, &digest_len, EVP_md5(), nullptr) != 1) std::abort();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(digest_len * 2);
  for (unsigned int i = 0; i < digest_len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

std::string Md5PasswordHash(std::string_view password, std::string_view user) {
  std::string input(password);
  input.append(user);
  return std::string(kMd5Prefix) + Md5Hex(input);
}

bool IsMd5PasswordHash(std::string_view text) {
  if (text.size() != kMd5Prefix.size() + kMd5HexLength || !text.starts_with(kMd5Prefix)) return false;
  for (char c : text.substr(kMd5Prefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string Md5SaltedResponse(std::string_view stored_md5_hash, std::span<const uint8_t, 4> salt) {
  std::string input(stored_md5_hash.starts_with(kMd5Prefix) ? stored_md5_hash.substr(kMd5Prefix.size())
                                                              : stored_md5_hash);
  input.append(reinterpret_cast<const char*>(salt.data()), salt.size());
  return std::string(kMd5Prefix) + Md5Hex(input);
}

bool VerifyMd5Response(std::string_view stored_md5_hash, std::span<const uint8_t, 4> salt, std::string_view response) {
  if (!IsMd5PasswordHash(stored_md5_hash)) return false;
  const std::string expected = Md5SaltedResponse(stored_md5_hash, salt);
  // The expected length is public (always 35); only the content comparison must not leak timing.
  if (response.size() != expected.size()) return false;
  return CRYPTO_memcmp(expected.data(), response.data(), expected.size()) == 0;
}

}  // namespace pgtenant::protocol
