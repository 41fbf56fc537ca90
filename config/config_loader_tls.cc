// Readers for tls: and auth.jwt: (config_loader_tls.h).
#include "config/config_loader_tls.h"

#include <algorithm>
#include <array>

#include "config/config_enum_names.h"
#include "config/config_loader.h"
#include "config/value_parsers.h"

namespace pgtenant::config {

namespace {

constexpr Duration kNoSkew{0};

TlsClientConfig ReadTlsClient(YamlReader& reader, const Field& field) {
  TlsClientConfig client;
  const Mapping map =
      reader.ReadMapping(field, ConfigSection::kTlsClient);
  client.mode = TlsClientMode::kAllow;  // a tls.client section turns TLS on unless it says otherwise
  if (auto f = map.Get("mode")) SetIfPresent(client.mode, reader.ReadEnum(*f, kTlsClientModeNames));
  if (auto f = map.Get("certificate")) SetIfPresent(client.certificate, reader.ReadNonEmptyString(*f));
  if (auto f = map.Get("key")) SetIfPresent(client.key, reader.ReadNonEmptyString(*f));
  if (auto f = map.Get("ca")) SetIfPresent(client.ca, reader.ReadNonEmptyString(*f));
  if (auto f = map.Get("min_version")) {
    std::optional<std::string> version = reader.ReadString(*f);
    if (version && *version != "1.2" && *version != "1.3")
      reader.Fail(*f, "expected \"1.2\" or \"1.3\", got " + Quoted(*version));
    SetIfPresent(client.min_version, version);
  }
  if (auto f = map.Get("direct")) SetIfPresent(client.direct, reader.ReadBool(*f));
  if (auto f = map.Get("cert_users")) {
    const Mapping users = reader.ReadMapping(*f);
    for (const MappingEntry& entry : users.entries()) {
      std::optional<std::string> login = reader.ReadNonEmptyString(entry.value);
      if (login) client.cert_users.emplace(entry.key, *login);
    }
  }
  if (client.enabled() && !reader.failed()) {
    if (client.certificate.empty()) reader.Fail(field, "missing required key 'certificate' (TLS is not disabled)");
    if (client.key.empty()) reader.Fail(field, "missing required key 'key' (TLS is not disabled)");
  }
  return client;
}

}  // namespace

TlsConfig ReadTlsSection(YamlReader& reader, const Field& field) {
  TlsConfig tls;
  const Mapping map = reader.ReadMapping(field, ConfigSection::kTls);
  if (auto f = map.Get("client")) tls.client = ReadTlsClient(reader, *f);
  if (auto f = map.Get("sni_suffix")) {
    std::optional<std::string> suffix = reader.ReadNonEmptyString(*f);
    if (suffix && (suffix->front() != '.' || suffix->size() < 2))
      reader.Fail(*f, "expected a domain starting with '.', such as .db.example.com, got " + Quoted(*suffix));
    SetIfPresent(tls.sni_suffix, suffix);
  }
  return tls;
}

JwtConfig ReadJwtSection(YamlReader& reader, const Field& field) {
  JwtConfig jwt;
  const Mapping map = reader.ReadMapping(field, ConfigSection::kJwt);
  if (auto f = map.Get("secret")) SetIfPresent(jwt.secret, reader.ReadNonEmptyString(*f));
  if (auto f = map.Get("public_keys")) {
    for (const Field& item : reader.ReadSequence(*f)) {
      std::optional<std::string> path = reader.ReadNonEmptyString(item);
      if (path) jwt.public_keys.push_back(*path);
    }
  }
  if (auto f = map.Get("jwks")) SetIfPresent(jwt.jwks, reader.ReadNonEmptyString(*f));
  if (auto f = map.Get("issuer")) SetIfPresent(jwt.issuer, reader.ReadNonEmptyString(*f));
  if (auto f = map.Get("audience")) SetIfPresent(jwt.audience, reader.ReadNonEmptyString(*f));
  if (auto f = map.Get("user_claim")) SetIfPresent(jwt.user_claim, reader.ReadNonEmptyString(*f));
  if (auto f = map.Get("tenant_claim")) SetIfPresent(jwt.tenant_claim, reader.ReadNonEmptyString(*f));
  if (auto f = map.Get("clock_skew")) SetIfPresent(jwt.clock_skew, reader.ReadDuration(*f, kNoSkew));
  if (!reader.failed() && jwt.secret.empty() && jwt.public_keys.empty() && jwt.jwks.empty())
    reader.Fail(field, "needs a key: 'secret' (HS256), 'public_keys' or 'jwks' (RS256/ES256)");
  return jwt;
}

void CheckTlsAndAuth(YamlReader& reader, const Config& config, const Field& auth_at, const Field& tls_at) {
  if (reader.failed()) return;
  const bool tls = config.tls.client.enabled();
  switch (config.auth_method) {
    case AuthMethod::kCert:
      if (config.tls.client.ca.empty())
        reader.Fail(auth_at, "auth.method cert needs tls.client.ca (the CA that signs client certificates)");
      break;
    case AuthMethod::kJwt:
      if (config.jwt.secret.empty() && config.jwt.public_keys.empty() && config.jwt.jwks.empty())
        reader.Fail(auth_at, "auth.method jwt needs auth.jwt with a key (secret, public_keys or jwks)");
      else if (!tls)
        reader.Fail(auth_at, "auth.method jwt needs client TLS (tls.client): a token is a password");
      break;
    default:
      break;
  }
  const auto& ids = config.tenant_identification;
  if (!reader.failed() && !tls && std::find(ids.begin(), ids.end(), IdentificationMethod::kSni) != ids.end() &&
      !config.tls.sni_suffix.empty())
    reader.Fail(tls_at, "tls.sni_suffix is set but client TLS is disabled, so no server name is ever seen");
}

}  // namespace pgtenant::config
