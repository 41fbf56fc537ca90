// JwtVerifier: signatures (HS256, RS256, ES256, PEM and JWKS keys) and claims, with exact reasons.
#include "proxy/session/jwt_verifier.h"

#include <stdlib.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "protocol/sqlstate.h"
#include "tests/support/jwt_maker.h"

namespace pgtenant::proxy {
namespace {

constexpr int64_t kNow = 1'800'000'000;
constexpr char kSecret[] = "a-shared-secret-of-32-bytes-long";

std::string Payload(const std::string& extra = "", int64_t exp = kNow + 600) {
  return R"({"sub":"alice","iss":"https://idp.example.com","aud":"pgtenant","exp":)" + std::to_string(exp) +
         (extra.empty() ? "" : "," + extra) + "}";
}

config::JwtConfig HmacConfig() {
  config::JwtConfig c;
  c.secret = kSecret;
  c.issuer = "https://idp.example.com";
  c.audience = "pgtenant";
  c.tenant_claim = "org_id";
  return c;
}

std::string Reason(const Result<JwtClaims>& r) { return r.ok() ? "(accepted)" : r.status().message(); }

class KeyDir {
 public:
  KeyDir() {
    char tmpl[] = "/tmp/pgtenant_jwt_XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~KeyDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

TEST_CASE("a valid HS256 token gives its user and tenant claims") {
  auto verifier = JwtVerifier::Create(HmacConfig());
  REQUIRE(verifier.ok());
  auto claims = (*verifier)->Verify(testing::HmacToken(kSecret, Payload(R"("org_id":"acme")")), kNow);
  REQUIRE(claims.ok());
  CHECK(claims->user == "alice");
  CHECK(claims->tenant == std::optional<std::string>("acme"));
}

TEST_CASE("each wrong token is refused with 28P01 and a reason that never contains the token") {
  auto verifier = JwtVerifier::Create(HmacConfig());
  REQUIRE(verifier.ok());
  const JwtVerifier& v = **verifier;
  auto check = [&](const std::string& token, const std::string& reason) {
    auto r = v.Verify(token, kNow);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().sqlstate() == sqlstate::kInvalidPassword);
    CHECK(r.status().message() == "pgtenant: JWT rejected: " + reason);
    CHECK(r.status().message().find(token) == std::string::npos);
  };
  check(testing::HmacToken("another secret", Payload()), "bad signature");
  check(testing::HmacToken(kSecret, Payload("", kNow - 31)), "token expired");
  check(testing::HmacToken(kSecret, R"({"sub":"alice","iss":"https://idp.example.com","aud":"other","exp":)" +
                                        std::to_string(kNow + 60) + "}"),
        "wrong audience (expected \"pgtenant\")");
  check(testing::HmacToken(kSecret, R"({"sub":"alice","iss":"https://evil","aud":"pgtenant","exp":)" +
                                        std::to_string(kNow + 60) + "}"),
        "wrong issuer (expected \"https://idp.example.com\")");
  check(testing::HmacToken(kSecret, Payload("\"nbf\":" + std::to_string(kNow + 120))), "token not yet valid (nbf)");
  check(testing::HmacToken(kSecret, R"({"sub":"alice","aud":"pgtenant","iss":"https://idp.example.com"})"),
        "the token has no expiry (exp)");
  check(testing::HmacToken(kSecret, Payload(), R"({"alg":"none"})"),
        "unsupported algorithm \"none\" (HS256, RS256 and ES256 are accepted)");
  check(testing::HmacToken(kSecret, Payload(), R"({"alg":"RS256"})"), "RS256 tokens are not accepted (no public keys)");
  check("not-a-token", "the password is not a JWT (expected header.payload.signature)");
  check("a.b!.c", "malformed token (invalid base64url)");
}

TEST_CASE("clock skew tolerates a token that expired a moment ago; aud may be an array") {
  auto verifier = JwtVerifier::Create(HmacConfig());
  REQUIRE(verifier.ok());
  CHECK((*verifier)->Verify(testing::HmacToken(kSecret, Payload("", kNow - 29)), kNow).ok());
  auto array_aud = testing::HmacToken(
      kSecret, R"({"sub":"alice","iss":"https://idp.example.com","aud":["x","pgtenant"],"exp":)" +
                   std::to_string(kNow + 60) + "}");
  CHECK((*verifier)->Verify(array_aud, kNow).ok());
}

TEST_CASE("RS256 and ES256 verify with PEM public keys; HS256 signed with a public key is refused") {
  KeyDir dir;
  EVP_PKEY* rsa = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
  EVP_PKEY* ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  testing::WritePublicKeyPem(rsa, dir.File("rsa.pem"));
  testing::WritePublicKeyPem(ec, dir.File("ec.pem"));
  config::JwtConfig c;
  c.public_keys = {dir.File("rsa.pem"), dir.File("ec.pem")};
  auto verifier = JwtVerifier::Create(c);
  REQUIRE(verifier.ok());
  CHECK(Reason((*verifier)->Verify(testing::SignedToken(rsa, Payload()), kNow)) == "(accepted)");
  CHECK(Reason((*verifier)->Verify(testing::SignedToken(ec, Payload()), kNow)) == "(accepted)");
  EVP_PKEY* stranger = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  CHECK(Reason((*verifier)->Verify(testing::SignedToken(stranger, Payload()), kNow)) ==
        "pgtenant: JWT rejected: bad signature");
  // Algorithm confusion: the public key's PEM text used as an HMAC secret.
  std::ifstream pem(dir.File("rsa.pem"));
  std::string pem_text((std::istreambuf_iterator<char>(pem)), std::istreambuf_iterator<char>());
  CHECK(Reason((*verifier)->Verify(testing::HmacToken(pem_text, Payload()), kNow)) ==
        "pgtenant: JWT rejected: HS256 tokens are not accepted (no auth.jwt.secret)");
  EVP_PKEY_free(rsa);
  EVP_PKEY_free(ec);
  EVP_PKEY_free(stranger);
}

TEST_CASE("a JWKS file gives keys by kid") {
  KeyDir dir;
  EVP_PKEY* rsa = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
  EVP_PKEY* ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  std::ofstream(dir.File("jwks.json")) << R"({"keys":[)" << testing::Jwk(rsa, "r1") << "," << testing::Jwk(ec, "e1")
                                       << "]}";
  config::JwtConfig c;
  c.jwks = dir.File("jwks.json");
  auto verifier = JwtVerifier::Create(c);
  REQUIRE(verifier.ok());
  CHECK((*verifier)->key_count() == 2);
  CHECK(Reason((*verifier)->Verify(testing::SignedToken(rsa, Payload(), "r1"), kNow)) == "(accepted)");
  CHECK(Reason((*verifier)->Verify(testing::SignedToken(ec, Payload(), "e1"), kNow)) == "(accepted)");
  CHECK(Reason((*verifier)->Verify(testing::SignedToken(rsa, Payload(), "e1"), kNow)) ==
        "pgtenant: JWT rejected: bad signature");
  EVP_PKEY_free(rsa);
  EVP_PKEY_free(ec);
}

TEST_CASE("unreadable key files are configuration errors naming the file") {
  config::JwtConfig c;
  c.jwks = "/nonexistent/jwks.json";
  auto verifier = JwtVerifier::Create(c);
  REQUIRE_FALSE(verifier.ok());
  CHECK(verifier.status().message().find("auth.jwt.jwks: cannot read \"/nonexistent/jwks.json\"") != std::string::npos);
}

}  // namespace
}  // namespace pgtenant::proxy
