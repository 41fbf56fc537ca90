// TlsChannel over an in-memory pair: handshake, data both ways, SNI, ALPN, verification failures.
#include "proxy/io/tls_channel.h"

#include <openssl/ssl.h>
#include <stdlib.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "tests/support/test_pki.h"

namespace pgtenant::proxy {
namespace {

class Scratch {
 public:
  Scratch() {
    char tmpl[] = "/tmp/pgtenant_tls_XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~Scratch() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Moves bytes between the two channels until neither has anything to say. Returns the first error.
Status Pump(TlsChannel& client, TlsChannel& server, std::string& to_server, std::string& client_plain,
            std::string& server_plain) {
  std::string to_client;
  for (int round = 0; round < 20 && !(to_server.empty() && to_client.empty()); ++round) {
    std::string in = std::move(to_server);
    to_server.clear();
    auto s = server.Receive(Bytes(in), server_plain, to_client);
    if (!s.ok()) return s.status();
    in = std::move(to_client);
    to_client.clear();
    auto c = client.Receive(Bytes(in), client_plain, to_server);
    if (!c.ok()) return c.status();
  }
  return Status::Ok();
}

struct Fixture {
  Scratch dir;
  testing::TestPki pki{dir.path(), "good"};
  testing::IssuedCert server_cert = pki.Issue("server", {"db.example.com", {"acme.db.example.com", "localhost"}, {}});

  config::TlsClientConfig ServerConfig() const {
    config::TlsClientConfig tls;
    tls.mode = config::TlsClientMode::kAllow;
    tls.certificate = server_cert.cert;
    tls.key = server_cert.key;
    return tls;
  }
  config::BackendConfig Backend(const std::string& mode, const std::string& ca) const {
    config::BackendConfig backend;
    backend.name = "app";
    backend.host = "acme.db.example.com";
    backend.sslmode = mode;
    backend.sslrootcert = ca;
    return backend;
  }
};

TEST_CASE("a handshake over memory BIOs, then data both ways, with SNI seen by the server") {
  Fixture f;
  auto server_ctx = TlsContext::ForClients(f.ServerConfig());
  REQUIRE(server_ctx.ok());
  auto client_ctx = TlsContext::ForBackend(f.Backend("verify-full", f.pki.ca_file()));
  REQUIRE(client_ctx.ok());
  auto server = TlsChannel::Accept(**server_ctx);
  auto client = TlsChannel::Connect(**client_ctx, "acme.db.example.com", true);
  std::string to_server, client_plain, server_plain;
  REQUIRE(client->Start(to_server).ok());
  REQUIRE(!to_server.empty());
  REQUIRE(Pump(*client, *server, to_server, client_plain, server_plain).ok());
  REQUIRE(client->established());
  REQUIRE(server->established());
  CHECK(server->server_name() == "acme.db.example.com");

  std::string big(100000, 'x');  // several records
  REQUIRE(client->Encrypt(Bytes(big), to_server).ok());
  std::string ignored;
  REQUIRE(server->Receive(Bytes(to_server), server_plain, ignored).ok());
  CHECK(server_plain == big);

  std::string to_client;
  REQUIRE(server->Encrypt(Bytes(std::string("hello")), to_client).ok());
  // Fed one byte at a time, the record still decrypts whole.
  for (char c : to_client) REQUIRE(client->Receive(Bytes(std::string(1, c)), client_plain, ignored).ok());
  CHECK(client_plain == "hello");
}

TEST_CASE("verify-full refuses a certificate for another host name, naming the reason") {
  Fixture f;
  auto server_ctx = TlsContext::ForClients(f.ServerConfig());
  auto client_ctx = TlsContext::ForBackend(f.Backend("verify-full", f.pki.ca_file()));
  REQUIRE((server_ctx.ok() && client_ctx.ok()));
  auto server = TlsChannel::Accept(**server_ctx);
  auto client = TlsChannel::Connect(**client_ctx, "other.example.org", true);
  std::string to_server, a, b;
  REQUIRE(client->Start(to_server).ok());
  Status s = Pump(*client, *server, to_server, a, b);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("certificate verify failed: hostname mismatch") != std::string::npos);
}

TEST_CASE("verify-ca refuses a certificate from another CA; require does not verify") {
  Fixture f;
  testing::TestPki other(f.dir.path(), "other");
  auto server_ctx = TlsContext::ForClients(f.ServerConfig());
  REQUIRE(server_ctx.ok());
  {
    auto client_ctx = TlsContext::ForBackend(f.Backend("verify-ca", other.ca_file()));
    REQUIRE(client_ctx.ok());
    auto server = TlsChannel::Accept(**server_ctx);
    auto client = TlsChannel::Connect(**client_ctx, "acme.db.example.com", false);
    std::string to_server, a, b;
    REQUIRE(client->Start(to_server).ok());
    Status s = Pump(*client, *server, to_server, a, b);
    REQUIRE_FALSE(s.ok());
    CHECK(s.message().find("certificate verify failed") != std::string::npos);
  }
  {
    auto client_ctx = TlsContext::ForBackend(f.Backend("require", ""));
    REQUIRE(client_ctx.ok());
    auto server = TlsChannel::Accept(**server_ctx);
    auto client = TlsChannel::Connect(**client_ctx, "127.0.0.1", false);
    std::string to_server, a, b;
    REQUIRE(client->Start(to_server).ok());
    REQUIRE(Pump(*client, *server, to_server, a, b).ok());
    CHECK(client->established());
    CHECK(server->server_name().empty());  // no SNI for an IP address
  }
}

TEST_CASE("a client certificate signed by tls.client.ca is verified and its names are read") {
  Fixture f;
  testing::IssuedCert alice = f.pki.Issue("alice", {"alice", {"alice.example.com"}, {}});
  config::TlsClientConfig tls = f.ServerConfig();
  tls.ca = f.pki.ca_file();
  auto server_ctx = TlsContext::ForClients(tls);
  REQUIRE(server_ctx.ok());
  auto client_ctx = TlsContext::ForBackend(f.Backend("verify-ca", f.pki.ca_file()));
  REQUIRE(client_ctx.ok());
  REQUIRE(SSL_CTX_use_certificate_file((*client_ctx)->get(), alice.cert.c_str(), SSL_FILETYPE_PEM) == 1);
  REQUIRE(SSL_CTX_use_PrivateKey_file((*client_ctx)->get(), alice.key.c_str(), SSL_FILETYPE_PEM) == 1);
  auto server = TlsChannel::Accept(**server_ctx);
  auto client = TlsChannel::Connect(**client_ctx, "acme.db.example.com", false);
  std::string to_server, a, b;
  REQUIRE(client->Start(to_server).ok());
  REQUIRE(Pump(*client, *server, to_server, a, b).ok());
  CHECK(server->VerifiedPeerNames() == std::vector<std::string>{"alice", "alice.example.com"});
}

TEST_CASE("min_version 1.3 refuses a TLS 1.2 client") {
  Fixture f;
  config::TlsClientConfig tls = f.ServerConfig();
  tls.min_version = "1.3";
  auto server_ctx = TlsContext::ForClients(tls);
  auto client_ctx = TlsContext::ForBackend(f.Backend("require", ""));
  REQUIRE((server_ctx.ok() && client_ctx.ok()));
  SSL_CTX_set_max_proto_version((*client_ctx)->get(), TLS1_2_VERSION);
  auto server = TlsChannel::Accept(**server_ctx);
  auto client = TlsChannel::Connect(**client_ctx, "acme.db.example.com", false);
  std::string to_server, a, b;
  REQUIRE(client->Start(to_server).ok());
  CHECK_FALSE(Pump(*client, *server, to_server, a, b).ok());
}

TEST_CASE("a missing certificate file is an error naming the key and the file") {
  config::TlsClientConfig tls;
  tls.mode = config::TlsClientMode::kAllow;
  tls.certificate = "/nonexistent/server.crt";
  tls.key = "/nonexistent/server.key";
  auto ctx = TlsContext::ForClients(tls);
  REQUIRE_FALSE(ctx.ok());
  CHECK(ctx.status().message().find("tls.client.certificate \"/nonexistent/server.crt\"") != std::string::npos);
}

}  // namespace
}  // namespace pgtenant::proxy
