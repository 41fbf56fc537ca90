// TlsChannel: one TLS session over memory BIOs, driven by the owner's read path and Outbox.
//
// No sockets: ciphertext from the peer goes in with Receive(), which advances the handshake and
// appends the plaintext it decrypts; plaintext to send goes in with Encrypt(). Every call appends
// the ciphertext the peer must get (handshake records, alerts, application data) to `to_peer`,
// which the owner writes to its socket raw. A connection without TLS has no channel at all, so the
// plaintext path costs one null check.
//
// Ownership: owns its SSL (which holds a reference to its SSL_CTX). Thread-safety: one thread.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "protocol/status.h"
#include "proxy/io/tls_context.h"

namespace pgtenant::proxy {

// The first byte of a TLS handshake record: a ClientHello sent without SSLRequest (direct TLS,
// PostgreSQL 17 sslnegotiation=direct). No startup packet starts with it (its length would be
// at least 0x16000000, far beyond kMaxStartupPacketLength).
inline constexpr uint8_t kTlsHandshakeRecordType = 0x16;

class TlsChannel {
 public:
  enum class Progress { kHandshaking, kEstablished, kClosed };

  // pgtenant as the TLS server of a client.
  static std::unique_ptr<TlsChannel> Accept(const TlsContext& context);
  // pgtenant as the TLS client of a backend: `server_name` goes into SNI (skipped for IP
  // addresses); with `verify_host`, the certificate must name that host (or IP address).
  static std::unique_ptr<TlsChannel> Connect(const TlsContext& context, const std::string& server_name,
                                             bool verify_host);
  ~TlsChannel();
  TlsChannel(const TlsChannel&) = delete;
  TlsChannel& operator=(const TlsChannel&) = delete;

  // Client role: the ClientHello.
  Status Start(std::string& to_peer);
  // Feeds ciphertext. Errors carry OpenSSL's reason (for a failed verification, the X.509 one);
  // `to_peer` may then hold an alert worth sending before closing. kClosed: the peer sent close_notify.
  Result<Progress> Receive(std::span<const uint8_t> ciphertext, std::string& plaintext, std::string& to_peer);
  // REQUIRES: established().
  Status Encrypt(std::span<const uint8_t> plaintext, std::string& to_peer);

  bool established() const { return established_; }
  // After the handshake: the SNI the client sent ("" if none), the negotiated ALPN protocol,
  // and the protocol version ("TLSv1.3").
  std::string server_name() const;
  std::string alpn() const;
  std::string version() const;
  // The peer's certificate identities when it presented one that verified: the subject CN first,
  // then DNS and email SANs. Empty when there is no verified certificate.
  std::vector<std::string> VerifiedPeerNames() const;

 private:
  explicit TlsChannel(SSL* ssl);
  void Drain(std::string& to_peer);
  Status Failure(int ssl_error, const char* during);

  SSL* ssl_;
  BIO* in_;   // owned by ssl_
  BIO* out_;  // owned by ssl_
  bool established_ = false;
};

}  // namespace pgtenant::proxy
