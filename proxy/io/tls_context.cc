// TlsContext: SSL_CTX construction and the per-thread caches keyed by config and file times.
#include "proxy/io/tls_context.h"

#include <openssl/err.h>
#include <sys/stat.h>

#include <cstring>
#include <map>

#include "protocol/sqlstate.h"

namespace pgtenant::proxy {

namespace {

constexpr unsigned char kAlpnPostgresql[] = {10, 'p', 'o', 's', 't', 'g', 'r', 'e', 's', 'q', 'l'};

int64_t ModifiedAt(const std::string& path) {
  struct stat st{};
  if (path.empty() || stat(path.c_str(), &st) != 0) return 0;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

Status ConfigError(const std::string& what) {
  std::string reason = TakeOpenSslErrors();
  return Status::Error(sqlstate::kConfigFileError, what + ": " + (reason.empty() ? "unknown OpenSSL error" : reason));
}

// ALPN for the client side: accept "postgresql" when offered; a direct-TLS session checks that it
// was negotiated (PostgreSQL 17 clients always offer it).
int SelectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
               void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kAlpnPostgresql, sizeof(kAlpnPostgresql), in, inlen) ==
      OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

std::string TakeOpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    std::string reason;
    if (ERR_SYSTEM_ERROR(e)) {
      reason = std::strerror(ERR_GET_REASON(e));
    } else if (const char* text = ERR_reason_error_string(e)) {
      reason = text;
    } else {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof(buf));
      reason = buf;
    }
    if (reason == "system lib" || out.find(reason) != std::string::npos) continue;  // says nothing new
    if (!out.empty()) out += "; ";
    out += reason;
  }
  return out;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

Result<std::shared_ptr<TlsContext>> TlsContext::ForClients(const config::TlsClientConfig& tls) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return ConfigError("cannot create a TLS context");
  std::shared_ptr<TlsContext> holder(new TlsContext(ctx, !tls.ca.empty()));
  SSL_CTX_set_min_proto_version(ctx, tls.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
  if (SSL_CTX_use_certificate_chain_file(ctx, tls.certificate.c_str()) != 1)
    return ConfigError("tls.client.certificate \"" + tls.certificate + "\"");
  if (SSL_CTX_use_PrivateKey_file(ctx, tls.key.c_str(), SSL_FILETYPE_PEM) != 1)
    return ConfigError("tls.client.key \"" + tls.key + "\"");
  if (SSL_CTX_check_private_key(ctx) != 1) return ConfigError("tls.client.key does not match tls.client.certificate");
  if (!tls.ca.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, tls.ca.c_str(), nullptr) != 1)
      return ConfigError("tls.client.ca \"" + tls.ca + "\"");
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.ca.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(ctx, names);
    // Requested, not required: a client without a certificate may still log in with a password;
    // auth.method cert refuses it later with a clear message instead of a handshake alert.
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  static const unsigned char kSessionContext[] = "pgtenant";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
  SSL_CTX_set_alpn_select_cb(ctx, &SelectAlpn, nullptr);
  return holder;
}

Result<std::shared_ptr<TlsContext>> TlsContext::ForBackend(const config::BackendConfig& backend) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return ConfigError("cannot create a TLS context");
  const bool verify = backend.sslmode == "verify-ca" || backend.sslmode == "verify-full";
  std::shared_ptr<TlsContext> holder(new TlsContext(ctx, verify));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
  if (verify) {
    int ok = backend.sslrootcert.empty() ? SSL_CTX_set_default_verify_paths(ctx)
                                         : SSL_CTX_load_verify_locations(ctx, backend.sslrootcert.c_str(), nullptr);
    if (ok != 1)
      return ConfigError("backends." + backend.name + ".sslrootcert \"" + backend.sslrootcert + "\"");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  return holder;
}

Result<std::shared_ptr<TlsContext>> ClientTlsContext(const std::shared_ptr<const config::Config>& config) {
  struct Cached {
    std::weak_ptr<const config::Config> config;
    int64_t cert_time = 0, key_time = 0, ca_time = 0;
    std::shared_ptr<TlsContext> context;
  };
  thread_local Cached cached;
  const config::TlsClientConfig& tls = config->tls.client;
  if (!tls.enabled()) return std::shared_ptr<TlsContext>();
  const int64_t cert_time = ModifiedAt(tls.certificate), key_time = ModifiedAt(tls.key), ca_time = ModifiedAt(tls.ca);
  const bool same_config = !cached.config.owner_before(config) && !config.owner_before(cached.config);
  if (cached.context && same_config && cached.cert_time == cert_time && cached.key_time == key_time &&
      cached.ca_time == ca_time)
    return cached.context;
  auto built = TlsContext::ForClients(tls);
  if (!built.ok()) {
    if (cached.context && same_config) return cached.context;  // a half-written rotation: keep serving
    return built.status();
  }
  cached = {config, cert_time, key_time, ca_time, *built};
  return *built;
}

Result<std::shared_ptr<TlsContext>> BackendTlsContext(const config::BackendConfig& backend) {
  struct Cached {
    int64_t ca_time = 0;
    std::shared_ptr<TlsContext> context;
  };
  thread_local std::map<std::string, Cached> cache;
  const std::string key = backend.sslmode + "\n" + backend.sslrootcert;
  const int64_t ca_time = ModifiedAt(backend.sslrootcert);
  Cached& entry = cache[key];
  if (entry.context && entry.ca_time == ca_time) return entry.context;
  auto built = TlsContext::ForBackend(backend);
  if (!built.ok()) {
    if (entry.context) return entry.context;
    return built.status();
  }
  entry = {ca_time, *built};
  return *built;
}

Status PreloadTlsFiles(const std::shared_ptr<const config::Config>& config) {
  auto client = ClientTlsContext(config);
  if (!client.ok()) return client.status();
  for (const auto& [name, backend] : config->backends) {
    if (backend.sslmode == "disable") continue;
    auto context = BackendTlsContext(backend);
    if (!context.ok()) return context.status();
  }
  return Status::Ok();
}

}  // namespace pgtenant::proxy
