// Readers for the TLS and token sections of the YAML: tls: and auth.jwt:, and the checks that tie
// them to auth.method.
//
// Internal to config/ (exposes YamlDocument nodes through yaml_reader.h). Errors are located and the first
// one wins, as everywhere in the loader.
#pragma once

#include "config/config.h"
#include "config/yaml_reader.h"

namespace pgtenant::config {

// tls: { client: { mode, certificate, key, ca, min_version, direct, cert_users }, sni_suffix }
TlsConfig ReadTlsSection(YamlReader& reader, const Field& field);

// auth.jwt: { secret, public_keys, jwks, issuer, audience, user_claim, tenant_claim, clock_skew }
JwtConfig ReadJwtSection(YamlReader& reader, const Field& field);

// Cross-section rules: auth.method cert needs tls.client.ca; jwt needs auth.jwt with a key and
// client TLS; sni identification needs client TLS. `auth_at` and `tls_at` locate the errors.
void CheckTlsAndAuth(YamlReader& reader, const Config& config, const Field& auth_at, const Field& tls_at);

}  // namespace pgtenant::config
