// TlsChannel: SSL_do_handshake / SSL_read / SSL_write over a pair of BIO_s_mem.
#include "proxy/io/tls_channel.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <arpa/inet.h>

#include "protocol/sqlstate.h"

namespace pgtenant::proxy {

namespace {

// Plaintext is read in records' worth; a TLS record holds at most 16 kB.
constexpr size_t kReadChunk = 16 * 1024;

bool IsIpAddress(const std::string& host) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string Asn1Text(const ASN1_STRING* s) {
  if (s == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<size_t>(ASN1_STRING_length(s)));
}

}  // namespace

TlsChannel::TlsChannel(SSL* ssl) : ssl_(ssl) {
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(in_, -1);  // an empty input BIO means "want more", not EOF
  BIO_set_mem_eof_return(out_, -1);
  SSL_set_bio(ssl_, in_, out_);
}

TlsChannel::~TlsChannel() { SSL_free(ssl_); }

std::unique_ptr<TlsChannel> TlsChannel::Accept(const TlsContext& context) {
  SSL* ssl = SSL_new(context.get());
  if (ssl == nullptr) return nullptr;
  std::unique_ptr<TlsChannel> channel(new TlsChannel(ssl));
  SSL_set_accept_state(ssl);
  return channel;
}

std::unique_ptr<TlsChannel> TlsChannel::Connect(const TlsContext& context, const std::string& server_name,
                                                bool verify_host) {
  SSL* ssl = SSL_new(context.get());
  if (ssl == nullptr) return nullptr;
  std::unique_ptr<TlsChannel> channel(new TlsChannel(ssl));
  SSL_set_connect_state(ssl);
  const bool ip = IsIpAddress(server_name);
  if (!ip && !server_name.empty()) SSL_set_tlsext_host_name(ssl, server_name.c_str());
  if (verify_host) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, server_name.c_str());
    } else {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host(param, server_name.c_str(), server_name.size());
    }
  }
  return channel;
}

void TlsChannel::Drain(std::string& to_peer) {
  char* data = nullptr;
  long pending = BIO_get_mem_data(out_, &data);
  if (pending <= 0) return;
  to_peer.append(data, static_cast<size_t>(pending));
  (void)BIO_reset(out_);
}

Status TlsChannel::Failure(int ssl_error, const char* during) {
  std::string reason;
  long verify = SSL_get_verify_result(ssl_);
  std::string queued = TakeOpenSslErrors();
  if (verify != X509_V_OK) {
    reason = std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
  } else if (!queued.empty()) {
    reason = queued;
  } else if (ssl_error == SSL_ERROR_SYSCALL || ssl_error == SSL_ERROR_ZERO_RETURN) {
    reason = "the peer closed the connection";
  } else {
    reason = "SSL error " + std::to_string(ssl_error);
  }
  return Status::Error(sqlstate::kConnectionFailure, std::string(during) + ": " + reason);
}

Status TlsChannel::Start(std::string& to_peer) {
  ERR_clear_error();
  int rc = SSL_do_handshake(ssl_);
  Drain(to_peer);
  if (rc == 1) {
    established_ = true;
    return Status::Ok();
  }
  int error = SSL_get_error(ssl_, rc);
  if (error == SSL_ERROR_WANT_READ) return Status::Ok();
  return Failure(error, "TLS handshake failed");
}

Result<TlsChannel::Progress> TlsChannel::Receive(std::span<const uint8_t> ciphertext, std::string& plaintext,
                                                 std::string& to_peer) {
  ERR_clear_error();
  if (!ciphertext.empty() && BIO_write(in_, ciphertext.data(), static_cast<int>(ciphertext.size())) <= 0)
    return Status::Error(sqlstate::kConnectionFailure, "TLS: cannot buffer received data");
  if (!established_) {
    int rc = SSL_do_handshake(ssl_);
    Drain(to_peer);
    if (rc != 1) {
      int error = SSL_get_error(ssl_, rc);
      if (error == SSL_ERROR_WANT_READ) return Progress::kHandshaking;
      return Failure(error, "TLS handshake failed");
    }
    established_ = true;
  }
  for (;;) {
    size_t old = plaintext.size();
    plaintext.resize(old + kReadChunk);
    size_t n = 0;
    int rc = SSL_read_ex(ssl_, plaintext.data() + old, kReadChunk, &n);
    plaintext.resize(old + (rc == 1 ? n : 0));
    if (rc == 1) continue;
    int error = SSL_get_error(ssl_, rc);
    Drain(to_peer);  // post-handshake messages (session tickets, key updates) and alerts
    if (error == SSL_ERROR_WANT_READ) return Progress::kEstablished;
    if (error == SSL_ERROR_ZERO_RETURN) return Progress::kClosed;
    return Failure(error, "TLS error");
  }
}

Status TlsChannel::Encrypt(std::span<const uint8_t> plaintext, std::string& to_peer) {
  ERR_clear_error();
  size_t done = 0;
  while (done < plaintext.size()) {
    size_t n = 0;
    int rc = SSL_write_ex(ssl_, plaintext.data() + done, plaintext.size() - done, &n);
    if (rc != 1) {
      Drain(to_peer);
      return Failure(SSL_get_error(ssl_, rc), "TLS write failed");
    }
    done += n;
  }
  Drain(to_peer);
  return Status::Ok();
}

std::string TlsChannel::server_name() const {
  const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  return name != nullptr ? name : "";
}

std::string TlsChannel::alpn() const {
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_, &data, &length);
  return data != nullptr ? std::string(reinterpret_cast<const char*>(data), length) : "";
}

std::string TlsChannel::version() const { return SSL_get_version(ssl_); }

std::vector<std::string> TlsChannel::VerifiedPeerNames() const {
  std::vector<std::string> names;
  X509* cert = SSL_get0_peer_certificate(ssl_);
  if (cert == nullptr || SSL_get_verify_result(ssl_) != X509_V_OK) return names;
  X509_NAME* subject = X509_get_subject_name(cert);
  int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (at >= 0) names.push_back(Asn1Text(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at))));
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* san = sk_GENERAL_NAME_value(sans, i);
      if (san->type == GEN_DNS) names.push_back(Asn1Text(san->d.dNSName));
      if (san->type == GEN_EMAIL) names.push_back(Asn1Text(san->d.rfc822Name));
    }
    GENERAL_NAMES_free(sans);
  }
  return names;
}

}  // namespace pgtenant::proxy
