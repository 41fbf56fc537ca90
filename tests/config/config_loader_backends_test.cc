// backends.NAME.hosts (a primary and its alternates), health_check: and peers: (scale-out).
#include <catch2/catch.hpp>

#include <map>

#include "config/config.h"

namespace pgtenant::config {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::string_view kVerifier =
    "SCRAM-SHA-256$4096:zTU5Wue0iYK6zGxWWxlTXQ==$NNKgQtnfbFPhifhAywzDVOol98jHbI+THs+LKDDD4Xk=:"
    "dMpvkAnzUuJJW6SMexCZGu4cekeUFppBVCVDp2JmwlQ=";

// `backends` (line 1 onwards) followed by a valid tenants/users block.
std::string WithBackends(std::initializer_list<std::string_view> lines) {
  std::string out;
  for (std::string_view line : lines) out += std::string(line) + "\n";
  out += "tenants:\n  acme: { id: 7c9e6679-7425-40de-944b-e07fc1f90ae7, backend: db }\n";
  out += "users:\n  alice: { password: \"" + std::string(kVerifier) + "\", tenants: { acme: admin } }\n";
  return out;
}

Result<std::shared_ptr<const Config>> Load(const std::string& yaml) {
  return LoadConfigString(yaml, "t.yaml", [](std::string_view) { return std::nullopt; });
}

std::shared_ptr<const Config> LoadOk(const std::string& yaml) {
  auto result = Load(yaml);
  INFO(result.status().message());
  REQUIRE(result.ok());
  return *result;
}

std::string ErrorOf(const std::string& yaml) {
  auto result = Load(yaml);
  REQUIRE_FALSE(result.ok());
  return result.status().message();
}

const std::string kOneBackend = "  db: { host: 127.0.0.1, database: app, user: u }";

TEST_CASE("host/port is one host; hosts lists a primary and its alternates in order", "[config_loader]") {
  auto single = LoadOk(WithBackends({"backends:", "  db: { host: pg.internal, port: 5433, database: app, user: u }"}));
  const BackendConfig& one = *single->FindBackend("db");
  CHECK(one.hosts == std::vector<BackendHost>{{"pg.internal", 5433}});

  auto several = LoadOk(WithBackends({"backends:",
                                      "  db:",
                                      "    hosts:",
                                      "      - { host: primary.internal, port: 5433 }",
                                      "      - { host: replica.internal }",
                                      "    database: app",
                                      "    user: u"}));
  const BackendConfig& db = *several->FindBackend("db");
  CHECK(db.hosts == std::vector<BackendHost>{{"primary.internal", 5433}, {"replica.internal", 5432}});
  CHECK(db.host == "primary.internal");  // host/port mirror the primary
  CHECK(db.port == 5433);
}

TEST_CASE("hosts errors point at the offending value", "[config_loader]") {
  CHECK(ErrorOf(WithBackends({"backends:", "  db: { database: app, user: u }"})) ==
        "t.yaml:2:7: backends.db: missing required key 'host' (or 'hosts')");
  CHECK(ErrorOf(WithBackends({"backends:", "  db: { host: a, hosts: [{host: b}], database: app, user: u }"})) ==
        "t.yaml:2:15: backends.db.host: use either host/port or hosts, not both");
  CHECK(ErrorOf(WithBackends({"backends:", "  db: { hosts: [], database: app, user: u }"})) ==
        "t.yaml:2:16: backends.db.hosts: must list at least one host");
  CHECK(ErrorOf(WithBackends({"backends:", "  db: { hosts: [{host: a}, {host: a, port: 5432}], database: d, user: u }"})) ==
        "t.yaml:2:28: backends.db.hosts[1]: a:5432 is listed twice");
  CHECK(ErrorOf(WithBackends({"backends:", "  db: { hosts: [{host: a, port: 0}], database: d, user: u }"})) ==
        "t.yaml:2:33: backends.db.hosts[0].port: expected an integer from 1 to 65535, got 0");
  CHECK(ErrorOf(WithBackends({"backends:", "  db: { hosts: [{hots: a}], database: d, user: u }"})) ==
        "t.yaml:2:18: backends.db.hosts[0]: unknown key 'hots' (did you mean 'host'?)");
}

TEST_CASE("a host starting with '/' is a Unix-domain socket directory, as in libpq", "[config_loader]") {
  auto local = LoadOk(WithBackends({"backends:", "  db: { host: /run/postgresql, port: 5433, database: app, user: u }"}));
  const BackendConfig& db = *local->FindBackend("db");
  CHECK(IsSocketDirectory(db.host));
  CHECK(SocketPath(db.host, db.port) == "/run/postgresql/.s.PGSQL.5433");
  CHECK(SocketPath("/run/postgresql/", 5432) == "/run/postgresql/.s.PGSQL.5432");
  CHECK(SocketPath("/", 5432) == "/.s.PGSQL.5432");
  CHECK(DescribeAddress(db.host, db.port) == "/run/postgresql/.s.PGSQL.5433");
  CHECK(DescribeAddress("pg.internal", 5432) == "pg.internal:5432");
  CHECK(DescribeAddress("::1", 5432) == "[::1]:5432");
  CHECK_FALSE(IsSocketDirectory("pg.internal"));
  // prefer falls back to plaintext, as libpq does on a socket.
  LoadOk(WithBackends({"backends:", "  db: { host: /tmp, sslmode: prefer, database: app, user: u }"}));

  const std::string long_directory = "/" + std::string(92, 'd');  // 93 + "/.s.PGSQL.5432" = 107 bytes: fits
  LoadOk(WithBackends({"backends:", "  db: { host: " + long_directory + ", database: app, user: u }"}));
  CHECK(ErrorOf(WithBackends({"backends:", "  db: { host: " + long_directory + "d, database: app, user: u }"})) ==
        "t.yaml:2:15: backends.db.host: socket path \"" + long_directory +
            "d/.s.PGSQL.5432\" is longer than 107 bytes, more than a Unix-domain socket address holds; use a "
            "shorter directory");
  CHECK(ErrorOf(WithBackends({"backends:", "  db: { host: /tmp, sslmode: require, database: app, user: u }"})) ==
        "t.yaml:2:30: backends.db.sslmode: sslmode require demands TLS, but \"/tmp\" is a Unix-domain socket "
        "directory, which PostgreSQL never encrypts; use sslmode: disable (or prefer) for it, or a TCP host");
  CHECK(ErrorOf(WithBackends({"backends:",
                              "  db: { hosts: [{host: pg.internal}, {host: /tmp}], sslmode: verify-full, database: d, "
                              "user: u }"})) ==
        "t.yaml:2:62: backends.db.sslmode: sslmode verify-full demands TLS, but \"/tmp\" is a Unix-domain socket "
        "directory, which PostgreSQL never encrypts; use sslmode: disable (or prefer) for it, or a TCP host");
}

TEST_CASE("health_check is off unless present; its durations are validated", "[config_loader]") {
  auto off = LoadOk(WithBackends({"backends:", kOneBackend}));
  CHECK_FALSE(off->health_check.enabled);

  auto on = LoadOk("health_check: { interval: 2s, timeout: 500ms }\n" + WithBackends({"backends:", kOneBackend}));
  CHECK(on->health_check.enabled);
  CHECK(on->health_check.interval == seconds(2));
  CHECK(on->health_check.timeout == milliseconds(500));

  auto defaults = LoadOk("health_check:\n" + WithBackends({"backends:", kOneBackend}));
  CHECK(defaults->health_check.enabled);
  CHECK(defaults->health_check.interval == seconds(5));
  CHECK(defaults->health_check.timeout == seconds(2));

  CHECK(ErrorOf("health_check: { interval: 0 }\n" + WithBackends({"backends:", kOneBackend})) ==
        "t.yaml:1:27: health_check.interval: must be longer than 0");
  CHECK(ErrorOf("health_check: { every: 5s }\n" + WithBackends({"backends:", kOneBackend})) ==
        "t.yaml:1:17: health_check: unknown key 'every'; expected one of interval, timeout");
}

TEST_CASE("peers list every instance with a unique id and address", "[config_loader]") {
  auto config = LoadOk("peers:\n"
                       "  - { id: 1, address: \"10.0.0.1:6432\" }\n"
                       "  - { id: 2, address: \"pgtenant-1.pgtenant:6432\" }\n"
                       "  - { id: 1023, address: \"[fd00::3]:6432\" }\n" +
                       WithBackends({"backends:", kOneBackend}));
  REQUIRE(config->peers.size() == 3);
  CHECK(config->peers[0] == PeerConfig{1, "10.0.0.1", 6432});
  CHECK(config->peers[1] == PeerConfig{2, "pgtenant-1.pgtenant", 6432});
  CHECK(config->peers[2] == PeerConfig{1023, "fd00::3", 6432});

  const std::string rest = WithBackends({"backends:", kOneBackend});
  CHECK(ErrorOf("peers: [ { id: 1024, address: \"a:1\" } ]\n" + rest) ==
        "t.yaml:1:16: peers[0].id: expected an integer from 0 to 1023, got 1024");
  CHECK(ErrorOf("peers: [ { id: 1, address: a } ]\n" + rest) ==
        "t.yaml:1:28: peers[0].address: expected host:port (IPv6 as [address]:port, port 1..65535), got \"a\"");
  CHECK(ErrorOf("peers: [ { id: 1, address: \"::1:6432\" } ]\n" + rest) ==
        "t.yaml:1:28: peers[0].address: expected host:port (IPv6 as [address]:port, port 1..65535), got "
        "\"::1:6432\"");
  CHECK(ErrorOf("peers: [ { id: 1, address: \"a:1\" }, { id: 1, address: \"b:1\" } ]\n" + rest) ==
        "t.yaml:1:43: peers[1].id: instance id 1 is listed twice");
  CHECK(ErrorOf("peers: [ { id: 1, address: \"a:1\" }, { id: 2, address: \"a:1\" } ]\n" + rest) ==
        "t.yaml:1:55: peers[1].address: \"a:1\" is listed twice (instance 1)");
  CHECK(ErrorOf("peers: [ { id: 1 } ]\n" + rest) == "t.yaml:1:10: peers[0]: missing required key 'address'");
}

}  // namespace
}  // namespace pgtenant::config
