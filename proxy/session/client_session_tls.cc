// ClientSession, TLS part: SSLRequest and direct TLS (protocol section 55.2.10 "SSL Session
// Encryption"), and the authentication methods that rest on TLS: client certificates and JWTs.
#include <chrono>

#include "protocol/message_builder.h"
#include "protocol/message_reader.h"
#include "protocol/sqlstate.h"
#include "proxy/session/client_session.h"
#include "proxy/session/jwt_verifier.h"
#include "proxy/telemetry/log.h"
#include "proxy/io/tls_context.h"

namespace pgtenant::proxy {

namespace {

// A JWT is a password here; RS256 tokens with many claims stay well below this.
constexpr uint32_t kMaxTokenMessageLength = 16 * 1024;

}  // namespace

size_t ClientSession::HandleSslRequest(std::span<const uint8_t> data, size_t request_size) {
  if (tls_ != nullptr) {
    Terminate(Status::Error(sqlstate::kProtocolViolation, "pgtenant: SSLRequest received inside TLS"));
    return data.size();
  }
  auto context = ClientTlsContext(config_);
  if (!context.ok()) LogWarning("tls", "client TLS unavailable: " + context.status().message());
  if (!context.ok() || *context == nullptr) {
    Send("N");  // the client continues in plaintext (or gives up, if it requires TLS)
    return request_size;
  }
  if (data.size() > request_size) {
    // Bytes sent behind the SSLRequest, before the handshake, were never encrypted: treating
    // them as protocol would let a man in the middle inject them (CVE-2021-23214).
    Terminate(Status::Error(sqlstate::kProtocolViolation, "pgtenant: received unencrypted data after SSL request",
                            "This could be either a client-software bug or evidence of an attempted "
                            "man-in-the-middle attack."));
    return data.size();
  }
  tls_ = TlsChannel::Accept(**context);
  if (tls_ == nullptr) {
    Terminate(Status::Error(sqlstate::kInternalError, "pgtenant: cannot start TLS: " + TakeOpenSslErrors()));
    return data.size();
  }
  outbox_.SendRaw("S");
  return request_size;
}

bool ClientSession::StartDirectTls(std::span<const uint8_t>) {
  auto context = ClientTlsContext(config_);
  if (!config_->tls.client.direct || !context.ok() || *context == nullptr) {
    LogInfo("tls", "refused a direct TLS connection from " + client_address_ + " (tls.client.direct is off)");
    end_reason_ = "protocol_error";
    Close();  // nothing intelligible can be said to a TLS client without TLS
    return false;
  }
  tls_ = TlsChannel::Accept(**context);
  handshake_->tls_direct = true;
  if (tls_ != nullptr) return true;
  Close();
  return false;
}

void ClientSession::OnTlsBytes(std::span<const uint8_t> ciphertext) {
  thread_local std::string reused;  // the decrypted bytes of one read; its capacity stays with the thread
  std::string to_peer;
  std::string plain;
  plain.swap(reused);
  plain.clear();
  const bool was_established = tls_->established();
  auto progress = tls_->Receive(ciphertext, plain, to_peer);
  if (!to_peer.empty() && !outbox_.SendRaw(to_peer)) {
    Close();
    return;
  }
  if (!progress.ok() || *progress == TlsChannel::Progress::kClosed) {
    if (!progress.ok()) LogInfo("tls", "client " + client_address_ + ": " + progress.status().message());
    if (!progress.ok()) end_reason_ = "protocol_error";
    if (!progress.ok() && !was_established) host_->metrics().CountClientTlsHandshakeFailure();
    close_after_flush_ = outbox_.HasBacklog();  // let the alert reach the client
    Close();
    return;
  }
  if (!was_established && tls_->established()) {
    OnTlsEstablished();
    if (state_ == State::kClosing) return;
  }
  if (!plain.empty()) HandleBytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(plain.data()), plain.size()));
  plain.clear();
  reused.swap(plain);  // keep the capacity for the next read
}

void ClientSession::OnTlsEstablished() {
  if (handshake_->tls_direct && tls_->alpn() != "postgresql") {
    LogInfo("tls", "client " + client_address_ + ": direct TLS without ALPN \"postgresql\", closing");
    host_->metrics().CountClientTlsHandshakeFailure();
    end_reason_ = "protocol_error";
    Close();
    return;
  }
  outbox_.set_tls(tls_.get());
  handshake_->login.identity.server_name = tls_->server_name();
}

Status ClientSession::CheckTransport() const {
  if (tls_ != nullptr || config_->tls.client.mode != config::TlsClientMode::kRequire) return Status::Ok();
  return Status::Error(sqlstate::kInvalidAuthorizationSpecification, "pgtenant: TLS required",
                       "Connect with sslmode=require or stronger (verify-full checks the proxy's certificate).");
}

void ClientSession::FailAuthentication(const Status& why) {
  LogInfo("auth", "authentication failed for user \"" + login().username + "\": " + why.message(),
          {{"user", login().username}});
  if (host_->auditing()) {
    policy::AuditEvent event = NewAuditEvent(policy::AuditEventType::kAuthenticationFailed);
    event.fields = {{"method", std::string(config::ToString(config_->auth_method))},
                    {"sqlstate", why.sqlstate()},
                    {"message", why.message()}};
    host_->Audit(std::move(event));
  }
  end_reason_ = "authentication_failed";
  Terminate(why);
}

bool ClientSession::BeginCredentialAuthentication() {
  const config::AuthMethod method = config_->auth_method;
  if (method != config::AuthMethod::kCert && method != config::AuthMethod::kJwt) return false;
  const std::string what = method == config::AuthMethod::kCert ? "certificate" : "JWT";
  if (tls_ == nullptr) {
    FailAuthentication(Status::Error(sqlstate::kInvalidAuthorizationSpecification,
                                     "pgtenant: " + what + " authentication requires TLS",
                                     "Connect with sslmode=require or stronger."));
    return true;
  }
  if (method == config::AuthMethod::kJwt) {
    // The token travels as a cleartext password, which TLS protects (protocol section 55.2.1).
    std::string out;
    protocol::AppendAuthenticationCleartext(out);
    if (!Send(out)) return true;
    handshake_->awaiting_jwt = true;
    TransitionTo(State::kAuthenticating);
    return true;
  }
  // Certificate: the first identity with an entry in tls.client.cert_users, else the CN, is the
  // login name ("alice", or "alice.acme" naming the tenant too).
  std::vector<std::string> names = tls_->VerifiedPeerNames();
  if (names.empty()) {
    FailAuthentication(Status::Error(sqlstate::kInvalidAuthorizationSpecification,
                                     "pgtenant: certificate authentication failed for user \"" + login().username +
                                         "\": no verified client certificate",
                                     "Connect with sslcert and sslkey signed by the CA in tls.client.ca."));
    return true;
  }
  std::string cert_login = names.front();
  for (const std::string& name : names) {
    auto mapped = config_->tls.client.cert_users.find(name);
    if (mapped != config_->tls.client.cert_users.end()) {
      cert_login = mapped->second;
      break;
    }
  }
  std::string cert_user = cert_login;
  std::optional<std::string> cert_tenant;
  const std::string& separator = config_->username_separator;
  if (size_t at = cert_login.find(separator); !separator.empty() && at != std::string::npos) {
    cert_user = cert_login.substr(0, at);
    cert_tenant = cert_login.substr(at + separator.size());
  }
  if (cert_user != login().username) {
    FailAuthentication(Status::Error(sqlstate::kInvalidAuthorizationSpecification,
                                     "pgtenant: certificate authentication failed for user \"" + login().username +
                                         "\": the certificate is for user \"" + cert_user + "\""));
    return true;
  }
  handshake_->login.identity.credential_tenant = cert_tenant;
  std::string out;
  protocol::AppendAuthenticationOk(out);
  if (!Send(out)) return true;
  Authenticated();
  return true;
}

size_t ClientSession::HandleJwtPassword(std::span<const uint8_t> data) {
  protocol::FrameDecode d = protocol::DecodeFrameHeader(data, kMaxTokenMessageLength);
  if (d.status == protocol::DecodeStatus::kNeedMoreData) return 0;
  if (d.status == protocol::DecodeStatus::kInvalid) {
    Terminate(d.error());
    return data.size();
  }
  if (data.size() < d.header.total()) return 0;
  if (d.header.tag != static_cast<uint8_t>(protocol::FrontendTag::kPassword)) {
    Terminate(Status::Error(sqlstate::kProtocolViolation, "expected a password response"));
    return data.size();
  }
  handshake_->awaiting_jwt = false;
  auto token = protocol::ParsePasswordMessage(data.subspan(protocol::kHeaderSize, d.header.body_size()));
  if (!token.ok()) {
    Terminate(token.status());
    return data.size();
  }
  auto verifier = JwtVerifierFor(config_);
  if (!verifier.ok()) {
    LogWarning("auth", "JWT keys unavailable: " + verifier.status().message());
    FailAuthentication(Status::Error(sqlstate::kInvalidPassword, "pgtenant: JWT rejected: no usable verification key"));
    return data.size();
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  auto claims = (*verifier)->Verify(*token, now);
  if (!claims.ok()) {
    FailAuthentication(claims.status());
    return data.size();
  }
  if (claims->user != login().username) {
    FailAuthentication(Status::Error(sqlstate::kInvalidAuthorizationSpecification,
                                     "pgtenant: JWT rejected: the token is for user \"" + claims->user +
                                         "\", not \"" + login().username + "\""));
    return data.size();
  }
  if (claims->tenant) {
    const config::TenantConfig* tenant = config_->FindTenant(*claims->tenant);
    if (tenant == nullptr) tenant = config_->FindTenantById(*claims->tenant);
    if (tenant == nullptr) {
      FailAuthentication(Status::Error(sqlstate::kInvalidAuthorizationSpecification,
                                       "pgtenant: JWT rejected: claim \"" + config_->jwt.tenant_claim +
                                           "\" names no tenant known to pgtenant"));
      return data.size();
    }
    handshake_->login.identity.credential_tenant = tenant->name;
  }
  std::string out;
  protocol::AppendAuthenticationOk(out);
  if (!Send(out)) return data.size();
  Authenticated();
  return d.header.total();
}

}  // namespace pgtenant::proxy
