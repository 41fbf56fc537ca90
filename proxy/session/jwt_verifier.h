// JwtVerifier: checks a JSON Web Token (RFC 7519) used as a password, per auth.jwt.
//
// Signatures: HS256 with auth.jwt.secret; RS256 and ES256 with the PEM public keys of
// auth.jwt.public_keys or the keys of the JWKS file auth.jwt.jwks (chosen by `kid` when the token
// has one). The algorithm must fit the key (no HS256 with a public key, never "none"). Claims:
// `exp` is required, `nbf` optional, both with auth.jwt.clock_skew; `iss` and `aud` when
// configured; the user claim (default `sub`) must be a string; the tenant claim, when configured
// and present, is returned as written (a tenant name or id; the caller resolves it).
//
// Error messages say what is wrong ("token expired", "wrong audience", "bad signature") and never
// contain the token. Thread-safety: immutable after Create; Verify is const and reentrant.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "protocol/status.h"

namespace pgtenant::proxy {

struct JwtClaims {
  std::string user;
  std::optional<std::string> tenant;
};

class JwtVerifier {
 public:
  // Loads the keys named by `config`. Errors name the file and what is wrong with it.
  static Result<std::shared_ptr<const JwtVerifier>> Create(const config::JwtConfig& config);
  ~JwtVerifier();
  JwtVerifier(const JwtVerifier&) = delete;
  JwtVerifier& operator=(const JwtVerifier&) = delete;

  // `now`: seconds since the Unix epoch. Errors are 28P01 with the reason.
  Result<JwtClaims> Verify(std::string_view token, int64_t now) const;

  size_t key_count() const { return keys_.size() + (config_.secret.empty() ? 0 : 1); }

 private:
  struct PublicKey {
    std::string kid;  // "" when the key has none (PEM files)
    EVP_PKEY* key;    // owned
    bool rsa;         // RSA (RS256) or EC P-256 (ES256)
  };
  explicit JwtVerifier(config::JwtConfig config) : config_(std::move(config)) {}
  Status LoadPem(const std::string& path);
  Status LoadJwks(const std::string& path);
  bool CheckSignature(std::string_view alg, std::string_view kid, std::string_view signed_part,
                      const std::string& signature) const;

  config::JwtConfig config_;
  std::vector<PublicKey> keys_;
};

// The verifier for `config` (built once per config snapshot). REQUIRES: loop thread.
Result<std::shared_ptr<const JwtVerifier>> JwtVerifierFor(const std::shared_ptr<const config::Config>& config);

}  // namespace pgtenant::proxy
