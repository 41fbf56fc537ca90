// TlsContext: an OpenSSL SSL_CTX built from the config, for one side of pgtenant.
//
// Client-facing (pgtenant is the TLS server): tls.client's certificate, key, optional client CA
// (client certificates are then requested and verified), minimum version, and ALPN "postgresql".
// Server-facing (pgtenant is the TLS client of a backend): the backend's sslmode and sslrootcert.
//
// Contexts are immutable once built and shared: a TlsChannel holds a reference to its SSL_CTX, so a
// session keeps the context it started with when a newer one replaces it. The lookups below build
// a context on first use and rebuild it when the config snapshot or a file's modification time
// changes (certificate rotation); when a rebuild fails, the previous context stays in use.
// Thread-safety: the lookups are for the loop thread only.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "config/config.h"
#include "protocol/status.h"

namespace pgtenant::proxy {

class TlsContext {
 public:
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // pgtenant as a TLS server for its clients. Errors name the file and OpenSSL's reason.
  static Result<std::shared_ptr<TlsContext>> ForClients(const config::TlsClientConfig& tls);
  // pgtenant as a TLS client of `backend` (sslmode != disable).
  static Result<std::shared_ptr<TlsContext>> ForBackend(const config::BackendConfig& backend);

  SSL_CTX* get() const { return ctx_; }
  bool verifies_peer() const { return verifies_peer_; }

 private:
  TlsContext(SSL_CTX* ctx, bool verifies_peer) : ctx_(ctx), verifies_peer_(verifies_peer) {}
  SSL_CTX* ctx_;
  bool verifies_peer_;
};

// The client-facing context for `config` (nullptr when tls.client is disabled). REQUIRES: loop thread.
Result<std::shared_ptr<TlsContext>> ClientTlsContext(const std::shared_ptr<const config::Config>& config);
// The context for connections to `backend`. REQUIRES: loop thread; backend.sslmode != "disable".
Result<std::shared_ptr<TlsContext>> BackendTlsContext(const config::BackendConfig& backend);

// Loads every file the TLS settings of `config` name (client certificate, key and CA, backends'
// sslrootcert) into the caches above, so that a bad file fails at start or at reload instead of at
// a client's first handshake (PreloadConfigFiles adds the JWT keys). REQUIRES: loop thread.
Status PreloadTlsFiles(const std::shared_ptr<const config::Config>& config);

// The OpenSSL error queue as one line ("" when empty); clears it.
std::string TakeOpenSslErrors();

}  // namespace pgtenant::proxy
