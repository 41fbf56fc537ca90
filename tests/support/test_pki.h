// TestPki: a throwaway certificate authority for tests, made with OpenSSL's C API.
//
// Each TestPki is its own CA (so a second one is "the wrong CA"); Issue() writes NAME.crt and
// NAME.key (PEM, key mode 0600) into `dir` and returns their paths. Validity may lie in the past
// (an expired certificate). Header-only, shared by the unit and the integration tests; throws
// std::runtime_error on any OpenSSL failure.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace pgtenant::testing {

struct IssuedCert {
  std::string cert;  // path of the PEM certificate
  std::string key;   // path of the PEM private key
};

struct CertSpec {
  std::string common_name;
  std::vector<std::string> dns_names;  // subjectAltName DNS entries
  std::vector<std::string> ip_addresses;  // subjectAltName IP entries
  long valid_from_seconds = -3600;       // relative to now
  long valid_until_seconds = 86400;      // relative to now; negative = expired
};

class TestPki {
 public:
  TestPki(std::string dir, std::string name) : dir_(std::move(dir)), name_(std::move(name)) {
    ca_key_ = NewKey();
    ca_cert_ = X509_new();
    Fill(ca_cert_, ca_key_, name_ + " test CA", -3600, 86400, nullptr, nullptr);
    AddExtension(ca_cert_, ca_cert_, NID_basic_constraints, "critical,CA:TRUE");
    AddExtension(ca_cert_, ca_cert_, NID_key_usage, "critical,keyCertSign,cRLSign");
    Sign(ca_cert_, ca_key_);
    ca_file_ = dir_ + "/" + name_ + "-ca.crt";
    WriteCert(ca_file_, ca_cert_);
  }
  ~TestPki() {
    X509_free(ca_cert_);
    EVP_PKEY_free(ca_key_);
  }
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  const std::string& ca_file() const { return ca_file_; }

  IssuedCert Issue(const std::string& file_name, const CertSpec& spec) {
    EVP_PKEY* key = NewKey();
    X509* cert = X509_new();
    Fill(cert, key, spec.common_name, spec.valid_from_seconds, spec.valid_until_seconds, ca_cert_, ca_key_);
    std::string san;
    for (const std::string& dns : spec.dns_names) san += (san.empty() ? "" : ",") + std::string("DNS:") + dns;
    for (const std::string& ip : spec.ip_addresses) san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
    if (!san.empty()) AddExtension(cert, ca_cert_, NID_subject_alt_name, san);
    AddExtension(cert, ca_cert_, NID_basic_constraints, "critical,CA:FALSE");
    AddExtension(cert, ca_cert_, NID_ext_key_usage, "serverAuth,clientAuth");
    Sign(cert, ca_key_);
    IssuedCert out{dir_ + "/" + file_name + ".crt", dir_ + "/" + file_name + ".key"};
    WriteCert(out.cert, cert);
    WriteKey(out.key, key);
    X509_free(cert);
    EVP_PKEY_free(key);
    return out;
  }

 private:
  static void Check(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("TestPki: ") + what + " failed");
  }
  static EVP_PKEY* NewKey() {
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    Check(key != nullptr, "EC key generation");
    return key;
  }
  void Fill(X509* cert, EVP_PKEY* key, const std::string& cn, long from, long until, X509* issuer,
            EVP_PKEY*) {
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), static_cast<long>(++serial_) + (issuer ? 1000 : 0));
    X509_gmtime_adj(X509_getm_notBefore(cert), from);
    X509_gmtime_adj(X509_getm_notAfter(cert), until);
    X509_set_pubkey(cert, key);
    X509_NAME* subject = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1,
                               -1, 0);
    X509_set_issuer_name(cert, issuer != nullptr ? X509_get_subject_name(issuer) : subject);
  }
  static void AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    Check(ext != nullptr, "X509V3_EXT_conf_nid");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  static void Sign(X509* cert, EVP_PKEY* key) { Check(X509_sign(cert, key, EVP_sha256()) > 0, "X509_sign"); }
  static void WriteCert(const std::string& path, X509* cert) {
    FILE* f = std::fopen(path.c_str(), "w");
    Check(f != nullptr && PEM_write_X509(f, cert) == 1, "writing a certificate");
    std::fclose(f);
  }
  static void WriteKey(const std::string& path, EVP_PKEY* key) {
    FILE* f = std::fopen(path.c_str(), "w");
    Check(f != nullptr && PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1, "writing a key");
    std::fclose(f);
    chmod(path.c_str(), 0600);
  }

  std::string dir_;
  std::string name_;
  std::string ca_file_;
  EVP_PKEY* ca_key_ = nullptr;
  X509* ca_cert_ = nullptr;
  int serial_ = 0;
};

}  // namespace pgtenant::testing
