// ServerConnection, TLS part: SSLRequest and the handshake with the backend, per its sslmode
// (protocol section 55.2.10; sslmode as libpq defines it, except that allow behaves like prefer).
#include "protocol/message_builder.h"
#include "protocol/sqlstate.h"
#include "proxy/telemetry/log.h"
#include "proxy/server/server_connection.h"
#include "proxy/io/tls_context.h"

namespace pgtenant::proxy {

namespace {

constexpr uint8_t kTlsAccepted = 'S';
constexpr uint8_t kTlsRefused = 'N';

bool TlsMandatory(const std::string& sslmode) {
  return sslmode == "require" || sslmode == "verify-ca" || sslmode == "verify-full";
}

}  // namespace

void ServerConnection::StartTlsOrLogin() {
  // As libpq does, no TLS over a Unix-domain socket (the loader refused modes that demand it).
  if (backend_.sslmode == "disable" || config::IsSocketDirectory(backend_.host)) {
    SendStartup();
    return;
  }
  std::string out;
  protocol::AppendSslRequest(out);
  awaiting_ssl_response_ = true;
  outbox_.SendRaw(out);
}

void ServerConnection::HandleSslResponse(std::span<const uint8_t> data) {
  awaiting_ssl_response_ = false;
  if (data[0] == kTlsRefused) {
    if (data.size() > 1) {
      Fail(Status::Error(sqlstate::kProtocolViolation, "server sent data after refusing TLS"));
      return;
    }
    if (TlsMandatory(backend_.sslmode)) {
      Fail(Status::Error(sqlstate::kConnectionFailure,
                         "server does not support TLS (sslmode is " + backend_.sslmode + ")"));
      return;
    }
    SendStartup();  // prefer / allow: plaintext
    return;
  }
  if (data[0] != kTlsAccepted) {
    Fail(Status::Error(sqlstate::kProtocolViolation, "server answered the SSLRequest with neither S nor N"));
    return;
  }
  if (data.size() > 1) {
    // Bytes behind 'S' were not encrypted: a man in the middle could have put them there
    // (CVE-2021-23222).
    Fail(Status::Error(sqlstate::kProtocolViolation, "received unencrypted data after SSL response"));
    return;
  }
  auto context = BackendTlsContext(backend_);
  if (!context.ok()) {
    Fail(Status::Error(sqlstate::kConnectionFailure, context.status().message()));
    return;
  }
  tls_ = TlsChannel::Connect(**context, backend_.host, backend_.sslmode == "verify-full");
  if (tls_ == nullptr) {
    Fail(Status::Error(sqlstate::kConnectionFailure, "cannot start TLS: " + TakeOpenSslErrors()));
    return;
  }
  std::string hello;
  Status started = tls_->Start(hello);
  if (!hello.empty()) outbox_.SendRaw(hello);
  if (!started.ok()) {
    tls_handshake_failed_ = true;
    Fail(started);
  }
}

void ServerConnection::OnTlsBytes(std::span<const uint8_t> ciphertext) {
  std::string to_peer;
  std::string plain;
  plain.swap(tls_plain_);
  plain.clear();
  const bool was_established = tls_->established();
  auto progress = tls_->Receive(ciphertext, plain, to_peer);
  if (!to_peer.empty()) outbox_.SendRaw(to_peer);
  if (!progress.ok()) {
    tls_handshake_failed_ = !was_established;
    Lost(progress.status());  // during login this is Fail: the pool reports it naming the backend
    return;
  }
  if (*progress == TlsChannel::Progress::kClosed) {
    Lost(Status::Error(sqlstate::kConnectionFailure, "server closed the TLS connection"));
    return;
  }
  if (!was_established && tls_->established()) {
    outbox_.set_tls(tls_.get());
    SendStartup();
  }
  if (!plain.empty()) HandleBytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(plain.data()), plain.size()));
  plain.clear();
  tls_plain_.swap(plain);
}

}  // namespace pgtenant::proxy
