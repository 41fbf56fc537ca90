// Test JWTs: HS256 with a secret, RS256/ES256 with a generated key; and the JWK of a public key.
// Header-only, shared by the unit and integration tests. Throws std::runtime_error on failure.
#pragma once

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <cstdio>
#include <stdexcept>
#include <string>

#include "protocol/base64.h"

namespace pgtenant::testing {

inline std::string B64Url(const std::string& bytes) { return protocol::Base64UrlEncode(bytes); }

inline std::string HmacToken(const std::string& secret, const std::string& payload_json,
                             const std::string& header_json = R"({"alg":"HS256","typ":"JWT"})") {
  std::string signing = B64Url(header_json) + "." + B64Url(payload_json);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signing.data()), signing.size(), mac, &length);
  return signing + "." + B64Url(std::string(reinterpret_cast<char*>(mac), length));
}

// RS256 when `key` is RSA, ES256 (raw r||s) when EC P-256.
inline std::string SignedToken(EVP_PKEY* key, const std::string& payload_json, const std::string& kid = "") {
  const bool rsa = EVP_PKEY_is_a(key, "RSA");
  std::string header = std::string(R"({"alg":")") + (rsa ? "RS256" : "ES256") + R"(","typ":"JWT")" +
                       (kid.empty() ? "" : R"(,"kid":")" + kid + "\"") + "}";
  std::string signing = B64Url(header) + "." + B64Url(payload_json);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t length = 0;
  if (EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx, nullptr, &length, reinterpret_cast<const unsigned char*>(signing.data()), signing.size()) != 1)
    throw std::runtime_error("EVP_DigestSign");
  std::string sig(length, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &length,
                 reinterpret_cast<const unsigned char*>(signing.data()), signing.size());
  sig.resize(length);
  EVP_MD_CTX_free(ctx);
  if (!rsa) {  // DER -> r || s
    const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* ecdsa = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    unsigned char raw[64];
    BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa), raw, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa), raw + 32, 32);
    ECDSA_SIG_free(ecdsa);
    sig.assign(reinterpret_cast<char*>(raw), 64);
  }
  return signing + "." + B64Url(sig);
}

inline void WritePublicKeyPem(EVP_PKEY* key, const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr || PEM_write_PUBKEY(f, key) != 1) throw std::runtime_error("PEM_write_PUBKEY");
  std::fclose(f);
}

inline std::string BignumParam(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) throw std::runtime_error("EVP_PKEY_get_bn_param");
  std::string bytes(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
  BN_free(bn);
  return bytes;
}

// {"kty":"RSA",...} or {"kty":"EC","crv":"P-256",...} for `key`'s public half.
inline std::string Jwk(EVP_PKEY* key, const std::string& kid) {
  if (EVP_PKEY_is_a(key, "RSA")) {
    return R"({"kty":"RSA","use":"sig","kid":")" + kid + R"(","n":")" + B64Url(BignumParam(key, OSSL_PKEY_PARAM_RSA_N)) +
           R"(","e":")" + B64Url(BignumParam(key, OSSL_PKEY_PARAM_RSA_E)) + "\"}";
  }
  unsigned char point[65];
  size_t length = 0;
  EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point), &length);
  if (length != 65) throw std::runtime_error("EC public key is not an uncompressed P-256 point");
  return R"({"kty":"EC","crv":"P-256","kid":")" + kid + R"(","x":")" +
         B64Url(std::string(reinterpret_cast<char*>(point + 1), 32)) + R"(","y":")" +
         B64Url(std::string(reinterpret_cast<char*>(point + 33), 32)) + "\"}";
}

}  // namespace pgtenant::testing
