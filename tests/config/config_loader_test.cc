// Loading a config: the document, top-level settings, limits, pools, backends, ${VAR} and files.
//
// Every error names FILE:LINE:COLUMN (1-based) and the key path. In these tests, line N of a YAML
// text is element N of the list given to Yaml().
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "config/config.h"

namespace pgtenant::config {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::string_view kVerifier =
    "SCRAM-SHA-256$4096:zTU5Wue0iYK6zGxWWxlTXQ==$NNKgQtnfbFPhifhAywzDVOol98jHbI+THs+LKDDD4Xk=:"
    "dMpvkAnzUuJJW6SMexCZGu4cekeUFppBVCVDp2JmwlQ=";

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// Joins lines; line N of the result is the Nth element (1-based).
std::string Yaml(std::initializer_list<std::string_view> lines) {
  std::string out;
  for (std::string_view line : lines) {
    out += line;
    out += '\n';
  }
  return out;
}

// A valid backends/tenants/users block, appended after the lines a test is about.
std::string ValidBody() {
  return Yaml({
      "backends:",
      "  db: { host: 127.0.0.1, database: app, user: app_tenant }",
      "tenants:",
      "  acme: { id: 7c9e6679-7425-40de-944b-e07fc1f90ae7, backend: db }",
      "users:",
      "  alice:",
      "    password: \"" + std::string(kVerifier) + "\"",
      "    tenants: { acme: admin }",
  });
}

Result<std::shared_ptr<const Config>> Load(const std::string& yaml,
                                           const EnvLookup& env = FakeEnv({{"PG_PORT", "5433"}})) {
  return LoadConfigString(yaml, "t.yaml", env);
}

std::shared_ptr<const Config> LoadOk(const std::string& yaml) {
  auto result = Load(yaml);
  INFO(result.status().message());
  REQUIRE(result.ok());
  return *result;
}

std::string ErrorOf(const std::string& yaml, const EnvLookup& env = FakeEnv({})) {
  auto result = Load(yaml, env);
  REQUIRE_FALSE(result.ok());
  return result.status().message();
}

TEST_CASE("a file with only backends, tenants and users gets every default", "[config_loader]") {
  auto config = LoadOk(ValidBody());
  CHECK(config->source == "t.yaml");
  CHECK(config->listen.address == "127.0.0.1");
  CHECK(config->listen.port == 6432);
  CHECK(config->auth_method == AuthMethod::kScramSha256);
  CHECK(config->max_client_connections == 1000);
  CHECK(config->max_query_size == 8 << 20);
  CHECK(config->max_function_call_size == 16 << 20);
  CHECK(config->client_idle_timeout == milliseconds(0));
  CHECK(config->idle_transaction_timeout == milliseconds(0));
  CHECK(config->startup_timeout == seconds(10));
  CHECK(config->shutdown_timeout == seconds(30));
  CHECK(config->tenant_setting == "app.current_organization_id");
  CHECK(config->username_separator == ".");
  CHECK(config->tenant_identification ==
        std::vector{IdentificationMethod::kUsernameSuffix, IdentificationMethod::kStartupOption,
                    IdentificationMethod::kDatabaseName, IdentificationMethod::kSingleTenant});
  const BackendConfig& db = config->backends.at("db");
  CHECK(db.name == "db");
  CHECK(db.port == 5432);
  CHECK(db.password.empty());
  CHECK(db.sslmode == "disable");
  CHECK(db.max_connections == 0);
  CHECK(db.connect_timeout == seconds(5));
  const TenantConfig& acme = config->tenants.at("acme");
  CHECK(acme.isolation == IsolationMode::kRls);
  CHECK(acme.max_clients == 0);
  CHECK(config->users.at("alice").tenants == std::map<std::string, TenantRole>{{"acme", TenantRole::kAdmin}});
}

TEST_CASE("every top-level setting is read", "[config_loader]") {
  auto config = LoadOk(Yaml({
                           "listen: { address: 0.0.0.0, port: 7000 }",
                           "auth: { method: scram-sha-256 }",
                           "limits:",
                           "  max_client_connections: 50",
                           "  max_query_size: 64kB",
                           "  max_function_call_size: 8MB",
                           "  client_idle_timeout: 90",
                           "  idle_transaction_timeout: 30s",
                           "  startup_timeout: 250ms",
                           "  shutdown_timeout: 2m",
                           "tenant_setting: myapp.org_id",
                           "tenant_identification: [sni, single_tenant]",
                           "username_separator: \"@\"",
                       }) +
                       ValidBody());
  CHECK(config->listen.address == "0.0.0.0");
  CHECK(config->listen.port == 7000);
  CHECK(config->max_client_connections == 50);
  CHECK(config->max_query_size == 64 * 1024);
  CHECK(config->max_function_call_size == 8 << 20);
  CHECK(config->client_idle_timeout == seconds(90));
  CHECK(config->idle_transaction_timeout == seconds(30));
  CHECK(config->startup_timeout == milliseconds(250));
  CHECK(config->shutdown_timeout == std::chrono::minutes(2));
  CHECK(config->tenant_setting == "myapp.org_id");
  CHECK(config->tenant_identification == std::vector{IdentificationMethod::kSni, IdentificationMethod::kSingleTenant});
  CHECK(config->username_separator == "@");
}

TEST_CASE("an empty file is an error at 1:1", "[config_loader]") {
  const std::string expected =
      "t.yaml:1:1: the configuration is empty; expected a mapping with at least backends, tenants and users "
      "(see config/examples/minimal.yaml)";
  CHECK(ErrorOf("") == expected);
  CHECK(ErrorOf("# nothing but a comment\n") == expected);
  CHECK(ErrorOf("---\n") == expected);
}

TEST_CASE("a YAML syntax error reports libyaml's position and what it was parsing", "[config_loader]") {
  CHECK(ErrorOf(Yaml({"listen:", "  port: [6432", "auth: {}"})) ==
        "t.yaml:3:5: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence that starts "
        "at 2:9)");
  CHECK(ErrorOf(Yaml({"listen: { port: 1", "a: *nowhere"})).find("t.yaml:2:") == 0);
}

TEST_CASE("the document must be one mapping", "[config_loader]") {
  CHECK(ErrorOf("- listen\n") == "t.yaml:1:1: expected a mapping, got a sequence");
  CHECK(ErrorOf("just text\n") == "t.yaml:1:1: expected a mapping, got \"just text\"");
  // The second document starts at its `---` (line 9: ValidBody() has 8 lines).
  CHECK(ErrorOf(ValidBody() + "---\nlisten: {}\n") == "t.yaml:9:1: expected one YAML document; a second one starts here");
}

TEST_CASE("backends, tenants and users are required", "[config_loader]") {
  CHECK(ErrorOf(Yaml({"listen: { port: 6432 }"})) ==
        "t.yaml:1:1: missing required key 'backends'\n"
        "t.yaml:1:1: missing required key 'tenants'\n"
        "t.yaml:1:1: missing required key 'users'");
  CHECK(ErrorOf(Yaml({"backends: {}", "tenants: {}", "users: {}"})) ==
        "t.yaml:1:11: backends: must define at least one backend\n"
        "t.yaml:2:10: tenants: must define at least one tenant\n"
        "t.yaml:3:8: users: must define at least one user");
}

TEST_CASE("an unknown key is an error, with a suggestion when one is close", "[config_loader]") {
  CHECK(ErrorOf(Yaml({"pol: { size: 1 }"}) + ValidBody()) == "t.yaml:1:1: unknown key 'pol' (did you mean 'pool'?)");
  CHECK(ErrorOf(Yaml({"listen:", "  prot: 6432"}) + ValidBody()) ==
        "t.yaml:2:3: listen: unknown key 'prot' (did you mean 'port'?)");
  CHECK(ErrorOf(Yaml({"listen:", "  backlog: 128"}) + ValidBody()) ==
        "t.yaml:2:3: listen: unknown key 'backlog'; expected one of address, port, reuse_port");
}

TEST_CASE("a key given twice is an error at the second one", "[config_loader]") {
  CHECK(ErrorOf(Yaml({"listen:", "  port: 1", "  port: 2"}) + ValidBody()) ==
        "t.yaml:3:3: listen: duplicate key 'port'");
}

TEST_CASE("in a mapping of many entries a name given twice is an error at each later one", "[config_loader]") {
  // Over 16 entries the loader finds repeated keys by hashing them, not by a scan (yaml_reader.cc).
  std::vector<std::string> lines = {"backends:", "  db: { host: 127.0.0.1, database: app, user: app_tenant }",
                                    "tenants:"};
  auto tenant = [](int n) {
    char id[37];
    std::snprintf(id, sizeof id, "%08x-0000-4000-8000-000000000000", n);
    return "  t" + std::to_string(n) + ": { id: " + id + ", backend: db }";
  };
  for (int n = 0; n < 40; ++n) lines.push_back(tenant(n));  // tenants t0..t39 on lines 4..43
  lines.push_back(tenant(7));   // line 44: t7 again
  lines.push_back(tenant(39));  // line 45: t39 again
  lines.push_back(tenant(7));   // line 46: and t7 a third time
  lines.insert(lines.end(), {"users:", "  alice:", "    password: \"" + std::string(kVerifier) + "\"",
                             "    tenants: { t7: admin }"});
  std::string yaml;
  for (const std::string& line : lines) yaml += line + "\n";
  CHECK(ErrorOf(yaml) ==
        "t.yaml:44:3: tenants: duplicate key 't7'\n"
        "t.yaml:45:3: tenants: duplicate key 't39'\n"
        "t.yaml:46:3: tenants: duplicate key 't7'");
}

TEST_CASE("wrong types name what was expected and what was found", "[config_loader]") {
  CHECK(ErrorOf(Yaml({"listen: [127.0.0.1]"}) + ValidBody()) ==
        "t.yaml:1:9: listen: expected a mapping, got a sequence");
  CHECK(ErrorOf(Yaml({"listen:", "  port: abc"}) + ValidBody()) ==
        "t.yaml:2:9: listen.port: expected an integer from 1 to 65535, got \"abc\"");
  CHECK(ErrorOf(Yaml({"listen:", "  address: { ip: 1 }"}) + ValidBody()) ==
        "t.yaml:2:12: listen.address: expected a string, got a mapping");
  CHECK(ErrorOf(Yaml({"listen:", "  address:"}) + ValidBody()) ==
        "t.yaml:2:3: listen.address: expected a string, got an empty value");
  CHECK(ErrorOf(Yaml({"tenant_identification: sni"}) + ValidBody()) ==
        "t.yaml:1:24: tenant_identification: expected a sequence such as [a, b], got \"sni\"");
}

TEST_CASE("ports are 1..65535 and counts are in range", "[config_loader]") {
  CHECK(ErrorOf(Yaml({"listen:", "  port: 0"}) + ValidBody()) ==
        "t.yaml:2:9: listen.port: expected an integer from 1 to 65535, got 0");
  CHECK(ErrorOf(Yaml({"listen:", "  port: 65536"}) + ValidBody()) ==
        "t.yaml:2:9: listen.port: expected an integer from 1 to 65535, got 65536");
  CHECK(ErrorOf(Yaml({"limits:", "  max_client_connections: 0"}) + ValidBody()) ==
        "t.yaml:2:27: limits.max_client_connections: expected an integer >= 1, got 0");
  CHECK(ErrorOf(Yaml({"limits:", "  max_client_connections: 99999999999"}) + ValidBody()) ==
        "t.yaml:2:27: limits.max_client_connections: expected an integer >= 1, got 99999999999");
  CHECK(ErrorOf(Yaml({"workers: 0"}) + ValidBody()) == "t.yaml:1:10: workers: expected an integer from 1 to 64, got 0");
  CHECK(ErrorOf(Yaml({"workers: 65"}) + ValidBody()) == "t.yaml:1:10: workers: expected an integer from 1 to 64, got 65");
  CHECK(LoadOk(Yaml({"workers: 3"}) + ValidBody())->workers == 3);
}

TEST_CASE("worker_placement is adaptive or spread, worker_busy_percent 1..100", "[config_loader]") {
  auto defaults = LoadOk(ValidBody());
  CHECK(defaults->worker_placement == WorkerPlacement::kAdaptive);
  CHECK(defaults->worker_busy_percent == 70);
  auto set = LoadOk(Yaml({"worker_placement: spread", "worker_busy_percent: 40"}) + ValidBody());
  CHECK(set->worker_placement == WorkerPlacement::kSpread);
  CHECK(set->worker_busy_percent == 40);
  CHECK(ErrorOf(Yaml({"worker_placement: packed"}) + ValidBody()) ==
        "t.yaml:1:19: worker_placement: expected one of adaptive, spread, got \"packed\"");
  CHECK(ErrorOf(Yaml({"worker_busy_percent: 0"}) + ValidBody()) ==
        "t.yaml:1:22: worker_busy_percent: expected an integer from 1 to 100, got 0");
}

TEST_CASE("durations and sizes are validated where they are written", "[config_loader]") {
  CHECK(ErrorOf(Yaml({"limits:", "  startup_timeout: 10x"}) + ValidBody()) ==
        "t.yaml:2:20: limits.startup_timeout: expected a duration such as 250ms, 5s, 2m, 1h or a number of "
        "seconds, got \"10x\"");
  CHECK(ErrorOf(Yaml({"limits:", "  startup_timeout: 0"}) + ValidBody()) ==
        "t.yaml:2:20: limits.startup_timeout: must be longer than 0");
  CHECK(ErrorOf(Yaml({"limits:", "  max_query_size: 0"}) + ValidBody()) ==
        "t.yaml:2:19: limits.max_query_size: expected a size from 1 to 1073741824 bytes, got 0");
  CHECK(ErrorOf(Yaml({"limits:", "  max_query_size: 2GB"}) + ValidBody()) ==
        "t.yaml:2:19: limits.max_query_size: expected a size from 1 to 1073741824 bytes, got 2GB");
  CHECK(ErrorOf(Yaml({"limits:", "  max_query_size: 1PB"}) + ValidBody()) ==
        "t.yaml:2:19: limits.max_query_size: unknown size unit in \"1PB\"; use B, kB, KiB, MB, MiB, GB or GiB");
}

TEST_CASE("enums list their choices", "[config_loader]") {
  CHECK(ErrorOf(Yaml({"auth: { method: password }"}) + ValidBody()) ==
        "t.yaml:1:17: auth.method: expected one of scram-sha-256, md5, trust, cert, jwt, got \"password\"");
  CHECK(ErrorOf(Yaml({"auth: {}"}) + ValidBody()) == "t.yaml:1:7: auth: missing required key 'method'");
  CHECK(ErrorOf(Yaml({"pool: { mode: statement }"}) + ValidBody()) ==
        "t.yaml:1:15: pool.mode: expected one of session, transaction, got \"statement\"");
}

TEST_CASE("tenant identification lists known methods once each", "[config_loader]") {
  CHECK(ErrorOf(Yaml({"tenant_identification: [sni, cookie]"}) + ValidBody()) ==
        "t.yaml:1:30: tenant_identification[1]: expected one of sni, username_suffix, startup_option, "
        "database_name, single_tenant, got \"cookie\"");
  CHECK(ErrorOf(Yaml({"tenant_identification:", "  - sni", "  - username_suffix", "  - sni"}) + ValidBody()) ==
        "t.yaml:4:5: tenant_identification[2]: 'sni' is listed twice");
  CHECK(ErrorOf(Yaml({"tenant_identification: []"}) + ValidBody()) ==
        "t.yaml:1:24: tenant_identification: must list at least one method");
}

TEST_CASE("the tenant setting must be a dotted custom setting name", "[config_loader]") {
  CHECK(ErrorOf(Yaml({"tenant_setting: search_path"}) + ValidBody()) ==
        "t.yaml:1:17: tenant_setting: expected a custom setting name such as app.current_organization_id "
        "(identifiers joined by '.'), got \"search_path\"");
  CHECK(ErrorOf(Yaml({"tenant_setting: \"app.x -c role=postgres\""}) + ValidBody()).find("t.yaml:1:17: ") == 0);
}

TEST_CASE("the username separator is non-empty without whitespace", "[config_loader]") {
  CHECK(ErrorOf(Yaml({"username_separator: \"\""}) + ValidBody()) ==
        "t.yaml:1:21: username_separator: must not be empty");
  CHECK(ErrorOf(Yaml({"username_separator: \" \""}) + ValidBody()) ==
        "t.yaml:1:21: username_separator: must not contain whitespace");
}

TEST_CASE("a backend needs host, database and user; the rest has defaults", "[config_loader]") {
  const std::string rest = ValidBody().substr(ValidBody().find("tenants:"));
  CHECK(ErrorOf(Yaml({"backends:", "  db:", "    host: h", "    user: u"}) + rest) ==
        "t.yaml:3:5: backends.db: missing required key 'database'");
  CHECK(ErrorOf(Yaml({"backends:", "  db: { host: h, database: d, user: u, sslmode: on }"}) + rest) ==
        "t.yaml:2:49: backends.db.sslmode: expected one of disable, allow, prefer, require, verify-ca, "
        "verify-full, got \"on\"");
  CHECK(ErrorOf(Yaml({"backends:", "  db: { host: h, database: d, user: u, max_connections: -1 }"}) + rest) ==
        "t.yaml:2:57: backends.db.max_connections: expected an integer >= 0, got -1");
  CHECK(ErrorOf(Yaml({"backends:", "  db: { host: \"\", database: d, user: u }"}) + rest) ==
        "t.yaml:2:15: backends.db.host: must not be empty");
  CHECK(ErrorOf(Yaml({"backends:", "  db: { host: h, database: " + std::string(64, 'd') + ", user: u }"}) + rest) ==
        "t.yaml:2:28: backends.db.database: is longer than 63 bytes; PostgreSQL would truncate it");
  CHECK(ErrorOf(Yaml({"backends:", "  \"db 1\": { host: h, database: d, user: u }"}) + rest) ==
        "t.yaml:2:3: backends: invalid backend name \"db 1\"; names use only letters, digits, '_' and '-'\n"
        "t.yaml:4:62: tenants.acme.backend: no backend named \"db\"");

  auto config = LoadOk(Yaml({"backends:",
                             "  db:",
                             "    host: db.internal",
                             "    port: 6543",
                             "    database: app",
                             "    user: app_tenant",
                             "    password: s3cret",
                             "    sslmode: verify-full",
                             "    max_connections: 50",
                             "    connect_timeout: 1500ms"}) +
                       rest);
  const BackendConfig& db = *config->FindBackend("db");
  CHECK(db.host == "db.internal");
  CHECK(db.port == 6543);
  CHECK(db.database == "app");
  CHECK(db.user == "app_tenant");
  CHECK(db.password == "s3cret");
  CHECK(db.sslmode == "verify-full");
  CHECK(db.max_connections == 50);
  CHECK(db.connect_timeout == milliseconds(1500));
}

TEST_CASE("${VAR} is expanded in any scalar value before it is interpreted", "[config_loader]") {
  const EnvLookup env = FakeEnv({{"PROXY_PORT", "7001"}, {"PG_PASSWORD", "pw$1"}, {"METHOD", "sni"}});
  auto result = Load(Yaml({"listen:", "  port: ${PROXY_PORT}", "tenant_identification: [\"${METHOD}\"]"}) +
                         Yaml({"backends:", "  db:", "    host: h", "    database: d", "    user: u",
                               "    password: ${PG_PASSWORD}", "    port: ${PG_PORT:-5999}"}) +
                         ValidBody().substr(ValidBody().find("tenants:")),
                     env);
  INFO(result.status().message());
  REQUIRE(result.ok());
  CHECK((*result)->listen.port == 7001);
  CHECK((*result)->tenant_identification == std::vector{IdentificationMethod::kSni});
  CHECK((*result)->backends.at("db").password == "pw$1");
  CHECK((*result)->backends.at("db").port == 5999);
}

TEST_CASE("an unset variable is an error naming it, at the value", "[config_loader]") {
  CHECK(ErrorOf(Yaml({"listen:", "  port: ${PROXY_PORT}"}) + ValidBody()) ==
        "t.yaml:2:9: listen.port: environment variable PROXY_PORT is not set (use ${PROXY_PORT:-default} to "
        "give a default)");
  CHECK(ErrorOf(Yaml({"listen:", "  port: ${PROXY_PORT}"}) + ValidBody(), FakeEnv({{"PROXY_PORT", "x"}})) ==
        "t.yaml:2:9: listen.port: expected an integer from 1 to 65535, got \"x\"");
}

TEST_CASE("$$ escapes a dollar and keys are never expanded", "[config_loader]") {
  auto config = LoadOk(Yaml({"backends:", "  db: { host: h, database: d, user: u, password: \"a$${B}\" }"}) +
                       ValidBody().substr(ValidBody().find("tenants:")));
  CHECK(config->backends.at("db").password == "a${B}");
  CHECK(ErrorOf(Yaml({"${X}: 1"}) + ValidBody()).find("t.yaml:1:1: unknown key '${X}'") == 0);
}

std::string TempPath(std::string_view name) {
  return (std::filesystem::temp_directory_path() / ("pgtenant_config_test_" + std::string(name))).string();
}

TEST_CASE("LoadConfigFile reads a file and names it in errors", "[config_loader]") {
  const std::string path = TempPath("ok.yaml");
  std::ofstream(path) << ValidBody();
  auto result = LoadConfigFile(path, FakeEnv({}));
  REQUIRE(result.ok());
  CHECK((*result)->source == path);

  std::ofstream(path) << "listen: { port: 0 }\n" << ValidBody();
  CHECK(LoadConfigFile(path, FakeEnv({})).status().message() ==
        path + ":1:17: listen.port: expected an integer from 1 to 65535, got 0");
  std::remove(path.c_str());
}

TEST_CASE("LoadConfigFile reports an unreadable file with its path and the system's reason", "[config_loader]") {
  const std::string missing = TempPath("does_not_exist.yaml");
  CHECK(LoadConfigFile(missing, FakeEnv({})).status().message() ==
        missing + ": cannot open configuration file: No such file or directory");
  const std::string directory = std::filesystem::temp_directory_path().string();
  CHECK(LoadConfigFile(directory, FakeEnv({})).status().message() ==
        directory + ": cannot read configuration file: Is a directory");
}

}  // namespace
}  // namespace pgtenant::config
