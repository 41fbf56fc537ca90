// JwtVerifier: JWS compact serialization (RFC 7515), JWK sets (RFC 7517/7518), claims (RFC 7519).
#include "proxy/session/jwt_verifier.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "protocol/base64.h"
#include "protocol/sqlstate.h"
#include "proxy/io/tls_context.h"

namespace pgtenant::proxy {

namespace {

constexpr size_t kMaxTokenBytes = 16 * 1024;
constexpr size_t kEs256CoordinateBytes = 32;
constexpr int kJsonDepth = 16;

using Json = nlohmann::json;

// The JSON value in `text`, or nullopt when it is not JSON or nests deeper than `max_depth` (nothing is
// built past that depth). nlohmann's exceptions stay inside this function.
std::optional<Json> ParseJson(std::string_view text, int max_depth) {
  struct TooDeep {};
  try {
    return Json::parse(text, [max_depth](int depth, Json::parse_event_t event, Json&) {
      if ((event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start) &&
          depth >= max_depth) {
        throw TooDeep{};
      }
      return true;
    });
  } catch (const Json::exception&) {
    return std::nullopt;
  } catch (const TooDeep&) {
    return std::nullopt;
  }
}

// The member `key` of an object, or nullptr (also when `value` is not an object).
const Json* Find(const Json& value, std::string_view key) {
  if (!value.is_object()) return nullptr;
  auto it = value.find(key);
  return it == value.end() ? nullptr : &*it;
}

// A string value's text, or "" for any other value.
std::string Text(const Json* value) { return value != nullptr && value->is_string() ? value->get<std::string>() : ""; }

Status Rejected(const std::string& why) {
  return Status::Error(sqlstate::kInvalidPassword, "pgtenant: JWT rejected: " + why);
}

Status KeyError(const std::string& what) {
  std::string openssl = TakeOpenSslErrors();
  return Status::Error(sqlstate::kConfigFileError, what + (openssl.empty() ? "" : ": " + openssl));
}

std::optional<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A NumericDate (seconds, possibly fractional) as whole seconds; nullopt when not a number.
std::optional<int64_t> NumericDate(const Json& value) {
  if (value.is_number_integer() && !value.is_number_unsigned()) return value.get<int64_t>();
  if (value.is_number_unsigned()) {
    const uint64_t whole = value.get<uint64_t>();
    return whole > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ? std::numeric_limits<int64_t>::max()
                                                                             : static_cast<int64_t>(whole);
  }
  if (!value.is_number_float()) return std::nullopt;
  const double d = value.get<double>();
  if (!std::isfinite(d)) return std::nullopt;
  if (d >= 9.2e18) return std::numeric_limits<int64_t>::max();
  if (d <= -9.2e18) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(d);
}

BIGNUM* BignumFromBase64Url(const Json* value) {
  if (value == nullptr || !value->is_string()) return nullptr;
  Result<std::string> bytes = protocol::Base64UrlDecode(Text(value));
  if (!bytes.ok() || bytes->empty()) return nullptr;
  return BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes->data()), static_cast<int>(bytes->size()), nullptr);
}

EVP_PKEY* KeyFromParams(const char* type, OSSL_PARAM_BLD* builder) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(builder);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* key = nullptr;
  if (params != nullptr && ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1)
    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return key;
}

EVP_PKEY* RsaFromJwk(const Json& jwk) {
  BIGNUM* n = BignumFromBase64Url(Find(jwk, "n"));
  BIGNUM* e = BignumFromBase64Url(Find(jwk, "e"));
  EVP_PKEY* key = nullptr;
  OSSL_PARAM_BLD* builder = OSSL_PARAM_BLD_new();
  if (n != nullptr && e != nullptr && builder != nullptr && OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_N, n) &&
      OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_E, e))
    key = KeyFromParams("RSA", builder);
  OSSL_PARAM_BLD_free(builder);
  BN_free(n);
  BN_free(e);
  return key;
}

EVP_PKEY* EcFromJwk(const Json& jwk) {
  if (Text(Find(jwk, "crv")) != "P-256") return nullptr;
  const Json* x_field = Find(jwk, "x");
  const Json* y_field = Find(jwk, "y");
  if (x_field == nullptr || y_field == nullptr) return nullptr;
  Result<std::string> x = protocol::Base64UrlDecode(Text(x_field));
  Result<std::string> y = protocol::Base64UrlDecode(Text(y_field));
  if (!x.ok() || !y.ok() || x->size() != kEs256CoordinateBytes || y->size() != kEs256CoordinateBytes) return nullptr;
  std::string point = "\x04" + *x + *y;  // uncompressed SEC1 point
  char group[] = "prime256v1";
  EVP_PKEY* key = nullptr;
  OSSL_PARAM_BLD* builder = OSSL_PARAM_BLD_new();
  if (builder != nullptr && OSSL_PARAM_BLD_push_utf8_string(builder, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
      OSSL_PARAM_BLD_push_octet_string(builder, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()))
    key = KeyFromParams("EC", builder);
  OSSL_PARAM_BLD_free(builder);
  return key;
}

bool IsP256(EVP_PKEY* key) {
  char group[64] = {0};
  size_t length = 0;
  return EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &length) == 1 &&
         std::string_view(group, length) == "prime256v1";
}

// ES256 signatures are r || s (32 bytes each); OpenSSL verifies DER.
std::optional<std::string> EcdsaRawToDer(const std::string& raw) {
  if (raw.size() != 2 * kEs256CoordinateBytes) return std::nullopt;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), kEs256CoordinateBytes, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + kEs256CoordinateBytes,
                        kEs256CoordinateBytes, nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  int length = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (length <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return out;
}

bool VerifyWithKey(EVP_PKEY* key, std::string_view signed_part, const std::string& signature) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx != nullptr && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                             reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

}  // namespace

JwtVerifier::~JwtVerifier() {
  for (PublicKey& k : keys_) EVP_PKEY_free(k.key);
}

Result<std::shared_ptr<const JwtVerifier>> JwtVerifier::Create(const config::JwtConfig& config) {
  std::shared_ptr<JwtVerifier> verifier(new JwtVerifier(config));
  for (const std::string& path : config.public_keys) {
    Status s = verifier->LoadPem(path);
    if (!s.ok()) return s;
  }
  if (!config.jwks.empty()) {
    Status s = verifier->LoadJwks(config.jwks);
    if (!s.ok()) return s;
  }
  return std::shared_ptr<const JwtVerifier>(std::move(verifier));
}

Status JwtVerifier::LoadPem(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) return KeyError("auth.jwt.public_keys: cannot open \"" + path + "\"");
  EVP_PKEY* key = PEM_read_PUBKEY(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  if (key == nullptr) return KeyError("auth.jwt.public_keys: \"" + path + "\" holds no PEM public key");
  const bool rsa = EVP_PKEY_is_a(key, "RSA");
  if (!rsa && !(EVP_PKEY_is_a(key, "EC") && IsP256(key))) {
    EVP_PKEY_free(key);
    return KeyError("auth.jwt.public_keys: \"" + path + "\" is neither an RSA nor an EC P-256 key");
  }
  keys_.push_back({"", key, rsa});
  return Status::Ok();
}

Status JwtVerifier::LoadJwks(const std::string& path) {
  auto text = ReadWholeFile(path);
  if (!text) return KeyError("auth.jwt.jwks: cannot read \"" + path + "\"");
  std::optional<Json> json = ParseJson(*text, kJsonDepth);
  if (!json) return KeyError("auth.jwt.jwks: \"" + path + "\" is not JSON");
  const Json* keys = Find(*json, "keys");
  if (keys == nullptr || !keys->is_array()) return KeyError("auth.jwt.jwks: \"" + path + "\" has no \"keys\" array");
  size_t index = 0;
  for (const Json& jwk : *keys) {
    const Json* use = Find(jwk, "use");
    const std::string kty = Text(Find(jwk, "kty"));
    std::string where = "auth.jwt.jwks: \"" + path + "\" key " + std::to_string(index++);
    if (use != nullptr && Text(use) != "sig") continue;  // encryption keys are not for us
    EVP_PKEY* key = nullptr;
    bool rsa = false;
    if (kty == "RSA") {
      key = RsaFromJwk(jwk);
      rsa = true;
    } else if (kty == "EC") {
      key = EcFromJwk(jwk);
    } else {
      continue;  // other key types (oct, OKP) are not used for RS256/ES256
    }
    if (key == nullptr) return KeyError(where + " is malformed");
    keys_.push_back({Text(Find(jwk, "kid")), key, rsa});
  }
  if (keys_.empty()) return KeyError("auth.jwt.jwks: \"" + path + "\" holds no RSA or EC P-256 signing key");
  return Status::Ok();
}

bool JwtVerifier::CheckSignature(std::string_view alg, std::string_view kid, std::string_view signed_part,
                                 const std::string& signature) const {
  if (alg == "HS256") {
    if (config_.secret.empty()) return false;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (HMAC(EVP_sha256(), config_.secret.data(), static_cast<int>(config_.secret.size()),
             reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac, &length) == nullptr)
      return false;
    return signature.size() == length && CRYPTO_memcmp(mac, signature.data(), length) == 0;
  }
  const bool rsa = alg == "RS256";
  std::string der;
  if (!rsa) {
    auto converted = EcdsaRawToDer(signature);
    if (!converted) return false;
    der = std::move(*converted);
  }
  for (const PublicKey& key : keys_) {
    if (key.rsa != rsa) continue;
    if (!kid.empty() && !key.kid.empty() && key.kid != kid) continue;
    if (VerifyWithKey(key.key, signed_part, rsa ? signature : der)) return true;
  }
  return false;
}

Result<JwtClaims> JwtVerifier::Verify(std::string_view token, int64_t now) const {
  if (token.size() > kMaxTokenBytes) return Rejected("the token is too long");
  size_t first = token.find('.');
  size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos)
    return Rejected("the password is not a JWT (expected header.payload.signature)");
  Result<std::string> header_json = protocol::Base64UrlDecode(token.substr(0, first));
  Result<std::string> payload_json = protocol::Base64UrlDecode(token.substr(first + 1, second - first - 1));
  Result<std::string> signature = protocol::Base64UrlDecode(token.substr(second + 1));
  if (!header_json.ok() || !payload_json.ok() || !signature.ok()) return Rejected("malformed token (invalid base64url)");
  std::optional<Json> header = ParseJson(*header_json, kJsonDepth);
  if (!header || !header->is_object()) return Rejected("malformed token header");
  const Json* alg = Find(*header, "alg");
  if (alg == nullptr || !alg->is_string()) return Rejected("the token header names no algorithm");
  const std::string algorithm = Text(alg);
  const std::string kid = Text(Find(*header, "kid"));
  if (algorithm != "HS256" && algorithm != "RS256" && algorithm != "ES256")
    return Rejected("unsupported algorithm \"" + algorithm.substr(0, 16) + "\" (HS256, RS256 and ES256 are accepted)");
  if (algorithm == "HS256" && config_.secret.empty()) return Rejected("HS256 tokens are not accepted (no auth.jwt.secret)");
  if (algorithm != "HS256" && keys_.empty()) return Rejected(algorithm + " tokens are not accepted (no public keys)");
  if (!CheckSignature(algorithm, kid, token.substr(0, second), *signature))
    return Rejected("bad signature");

  std::optional<Json> payload = ParseJson(*payload_json, kJsonDepth);
  if (!payload || !payload->is_object()) return Rejected("malformed token payload");
  const int64_t skew = std::chrono::duration_cast<std::chrono::seconds>(config_.clock_skew).count();
  const Json* exp = Find(*payload, "exp");
  if (exp == nullptr) return Rejected("the token has no expiry (exp)");
  auto expires = NumericDate(*exp);
  if (!expires) return Rejected("exp is not a number");
  if (now > *expires + skew) return Rejected("token expired");
  if (const Json* nbf = Find(*payload, "nbf")) {
    auto not_before = NumericDate(*nbf);
    if (!not_before) return Rejected("nbf is not a number");
    if (now + skew < *not_before) return Rejected("token not yet valid (nbf)");
  }
  if (!config_.issuer.empty()) {
    const Json* iss = Find(*payload, "iss");
    if (iss == nullptr || !iss->is_string() || Text(iss) != config_.issuer)
      return Rejected("wrong issuer (expected \"" + config_.issuer + "\")");
  }
  if (!config_.audience.empty()) {
    const Json* aud = Find(*payload, "aud");
    bool found = aud != nullptr && aud->is_string() && Text(aud) == config_.audience;
    if (aud != nullptr && aud->is_array())
      for (const Json& item : *aud) found |= item.is_string() && Text(&item) == config_.audience;
    if (!found) return Rejected("wrong audience (expected \"" + config_.audience + "\")");
  }
  JwtClaims claims;
  const Json* user = Find(*payload, config_.user_claim);
  if (user == nullptr || !user->is_string() || Text(user).empty())
    return Rejected("the token has no user claim \"" + config_.user_claim + "\"");
  claims.user = Text(user);
  if (!config_.tenant_claim.empty()) {
    const Json* tenant = Find(*payload, config_.tenant_claim);
    if (tenant != nullptr && !tenant->is_string())
      return Rejected("claim \"" + config_.tenant_claim + "\" is not a string");
    if (tenant != nullptr) claims.tenant = Text(tenant);
  }
  return claims;
}

Result<std::shared_ptr<const JwtVerifier>> JwtVerifierFor(const std::shared_ptr<const config::Config>& config) {
  struct Cached {
    std::weak_ptr<const config::Config> config;
    std::shared_ptr<const JwtVerifier> verifier;
  };
  thread_local Cached cached;
  const bool same = !cached.config.owner_before(config) && !config.owner_before(cached.config);
  if (cached.verifier && same) return cached.verifier;
  auto built = JwtVerifier::Create(config->jwt);
  if (!built.ok()) return built.status();
  cached = {config, *built};
  return *built;
}

}  // namespace pgtenant::proxy
