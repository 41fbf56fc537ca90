// pgtenant's own log (README, "Logs"): log.level and log.format, applied again on reload;
// PGTENANT_LOG_LEVEL over log.level; a blocked statement's line names its rule and the rule's reason,
// with tenant, user and rule as fields and no literal of the statement. And the command line around
// it: --check-config lists every error in one run, --version names the revision.
#include <catch2/catch.hpp>
#include <libpq-fe.h>
#include <nlohmann/json.hpp>
#include <signal.h>

#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/temp_dir.h"

namespace pgtenant::integration {
namespace {

constexpr char kMarker[] = "marker-5521";

// The lines of the proxy's log that contain `text`.
std::vector<std::string> LogLines(const ProxyProcess& proxy, const std::string& text) {
  std::istringstream log(proxy.Log());
  std::vector<std::string> lines;
  for (std::string line; std::getline(log, line);)
    if (line.find(text) != std::string::npos) lines.push_back(line);
  return lines;
}

// Runs a statement the policy blocks (rule server.files) with a marker literal in it; returns the
// reason the client was given.
std::string RunBlocked(PGconn* conn) {
  PgResult result = Exec(conn, std::string("SELECT pg_read_file('/etc/") + kMarker + "')");
  REQUIRE(PQresultStatus(result.get()) == PGRES_FATAL_ERROR);
  const std::string message = PQresultErrorField(result.get(), PG_DIAG_MESSAGE_PRIMARY);
  const std::string prefix = "pgtenant: blocked by rule server.files: ";
  REQUIRE(message.rfind(prefix, 0) == 0);
  return message.substr(prefix.size());
}

void Reload(ProxyProcess& proxy, const std::string& yaml, size_t reloads_so_far) {
  WriteFile(proxy.config_path(), yaml);
  proxy.Signal(SIGHUP);
  REQUIRE(proxy.AwaitLog("reloaded " + proxy.config_path(), reloads_so_far + 1));
}

TEST_CASE("a blocked statement's log line names rule and reason, with tenant, user and rule as fields; "
          "a reload changes format and level",
          "[lifecycle][log]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("log");
  ProxyConfig config = StandardConfig(db);
  ProxyProcess proxy(config);
  config.port = proxy.port();
  PgConn alice = MustConnectProxy(proxy, "alice", kAlicePassword, "app");

  // text (the default)
  const std::string reason = RunBlocked(alice.get());
  CHECK_FALSE(reason.empty());
  std::vector<std::string> text = LogLines(proxy, "blocked by rule");
  REQUIRE(text.size() == 1);
  INFO(text[0]);
  CHECK(std::regex_search(text[0], std::regex("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z level=info "
                                              "component=policy msg=\"blocked by rule server.files: ")));
  CHECK(text[0].find("msg=\"blocked by rule server.files: " + reason + "\"") != std::string::npos);
  CHECK(text[0].find(" tenant=acme user=alice rule=server.files fingerprint=") != std::string::npos);
  CHECK(text[0].find(kMarker) == std::string::npos);

  // json, after a reload
  config.extra_yaml = "log: { format: json }\n";
  Reload(proxy, config.ToYaml(), 0);
  CHECK(RunBlocked(alice.get()) == reason);
  std::vector<std::string> lines = LogLines(proxy, "blocked by rule");
  REQUIRE(lines.size() == 2);
  INFO(lines[1]);
  CHECK(lines[1].find(kMarker) == std::string::npos);
  const nlohmann::json json = nlohmann::json::parse(lines[1]);
  CHECK(json["level"] == "info");
  CHECK(json["component"] == "policy");
  CHECK(json["message"] == "blocked by rule server.files: " + reason);
  CHECK(json["tenant"] == "acme");
  CHECK(json["user"] == "alice");
  CHECK(json["rule"] == "server.files");
  CHECK(std::regex_match(json["fingerprint"].get<std::string>(), std::regex("[0-9a-f]{16}")));
  CHECK(std::regex_match(json["ts"].get<std::string>(),
                         std::regex("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z")));

  // level warning, after another reload: the blocked statement (info) is not logged. A refused reload
  // (error) after it is the event that shows the log has gone on.
  config.extra_yaml = "log: { level: warning, format: json }\n";
  Reload(proxy, config.ToYaml(), 1);
  CHECK(RunBlocked(alice.get()) == reason);
  WriteFile(proxy.config_path(), config.ToYaml() + "no_such_key: 1\n");
  proxy.Signal(SIGHUP);
  REQUIRE(proxy.AwaitLog("reload refused"));
  CHECK(LogLines(proxy, "blocked by rule").size() == 2);
  const std::vector<std::string> refused = LogLines(proxy, "reload refused");
  REQUIRE(refused.size() == 1);
  CHECK(nlohmann::json::parse(refused[0])["level"] == "error");
}

// Its precedence over log.level, at start and after a reload, is tested in tests/proxy/log_test.cc: the
// harness keeps PG* variables of the test process from its children.
TEST_CASE("a PGTENANT_LOG_LEVEL that is no level stops pgtenant at start", "[lifecycle][log]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("log");
  ProxyConfig config = StandardConfig(db);
  TempDir dir("pgtenant-log-");
  WriteFile(dir.File("pgtenant.yaml"), config.ToYaml());
  CommandResult bad = RunCommand({PGTENANT_BINARY, "--config", dir.File("pgtenant.yaml")},
                                 {{"PGTENANT_LOG_LEVEL", "verbose"}}, "", std::chrono::seconds(10));
  INFO(bad.output);
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output, Catch::Contains("PGTENANT_LOG_LEVEL must be debug, info, warning or error, got \"verbose\""));
}

TEST_CASE("--check-config lists every error it finds, one per line in file order, and exits 1", "[lifecycle][log]") {
  TempDir dir("pgtenant-config-");
  const std::string path = dir.File("bad.yaml");
  WriteFile(path,
            "listen: { port: 0 }\n"                                                     // 1
            "log: { level: loud }\n"                                                    // 2
            "backends:\n"                                                               // 3
            "  app: { host: 127.0.0.1, database: app, user: app, sslmode: sometimes }\n"  // 4
            "tenants:\n"                                                                // 5
            "  acme: { id: 7c9e6679-7425-40de-944b-e07fc1f90ae7, backend: ap }\n"       // 6
            "users:\n"                                                                  // 7
            "  alice: { password: secret, tenants: { acme: admin } }\n");              // 8
  CommandResult result = RunCommand({PGTENANT_BINARY, "--check-config", path});
  INFO(result.output);
  CHECK(result.exit_code == 1);
  std::istringstream output(result.output);
  std::vector<std::string> lines;
  for (std::string line; std::getline(output, line);) lines.push_back(line);
  REQUIRE(lines.size() == 5);
  CHECK(lines[0].rfind(path + ":1:17: listen.port: ", 0) == 0);
  CHECK(lines[1].rfind(path + ":2:15: log.level: expected one of debug, info, warning, error", 0) == 0);
  CHECK(lines[2].rfind(path + ":4:62: backends.app.sslmode: ", 0) == 0);
  CHECK(lines[3].rfind(path + ":6:62: tenants.acme.backend: no backend named \"ap\"", 0) == 0);
  CHECK(lines[4].rfind(path + ":8:22: users.alice.password: ", 0) == 0);
}

TEST_CASE("--version prints the version and the git revision; an unknown flag or word is named", "[lifecycle][log]") {
  CommandResult version = RunCommand({PGTENANT_BINARY, "--version"});
  INFO(version.output);
  CHECK(version.exit_code == 0);
  std::smatch match;
  REQUIRE(std::regex_match(version.output, match,
                           std::regex("pgtenant \\d+\\.\\d+\\.\\d+ \\(revision ([0-9a-z.-]+)\\)\n")));
  // Built from a git checkout (this suite always is): a commit, not "unknown".
  const CommandResult git = RunCommand({"git", "-C", PGTENANT_SOURCE_DIR, "rev-parse", "--short", "HEAD"});
  if (git.exit_code == 0) CHECK(std::regex_search(match[1].str(), std::regex("[0-9a-f]{7,}")));

  CommandResult flag = RunCommand({PGTENANT_BINARY, "--check-config", "x.yaml", "--verbose"});
  INFO(flag.output);
  CHECK(flag.exit_code == 2);
  CHECK_THAT(flag.output, Catch::Contains("--verbose"));
  CommandResult word = RunCommand({PGTENANT_BINARY, "doctr", "--config", "x.yaml"});
  INFO(word.output);
  CHECK(word.exit_code == 2);
  CHECK_THAT(word.output, Catch::Contains("doctr"));
}

}  // namespace
}  // namespace pgtenant::integration
