// TLS end to end: clients to pgtenant (verify-full, SNI routing, refusals), pgtenant to a PostgreSQL
// with ssl=on (verified, refused), client certificates and JWTs as credentials.
//
// Certificates come from a throwaway CA made by the test (tests/support/test_pki.h). The shared
// PostgreSQL gets ssl=on with ALTER SYSTEM for one test case and is put back afterwards.
#include <catch2/catch.hpp>
#include <libpq-fe.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <string>

#include "tests/integration/harness/net.h"
#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/poll.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/support/jwt_maker.h"
#include "tests/support/test_pki.h"

namespace pgtenant::integration {
namespace {

constexpr char kGlobexId[] = "9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d";
constexpr char kJwtSecret[] = "jwt-secret-for-the-integration-suite";

// A CA, pgtenant's server certificate (*.db.example.com, localhost, 127.0.0.1) and alice's client
// certificate, in a temporary directory.
struct Pki {
  TempDir dir{"pgtenant-tls-"};
  testing::TestPki ca{dir.path(), "test"};
  testing::IssuedCert proxy_cert =
      ca.Issue("proxy", {"pgtenant", {"*.db.example.com", "localhost"}, {"127.0.0.1"}});
  testing::IssuedCert alice_cert = ca.Issue("alice", {"alice", {}, {}});
};

// Two rls tenants on one backend, alice a member of both: only the connection can say which.
ProxyConfig TwoTenantConfig(const TestDatabase& db) {
  ProxyConfig config = StandardConfig(db);
  config.tenants["acme"] = TenantSpec{kAcmeId, "rls", "app", ""};
  config.tenants["globex"] = TenantSpec{kGlobexId, "rls", "app", ""};
  config.memberships["alice"]["globex"] = "member";
  config.tenant_identification = "[sni, username_suffix]";
  return config;
}

std::string TlsSection(const Pki& pki, const std::string& client_extra = "", const std::string& cert = "",
                       const std::string& key = "") {
  return "tls:\n  sni_suffix: .db.example.com\n  client: { certificate: " + (cert.empty() ? pki.proxy_cert.cert : cert) +
         ", key: " + (key.empty() ? pki.proxy_cert.key : key) + (client_extra.empty() ? "" : ", " + client_extra) +
         " }\n";
}

std::string VerifyFull(const Pki& pki, const std::string& host = "acme.db.example.com") {
  return "sslmode=verify-full sslrootcert=" + pki.ca.ca_file() + " host=" + host + " hostaddr=127.0.0.1";
}

std::string ErrorOf(PGconn* conn) { return PQerrorMessage(conn); }

TEST_CASE("psql with sslmode=verify-full reaches the tenant its host name names", "[tls]") {
  Pki pki;
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("tls");
  ProxyConfig config = TwoTenantConfig(db);
  config.extra_yaml += TlsSection(pki);
  ProxyProcess proxy(config);

  PgConn acme = MustConnectProxy(proxy, "alice", kAlicePassword, "app", VerifyFull(pki, "acme.db.example.com"));
  CHECK(PQsslInUse(acme.get()) == 1);
  CHECK(QueryValue(acme.get(), "SHOW app.current_organization_id") == kAcmeId);
  PgConn globex = MustConnectProxy(proxy, "alice", kAlicePassword, "app", VerifyFull(pki, "globex.db.example.com"));
  CHECK(QueryValue(globex.get(), "SHOW app.current_organization_id") == kGlobexId);

  // A name outside the suffix names no tenant, and SNI disagreeing with the user suffix is refused.
  PgConn none = ConnectProxy(proxy, "alice", kAlicePassword, "app", VerifyFull(pki, "localhost"));
  CHECK(PQstatus(none.get()) == CONNECTION_BAD);
  CHECK(ErrorOf(none.get()).find("tenant required") != std::string::npos);
  PgConn both = ConnectProxy(proxy, "alice.globex", kAlicePassword, "app", VerifyFull(pki, "acme.db.example.com"));
  CHECK(PQstatus(both.get()) == CONNECTION_BAD);
  CHECK(StartupSqlstate(both.get()) == "28000");

  // psql itself, the way a person would connect.
  CommandResult psql = RunCommand(
      {PostgresServer::Shared().bindir() + "/psql", "-X", "-A", "-t", "-c", "SELECT current_setting('app.current_organization_id')",
       "host=globex.db.example.com hostaddr=127.0.0.1 port=" + std::to_string(proxy.port()) +
           " user=alice dbname=app sslmode=verify-full sslrootcert=" + pki.ca.ca_file()},
      {{"PGPASSWORD", kAlicePassword}});
  CHECK(psql.exit_code == 0);
  CHECK(psql.output.find(kGlobexId) != std::string::npos);
}

TEST_CASE("wrong CA, expired certificate and plaintext under tls.client.mode require are refused", "[tls]") {
  Pki pki;
  testing::TestPki other(pki.dir.path(), "other");
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("tls");
  {
    ProxyConfig config = StandardConfig(db);
    config.extra_yaml += TlsSection(pki, "mode: require");
    ProxyProcess proxy(config);
    PgConn wrong_ca = ConnectProxy(proxy, "alice", kAlicePassword, "app",
                                   "sslmode=verify-full sslrootcert=" + other.ca_file());
    CHECK(PQstatus(wrong_ca.get()) == CONNECTION_BAD);
    CHECK(ErrorOf(wrong_ca.get()).find("certificate verify failed") != std::string::npos);

    PgConn plain = ConnectProxy(proxy, "alice", kAlicePassword, "app", "sslmode=disable");
    CHECK(PQstatus(plain.get()) == CONNECTION_BAD);
    CHECK(StartupSqlstate(plain.get()) == "28000");
    CHECK(ErrorOf(plain.get()).find("pgtenant: TLS required") != std::string::npos);

    PgConn verified = MustConnectProxy(proxy, "alice", kAlicePassword, "app", VerifyFull(pki, "localhost"));
    CHECK(QueryValue(verified.get(), "SELECT 1") == "1");
  }
  {
    testing::IssuedCert expired =
        pki.ca.Issue("expired", {"pgtenant", {"localhost"}, {"127.0.0.1"}, -7 * 86400, -86400});
    ProxyConfig config = StandardConfig(db);
    config.extra_yaml += TlsSection(pki, "", expired.cert, expired.key);
    ProxyProcess proxy(config);
    PgConn conn = ConnectProxy(proxy, "alice", kAlicePassword, "app", VerifyFull(pki, "localhost"));
    CHECK(PQstatus(conn.get()) == CONNECTION_BAD);
    INFO(ErrorOf(conn.get()));
    CHECK(ErrorOf(conn.get()).find("certificate verify failed") != std::string::npos);
    // libpq tells pgtenant why in its alert; the proxy logs it once it has read it.
    CHECK(proxy.AwaitLog("alert certificate expired"));
  }
}

// Direct TLS as PostgreSQL 17 clients do it (sslnegotiation=direct): a ClientHello first, ALPN
// "postgresql" (or none, with `alpn` false), then the startup packet inside TLS. Returns the type of
// the first message pgtenant answers with, or 0 when the handshake or the read failed.
char DirectTlsFirstReply(int port, const std::string& ca_file, bool alpn) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return 0;
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set1_host(ssl, "localhost");
  static const unsigned char kAlpn[] = {10, 'p', 'o', 's', 't', 'g', 'r', 'e', 's', 'q', 'l'};
  if (alpn) SSL_set_alpn_protos(ssl, kAlpn, sizeof(kAlpn));
  char reply = 0;
  if (SSL_connect(ssl) == 1) {
    std::string startup = StartupPacket({{"user", "alice"}, {"database", "app"}});
    char byte = 0;
    if (SSL_write(ssl, startup.data(), static_cast<int>(startup.size())) > 0 && SSL_read(ssl, &byte, 1) == 1)
      reply = byte;
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ::close(fd);
  return reply;
}

TEST_CASE("bytes sent behind an SSLRequest are refused, never read as protocol", "[tls]") {
  Pki pki;
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("tls");
  ProxyConfig config = StandardConfig(db);
  config.extra_yaml += TlsSection(pki);
  ProxyProcess proxy(config);

  RawClient raw(proxy.port());
  REQUIRE(raw.Send(Int32(8) + Int32(80877103) + StartupPacket({{"user", "alice"}, {"database", "app"}})));
  auto error = raw.ReadError(std::chrono::seconds(5));
  REQUIRE(error.has_value());
  CHECK((*error)['C'] == "08P01");
  CHECK((*error)['M'] == "pgtenant: received unencrypted data after SSL request");
  CHECK(raw.WaitForClose(std::chrono::seconds(5)));

  // A TLS ClientHello without SSLRequest (direct TLS) is closed when tls.client.direct is off.
  RawClient direct(proxy.port());
  REQUIRE(direct.Send(std::string("\x16\x03\x01\x00\x05hello", 10)));
  CHECK(direct.WaitForClose(std::chrono::seconds(5)));
}

TEST_CASE("direct TLS (sslnegotiation=direct) is served when tls.client.direct is on, with ALPN postgresql", "[tls]") {
  Pki pki;
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("tls");
  ProxyConfig config = StandardConfig(db);
  config.extra_yaml += TlsSection(pki, "direct: true");
  ProxyProcess proxy(config);
  CHECK(DirectTlsFirstReply(proxy.port(), pki.ca.ca_file(), true) == 'R');  // AuthenticationSASL
  CHECK(DirectTlsFirstReply(proxy.port(), pki.ca.ca_file(), false) == 0);   // no ALPN: closed
  // SSLRequest keeps working beside it.
  PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app", VerifyFull(pki, "localhost"));
  CHECK(QueryValue(conn.get(), "SELECT 1") == "1");
}

// ALTER SYSTEM ssl=on with a certificate in the data directory, and back to off at the end. On a
// private server: the setting is the whole cluster's.
class PostgresTls {
 public:
  PostgresTls(Pki& pki, PostgresServer& pg) : pg_(pg) {
    const std::string data = pg.Exec("SHOW data_directory")[0][0];
    cert_ = data + "/pgtenant-test-server.crt";
    key_ = data + "/pgtenant-test-server.key";
    testing::IssuedCert issued = pki.ca.Issue("postgres", {"postgres", {"pg.test"}, {"127.0.0.1"}});
    WriteFile(cert_, ReadFile(issued.cert));
    WriteFile(key_, ReadFile(issued.key));
    chmod(key_.c_str(), 0600);
    if (RunningAsRoot()) {
      REQUIRE(chown(cert_.c_str(), PostgresUid(), PostgresGid()) == 0);
      REQUIRE(chown(key_.c_str(), PostgresUid(), PostgresGid()) == 0);
    }
    pg.Exec("ALTER SYSTEM SET ssl_cert_file = '" + cert_ + "'");
    pg.Exec("ALTER SYSTEM SET ssl_key_file = '" + key_ + "'");
    pg.Exec("ALTER SYSTEM SET ssl = on");
    pg.Exec("SELECT pg_reload_conf()");
    WaitForSsl("on");
  }
  ~PostgresTls() {
    try {
      pg_.Exec("ALTER SYSTEM RESET ssl");
      pg_.Exec("ALTER SYSTEM RESET ssl_cert_file");
      pg_.Exec("ALTER SYSTEM RESET ssl_key_file");
      pg_.Exec("SELECT pg_reload_conf()");
      WaitForSsl("off");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "resetting ssl on PostgreSQL: %s\n", e.what());
    }
  }

 private:
  void WaitForSsl(const std::string& want) {
    if (!PollUntil([&] { return pg_.Exec("SHOW ssl")[0][0] == want; }, std::chrono::seconds(5))) {
      FAIL("PostgreSQL did not switch ssl to " << want);
    }
  }
  PostgresServer& pg_;
  std::string cert_;
  std::string key_;
};

TEST_CASE("pgtenant verifies a PostgreSQL with ssl=on, and refuses what it cannot verify", "[tls]") {
  Pki pki;
  testing::TestPki other(pki.dir.path(), "other");
  std::unique_ptr<PostgresServer> pg = PostgresServer::StartPrivate();  // ssl is switched on below
  TestDatabase db = pg->CreateTestDatabase("tls");
  auto connect_with = [&](const std::string& backend_extra) {
    ProxyConfig config = StandardConfig(db);
    config.backends["app"].extra = backend_extra;
    return config;
  };
  {
    // ssl is off: require fails, naming the backend; prefer falls back to plaintext.
    ProxyProcess proxy(connect_with("sslmode: require"));
    PgConn conn = ConnectProxy(proxy, "alice", kAlicePassword, "app");
    CHECK(PQstatus(conn.get()) == CONNECTION_BAD);
    CHECK(StartupSqlstate(conn.get()) == "08006");
    CHECK(ErrorOf(conn.get()).find("backend \"app\": server does not support TLS") != std::string::npos);
    ProxyProcess prefer(connect_with("sslmode: prefer"));
    PgConn plain = MustConnectProxy(prefer, "alice", kAlicePassword, "app");
    CHECK(QueryValue(plain.get(), "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") == "f");
  }
  PostgresTls tls(pki, *pg);
  {
    ProxyProcess proxy(connect_with("sslmode: verify-full, sslrootcert: " + pki.ca.ca_file()));
    PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
    CHECK(QueryValue(conn.get(), "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") == "t");
  }
  {
    // A shared pool over TLS: each switch carries the tenant context inside the client's Query, sent
    // in pieces that leave as one record (Outbox::SendPieces); one connection, so every turn switches.
    ProxyConfig config = connect_with("sslmode: verify-full, sslrootcert: " + pki.ca.ca_file() + ", shared_pool: true");
    const std::string globex_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    config.tenants["acme"] = TenantSpec{kAcmeId, "rls", "app", ""};
    config.tenants["globex"] = TenantSpec{globex_id, "rls", "app", ""};
    config.memberships["bob"].erase("acme");
    config.memberships["bob"]["globex"] = "member";
    config.pool_mode = "transaction";
    config.pool_size = 1;
    ProxyProcess proxy(config);
    PgConn alice = MustConnectProxy(proxy, "alice.acme", kAlicePassword, "app");
    PgConn bob = MustConnectProxy(proxy, "bob.globex", kBobPassword, "app");
    const std::string sql = "SELECT current_setting('app.current_organization_id') || ' ' || ssl FROM pg_stat_ssl "
                            "WHERE pid = pg_backend_pid()";
    for (int round = 0; round < 3; ++round) {
      CHECK(QueryValue(alice.get(), sql) == std::string(kAcmeId) + " true");
      CHECK(QueryValue(bob.get(), sql) == globex_id + " true");
    }
  }
  {
    ProxyProcess proxy(connect_with("sslmode: verify-ca, sslrootcert: " + other.ca_file()));
    PgConn conn = ConnectProxy(proxy, "alice", kAlicePassword, "app");
    CHECK(PQstatus(conn.get()) == CONNECTION_BAD);
    CHECK(StartupSqlstate(conn.get()) == "08006");
    CHECK(ErrorOf(conn.get()).find("backend \"app\": TLS handshake failed: certificate verify failed") !=
          std::string::npos);
  }
}

TEST_CASE("a client certificate logs its user in, and names no one else", "[tls]") {
  Pki pki;
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("tls");
  testing::IssuedCert bob_as_tenant = pki.ca.Issue("bob", {"Bob Smith", {}, {}});
  testing::TestPki other(pki.dir.path(), "other");
  testing::IssuedCert forged = other.Issue("forged", {"alice", {}, {}});
  testing::IssuedCert expired = pki.ca.Issue("alice-old", {"alice", {}, {}, -7 * 86400, -86400});
  ProxyConfig config = TwoTenantConfig(db);
  config.memberships["bob"]["globex"] = "member";
  config.auth_method = "cert";
  config.extra_yaml += TlsSection(pki, "ca: " + pki.ca.ca_file() + ", cert_users: { \"Bob Smith\": bob.globex }");
  ProxyProcess proxy(config);
  auto with_cert = [&](const testing::IssuedCert& cert, const std::string& host) {
    return VerifyFull(pki, host) + " sslcert=" + cert.cert + " sslkey=" + cert.key;
  };

  PgConn alice = MustConnectProxy(proxy, "alice", "", "app", with_cert(pki.alice_cert, "acme.db.example.com"));
  CHECK(QueryValue(alice.get(), "SHOW app.current_organization_id") == kAcmeId);
  // The mapping names bob and his tenant; SNI need not.
  PgConn bob = MustConnectProxy(proxy, "bob", "", "app", with_cert(bob_as_tenant, "localhost"));
  CHECK(QueryValue(bob.get(), "SHOW app.current_organization_id") == kGlobexId);

  PgConn impostor = ConnectProxy(proxy, "bob", "", "app", with_cert(pki.alice_cert, "acme.db.example.com"));
  CHECK(StartupSqlstate(impostor.get()) == "28000");
  CHECK(ErrorOf(impostor.get()).find("the certificate is for user \"alice\"") != std::string::npos);
  PgConn no_cert = ConnectProxy(proxy, "alice", "", "app", VerifyFull(pki));
  CHECK(ErrorOf(no_cert.get()).find("no verified client certificate") != std::string::npos);
  PgConn wrong_tenant = ConnectProxy(proxy, "bob", "", "app", with_cert(bob_as_tenant, "acme.db.example.com"));
  CHECK(ErrorOf(wrong_tenant.get()).find("the credential names tenant \"globex\"") != std::string::npos);
  PgConn forged_conn = ConnectProxy(proxy, "alice", "", "app", with_cert(forged, "acme.db.example.com"));
  CHECK(PQstatus(forged_conn.get()) == CONNECTION_BAD);
  PgConn expired_conn = ConnectProxy(proxy, "alice", "", "app", with_cert(expired, "acme.db.example.com"));
  CHECK(PQstatus(expired_conn.get()) == CONNECTION_BAD);
}

TEST_CASE("a JWT as the password: valid, expired, wrong signature, wrong audience, tenant mismatch", "[tls]") {
  Pki pki;
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("tls");
  ProxyConfig config = TwoTenantConfig(db);
  config.auth_method = "jwt";
  config.port = FreePort();
  config.extra_yaml += TlsSection(pki);
  std::string yaml = config.ToYaml();
  const std::string auth_line = "auth: { method: jwt }";
  REQUIRE(yaml.find(auth_line) != std::string::npos);
  yaml.replace(yaml.find(auth_line), auth_line.size(),
               "auth: { method: jwt, jwt: { secret: " + std::string(kJwtSecret) +
                   ", issuer: https://idp.example.com, audience: pgtenant, tenant_claim: org_id } }");
  ProxyProcess proxy(yaml, config.port);

  const long now = static_cast<long>(std::time(nullptr));
  auto token = [&](const std::string& claims, long exp_offset = 600, const std::string& secret = kJwtSecret) {
    return testing::HmacToken(secret, R"({"sub":"alice","iss":"https://idp.example.com",)" + claims +
                                          R"("exp":)" + std::to_string(now + exp_offset) + "}");
  };
  auto refusal = [&](const std::string& jwt, const std::string& host) {
    PgConn conn = ConnectProxy(proxy, "alice", jwt, "app", VerifyFull(pki, host));
    REQUIRE(PQstatus(conn.get()) == CONNECTION_BAD);
    std::string message = ErrorOf(conn.get());
    CHECK(message.find(jwt) == std::string::npos);  // never echoed
    return StartupSqlstate(conn.get()) + " " + PrimaryMessageOf(message);
  };

  // The tenant claim may be the tenant's id; the host name agrees with it.
  PgConn ok = MustConnectProxy(proxy, "alice", token(R"("aud":"pgtenant","org_id":")" + std::string(kGlobexId) + "\","),
                               "app", VerifyFull(pki, "globex.db.example.com"));
  CHECK(QueryValue(ok.get(), "SHOW app.current_organization_id") == kGlobexId);
  // Naming the tenant by the token alone.
  PgConn by_token = MustConnectProxy(proxy, "alice", token(R"("aud":"pgtenant","org_id":"acme",)"), "app",
                                     VerifyFull(pki, "localhost"));
  CHECK(QueryValue(by_token.get(), "SHOW app.current_organization_id") == kAcmeId);

  CHECK(refusal(token(R"("aud":"pgtenant","org_id":"acme",)", -120), "acme.db.example.com") ==
        "28P01 pgtenant: JWT rejected: token expired");
  CHECK(refusal(token(R"("aud":"pgtenant","org_id":"acme",)", 600, "not-the-secret"), "acme.db.example.com") ==
        "28P01 pgtenant: JWT rejected: bad signature");
  CHECK(refusal(token(R"("aud":"someone-else","org_id":"acme",)"), "acme.db.example.com") ==
        "28P01 pgtenant: JWT rejected: wrong audience (expected \"pgtenant\")");
  CHECK(refusal(token(R"("aud":"pgtenant","org_id":"acme",)"), "globex.db.example.com") ==
        "28000 pgtenant: the credential names tenant \"acme\" but the connection names \"globex\" (by sni)");

  // Over plaintext the token is never asked for.
  PgConn plain = ConnectProxy(proxy, "alice", token(R"("aud":"pgtenant",)"), "app", "sslmode=disable");
  CHECK(StartupSqlstate(plain.get()) == "28000");
  CHECK(ErrorOf(plain.get()).find("pgtenant: JWT authentication requires TLS") != std::string::npos);
}

TEST_CASE("certificates are reloaded with the config; a certificate that does not load refuses the reload",
          "[tls][reload]") {
  Pki pki;
  testing::TestPki other(pki.dir.path(), "other");
  testing::IssuedCert rotated = other.Issue("proxy2", {"pgtenant", {"*.db.example.com", "localhost"}, {"127.0.0.1"}});
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("tlsreload");
  ProxyConfig config = TwoTenantConfig(db);
  const std::string tenants_yaml = config.extra_yaml;
  config.extra_yaml = tenants_yaml + TlsSection(pki);
  ProxyProcess proxy(config);
  config.port = proxy.port();
  auto rewrite = [&](const std::string& tls) {
    config.extra_yaml = tenants_yaml + tls;
    std::ofstream(proxy.config_path(), std::ios::trunc) << config.ToYaml();
    proxy.Signal(SIGHUP);
  };
  const std::string other_ca = "sslmode=verify-full sslrootcert=" + other.ca_file() +
                               " host=acme.db.example.com hostaddr=127.0.0.1";

  // A key file that is not a key: refused, and the running certificate keeps serving.
  const std::string garbage = pki.dir.path() + "/garbage.key";
  WriteFile(garbage, "not a key\n");
  rewrite(TlsSection(pki, "", pki.proxy_cert.cert, garbage));
  REQUIRE(proxy.AwaitLog("reload refused"));
  CHECK_THAT(proxy.Log(), Catch::Contains("garbage.key"));
  PgConn still = MustConnectProxy(proxy, "alice", kAlicePassword, "app", VerifyFull(pki));
  CHECK(QueryValue(still.get(), "SHOW app.current_organization_id") == kAcmeId);

  // A rotated certificate from another CA: new handshakes present it at once.
  rewrite(TlsSection(pki, "", rotated.cert, rotated.key));
  REQUIRE(proxy.AwaitLog("reloaded"));
  PgConn rotated_conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app", other_ca);
  CHECK(QueryValue(rotated_conn.get(), "SHOW app.current_organization_id") == kAcmeId);
  PgConn old_ca = ConnectProxy(proxy, "alice", kAlicePassword, "app", VerifyFull(pki));
  CHECK(PQstatus(old_ca.get()) == CONNECTION_BAD);
  // The session opened before the rotation goes on.
  CHECK(QueryValue(still.get(), "SELECT 'unaffected'") == "unaffected");
}

}  // namespace
}  // namespace pgtenant::integration
