// The metrics reference: README.md's "Metrics and alerts" table and the endpoint list the same
// metrics, name by name; build_info and the process collector say what they should.
#include <catch2/catch.hpp>
#include <libpq-fe.h>
#include <signal.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "tests/integration/harness/metrics_scrape.h"
#include "tests/integration/harness/net.h"
#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

// The metric names of README.md's "Metrics and alerts" table (its first column).
std::set<std::string> DocumentedMetrics() {
  std::ifstream in(std::string(PGTENANT_SOURCE_DIR) + "/README.md");
  std::stringstream text;
  text << in.rdbuf();
  const std::string readme = text.str();
  const size_t start = readme.find("\n## Metrics and alerts\n");
  REQUIRE(start != std::string::npos);
  const size_t end = readme.find("\n## ", start + 1);
  const std::string section = readme.substr(start, end - start);
  std::set<std::string> names;
  static const std::regex kRow(R"(\n\| `([a-z0-9_]+)` \|)");
  for (auto it = std::sregex_iterator(section.begin(), section.end(), kRow); it != std::sregex_iterator(); ++it)
    names.insert((*it)[1]);
  return names;
}

// The metric families a scrape serves (its `# TYPE name type` lines).
std::set<std::string> ServedMetrics(const std::string& scrape) {
  std::set<std::string> names;
  std::istringstream lines(scrape);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    names.insert(line.substr(7, line.find(' ', 7) - 7));
  }
  return names;
}

std::string Join(const std::set<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += n + " ";
  return out;
}

TEST_CASE("the README's metric table and the endpoint list the same metrics", "[metrics]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("metricsref");
  ProxyConfig config = StandardConfig(db);
  const int metrics_port = FreePort();
  const std::string audit_path = "/tmp/pgtenant-metricsref-audit-" + std::to_string(::getpid()) + ".log";
  config.extra_yaml += "metrics: { address: 127.0.0.1, port: " + std::to_string(metrics_port) + " }\n";
  config.extra_yaml += "audit: { sinks: [ { type: file, path: " + audit_path + " } ] }\n";
  ProxyProcess proxy(config);

  // Series that appear with their first event: a statement, a blocked one, a refusal, a cancel, a reload.
  PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  MustExec(conn.get(), "SELECT 1");
  REQUIRE(Sqlstate(Exec(conn.get(), "SELECT pg_read_file('/etc/hostname')").get()) == "42501");
  PgConn refused = ConnectProxy(proxy, "alice.nosuch", kAlicePassword, "app");
  REQUIRE(PQstatus(refused.get()) == CONNECTION_BAD);
  REQUIRE(SendCancel(conn.get()).empty());
  proxy.Signal(SIGHUP);
  REQUIRE(proxy.AwaitLog("reload"));

  const std::set<std::string> documented = DocumentedMetrics();
  REQUIRE(documented.size() > 30);
  std::string scrape = AwaitScrape(metrics_port, [&](const std::string& s) {
    return ServedMetrics(s) == documented &&
           MetricSample(s, "pgtenant_config_reloads_total{result=\"success\"}") == 1;
  });
  const std::set<std::string> served = ServedMetrics(scrape);
  std::set<std::string> undocumented, missing;
  for (const std::string& n : served)
    if (!documented.count(n)) undocumented.insert(n);
  for (const std::string& n : documented)
    if (!served.count(n)) missing.insert(n);
  INFO("served but not in README.md: " << Join(undocumented));
  INFO("in README.md but not served: " << Join(missing));
  CHECK(undocumented.empty());
  CHECK(missing.empty());
  ::unlink(audit_path.c_str());
}

TEST_CASE("build_info carries the revision and the instance id; the process collector reads /proc", "[metrics]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("metricsproc");
  ProxyConfig config = StandardConfig(db);
  const int metrics_port = FreePort();
  config.extra_yaml += "metrics: { address: 127.0.0.1, port: " + std::to_string(metrics_port) + " }\n";
  const auto started = std::chrono::system_clock::now();
  ProxyProcess proxy(config, {"--instance-id", "7"});

  // The worker series come with the first refresh of the gauges (once a second).
  const std::string scrape = AwaitScrape(metrics_port, [](const std::string& s) {
    return MetricSample(s, "process_open_fds") > 0 && MetricSample(s, "pgtenant_worker_cpu_seconds_total{worker=\"0\"}") >= 0;
  });
  INFO(scrape);
  static const std::regex kBuildInfo(R"re(pgtenant_build_info\{instance_id="7",revision="([0-9a-f]{7,}(-dirty)?|unknown)",version="[0-9.]+"\} 1)re");
  CHECK(std::regex_search(scrape, kBuildInfo));
  const double start_time = MetricSample(scrape, "process_start_time_seconds");
  const double launched = std::chrono::duration<double>(started.time_since_epoch()).count();
  CHECK(start_time > launched - 2);  // ticks after boot: a clock tick (10 ms) of rounding, and some margin
  CHECK(start_time < launched + 30);
  CHECK(MetricSample(scrape, "process_resident_memory_bytes") > 1e6);
  CHECK(MetricSample(scrape, "process_virtual_memory_bytes") >= MetricSample(scrape, "process_resident_memory_bytes"));
  CHECK(MetricSample(scrape, "process_open_fds") >= 3);
  CHECK(MetricSample(scrape, "process_max_fds") >= MetricSample(scrape, "process_open_fds"));
  CHECK(MetricSample(scrape, "process_cpu_seconds_total") >= 0);
  CHECK(MetricSample(scrape, "pgtenant_worker_cpu_seconds_total{worker=\"0\"}") >= 0);
}

}  // namespace
}  // namespace pgtenant::integration
