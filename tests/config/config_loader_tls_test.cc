// tls:, auth.jwt: and backends' sslrootcert: what is read, and the errors that tie them to auth.method.
#include <catch2/catch.hpp>

#include <filesystem>

#include "config/config.h"

namespace pgtenant::config {
namespace {

const std::string kBody =
    "backends:\n"
    "  app: { host: 127.0.0.1, database: app, user: app_tenant, sslmode: verify-full, sslrootcert: /ca.crt }\n"
    "tenants:\n"
    "  acme: { id: 7c9e6679-7425-40de-944b-e07fc1f90ae7, backend: app }\n"
    "users:\n"
    "  alice: { tenants: { acme: admin } }\n";

Result<std::shared_ptr<const Config>> Load(const std::string& head) {
  return LoadConfigString(head + kBody, "t.yaml", [](std::string_view) { return std::nullopt; });
}

std::string ErrorOf(const std::string& head) {
  auto r = Load(head);
  return r.ok() ? "(loaded)" : r.status().message();
}

TEST_CASE("tls.client and auth.jwt are read with their defaults") {
  auto config = Load(
      "auth: { method: jwt, jwt: { secret: s, audience: pgtenant, tenant_claim: org_id, clock_skew: 10s } }\n"
      "tls: { client: { certificate: /s.crt, key: /s.key, ca: /ca.crt, cert_users: { \"CN x\": alice.acme } } }\n");
  INFO((config.ok() ? "" : config.status().message()));
  REQUIRE(config.ok());
  const Config& c = **config;
  CHECK(c.auth_method == AuthMethod::kJwt);
  CHECK(c.tls.client.mode == TlsClientMode::kAllow);
  CHECK(c.tls.client.min_version == "1.2");
  CHECK_FALSE(c.tls.client.direct);
  CHECK(c.tls.client.cert_users.at("CN x") == "alice.acme");
  CHECK(c.jwt.user_claim == "sub");
  CHECK(c.jwt.tenant_claim == "org_id");
  CHECK(c.jwt.clock_skew == std::chrono::seconds(10));
  CHECK(c.FindBackend("app")->sslrootcert == "/ca.crt");
  CHECK(c.FindUser("alice")->password.empty());  // jwt users need no stored password
}

TEST_CASE("TLS settings that cannot work are errors at their place") {
  CHECK(ErrorOf("auth: { method: trust }\ntls: { client: { key: /s.key } }\n") ==
        "t.yaml:2:16: tls.client: missing required key 'certificate' (TLS is not disabled)");
  CHECK(ErrorOf("auth: { method: trust }\ntls: { client: { mode: off } }\n") ==
        "t.yaml:2:24: tls.client.mode: expected one of disable, allow, require, got \"off\"");
  CHECK(ErrorOf("auth: { method: trust }\ntls: { client: { certificate: c, key: k, direct: on } }\n") ==
        "t.yaml:2:50: tls.client.direct: expected true or false, got \"on\"");
  CHECK(ErrorOf("auth: { method: trust }\ntls: { client: { certificate: c, key: k, direct: [true] } }\n") ==
        "t.yaml:2:50: tls.client.direct: expected true or false, got a sequence");
  CHECK(ErrorOf("auth: { method: trust }\ntls: { client: { certificate: c, key: k, min_version: 1.1 } }\n") ==
        "t.yaml:2:55: tls.client.min_version: expected \"1.2\" or \"1.3\", got \"1.1\"");
  CHECK(ErrorOf("auth: { method: trust }\ntls: { sni_suffix: example.com }\n") ==
        "t.yaml:2:20: tls.sni_suffix: expected a domain starting with '.', such as .db.example.com, got "
        "\"example.com\"");
  CHECK(ErrorOf("auth: { method: jwt }\n") ==
        "t.yaml:1:7: auth: auth.method jwt needs auth.jwt with a key (secret, public_keys or jwks)");
  CHECK(ErrorOf("auth: { method: jwt, jwt: { secret: s } }\n") ==
        "t.yaml:1:7: auth: auth.method jwt needs client TLS (tls.client): a token is a password");
  CHECK(ErrorOf("auth: { method: jwt, jwt: { audience: a } }\n") ==
        "t.yaml:1:27: auth.jwt: needs a key: 'secret' (HS256), 'public_keys' or 'jwks' (RS256/ES256)");
  CHECK(ErrorOf("auth: { method: cert }\ntls: { client: { certificate: c, key: k } }\n") ==
        "t.yaml:1:7: auth: auth.method cert needs tls.client.ca (the CA that signs client certificates)");
}

TEST_CASE("full.yaml shows every TLS and JWT key") {
  namespace fs = std::filesystem;
  const fs::path full = fs::path(__FILE__).parent_path().parent_path().parent_path() / "config" / "examples" / "full.yaml";
  auto config = LoadConfigFile(full.string(), [](std::string_view name) -> std::optional<std::string> {
    if (name == "APP_TENANT_PASSWORD") return "x";
    return std::nullopt;
  });
  INFO((config.ok() ? "" : config.status().message()));
  REQUIRE(config.ok());
  const Config& c = **config;
  CHECK(c.tls.client.ca == "/etc/pgtenant/client-ca.crt");
  CHECK(c.tls.client.cert_users.size() == 2);
  CHECK(c.tls.sni_suffix == ".db.example.com");
  CHECK(c.jwt.public_keys.size() == 2);
  CHECK(c.jwt.jwks == "/etc/pgtenant/idp-jwks.json");
  CHECK(c.FindBackend("shared")->sslrootcert == "/etc/pgtenant/backend-ca.crt");
}

}  // namespace
}  // namespace pgtenant::config
