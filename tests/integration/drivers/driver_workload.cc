// The driver and ORM suite's common run: a workload program against a TenantWorld behind pgtenant.
#include "tests/integration/drivers/driver_workload.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <regex>
#include <stdexcept>

#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/tenant_world.h"

namespace pgtenant::integration {
namespace {

// Server connections per tenant: fewer than the clients of every workload below.
constexpr int kServerConnectionsPerTenant = 2;
// Per application (two per tenant): workers, and transactions per worker. Small enough that a run takes
// seconds, large enough that every client connection serves several workers and runs at least 12
// transactions (24 per application over at most 2 connections): past pgjdbc's prepareThreshold and
// psycopg's prepare_threshold (5), and past psycopg_workload's rollback of every 8th; and that every server
// connection serves several clients.
constexpr int kWorkersPerApp = 3;
constexpr int kTransactionsPerWorker = 8;
// A run is seconds; a hang must not wait for the harness's 120 s deadline to be seen.
constexpr auto kProgramTimeout = std::chrono::seconds(90);

constexpr char kJava[] = "/usr/bin/java";
constexpr char kPgjdbcJar[] = "/usr/share/java/postgresql.jar";
// Debian's interpreters, whose packages scripts/deps installs (a PATH python3 may be another one).
constexpr char kPython[] = "/usr/bin/python3";
constexpr char kNode[] = "/usr/bin/node";
// No __pycache__ in the source tree; no packages of the user's own site directory.
const std::map<std::string, std::string> kPythonEnv = {{"PYTHONDONTWRITEBYTECODE", "1"}, {"PYTHONNOUSERSITE", "1"}};

// One application of the workload: its tenant's login, and the TimeZone and application_name it asks
// for (TimeZone "": it asks for none and must get the database's).
struct App {
  std::string tenant;
  std::string login;
  std::string timezone;
  std::string application_name;
};

struct Program {
  std::string label;  // first word of the rows it writes and of its application names
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;
  // How the library sets a client's TimeZone: "startup" (a startup parameter per client), "utc" (the
  // library sets UTC itself: Django with USE_TZ), "none" (it offers no way short of SQL: the database's).
  std::string timezone_source = "startup";
};

Program ProgramFor(Driver driver) {
  switch (driver) {
    case Driver::kPgjdbc:
      // C1 only and the serial collector: a JVM that lives seconds starts faster so.
      return {"pgjdbc",
              {kJava, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp",
               std::string(kPgjdbcJar) + ":" + CompiledPgjdbcWorkload(), "PgjdbcWorkload"},
              {},
              "startup"};
    case Driver::kAsyncpg:
      return {"asyncpg", {kPython, DriverProgramPath("asyncpg_workload.py")}, kPythonEnv, "startup"};
    case Driver::kPsycopg:
      return {"psycopg", {kPython, DriverProgramPath("psycopg_workload.py")}, kPythonEnv, "startup"};
    case Driver::kDjango:
      return {"django", {kPython, DriverProgramPath("django_workload.py")}, kPythonEnv, "utc"};
    case Driver::kSqlalchemy:
      return {"sqlalchemy", {kPython, DriverProgramPath("sqlalchemy_workload.py")}, kPythonEnv, "startup"};
    case Driver::kNodePostgres:
      return {"node-postgres",
              {kNode, DriverProgramPath("node_postgres_workload.js")},
              {{"NODE_PATH", NodeDriverModules()}},
              "none"};
    case Driver::kPostgresJs:
      return {"postgresjs",
              {kNode, DriverProgramPath("postgresjs_workload.js")},
              {{"NODE_PATH", NodeDriverModules()}},
              "startup"};
  }
  throw std::logic_error("unknown driver");
}

// Two applications per tenant, each with a TimeZone and an application_name of its own.
std::vector<App> AppsFor(const Program& program) {
  std::vector<App> apps = {{"acme", "bob.acme", "Asia/Tokyo", ""},
                           {"acme", "alice.acme", "Europe/Lisbon", ""},
                           {"umbrella", "uma.umbrella", "America/New_York", ""},
                           {"umbrella", "uma.umbrella", "Australia/Sydney", ""}};
  for (size_t i = 0; i < apps.size(); ++i) {
    App& app = apps[i];
    app.application_name = program.label + "-" + app.tenant + "-" + std::to_string(i);
    if (program.timezone_source == "utc") app.timezone = "UTC";
    if (program.timezone_source == "none") app.timezone = "";
  }
  return apps;
}

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

long CountOf(const std::string& output, const std::string& key) {
  std::smatch match;
  const std::regex pattern("(^|\\n)RESULT .*\\b" + key + "=(\\d+)");
  if (!std::regex_search(output, match, pattern)) return -1;
  return std::stol(match[2]);
}

}  // namespace

std::string DriverProgramPath(const std::string& file) {
  return std::string(PGTENANT_SOURCE_DIR) + "/tests/integration/drivers/" + file;
}

std::string CompiledPgjdbcWorkload() {
  const std::string dir = std::string(PGTENANT_DRIVER_BUILD_DIR) + "/pgjdbc";
  CommandResult compiled =
      RunCommand({"/bin/bash", DriverProgramPath("compile_pgjdbc_workload"), dir}, {}, "", std::chrono::seconds(120));
  if (compiled.exit_code != 0) {
    throw std::runtime_error("compiling PgjdbcWorkload.java into " + dir + " failed:\n" + compiled.output);
  }
  return dir;
}

std::string NodeDriverModules() {
  const std::string cache = EnvOr(
      "PGTENANT_NODE_DRIVERS",
      EnvOr("XDG_CACHE_HOME", EnvOr("HOME", "/tmp") + "/.cache") + "/pgtenant/node-drivers");
  CommandResult installed =
      RunCommand({"/bin/bash", DriverProgramPath("install_node_drivers"), cache}, {}, "", std::chrono::seconds(170));
  if (installed.exit_code != 0) {
    throw std::runtime_error("installing the npm packages of the driver suite into " + cache +
                             " failed:\n" + installed.output);
  }
  return cache + "/node_modules";
}

WorkloadReport ParseWorkloadReport(const std::string& output) {
  WorkloadReport report;
  report.transactions = CountOf(output, "transactions");
  report.rows_written = CountOf(output, "rows_written");
  report.foreign_rows = CountOf(output, "foreign_rows");
  report.wrong_tenant = CountOf(output, "wrong_tenant");
  report.wrong_timezone = CountOf(output, "wrong_timezone");
  report.wrong_application_name = CountOf(output, "wrong_application_name");
  report.failures = CountOf(output, "failures");
  return report;
}

void CheckDriverWorkload(Driver driver, const std::string& pool_mode, bool shared_pool) {
  const Program program = ProgramFor(driver);
  TenantWorld world = TenantWorld::Create();
  // Before pgtenant starts: its server sessions take the database's default.
  PostgresServer::Shared().Exec("ALTER DATABASE " + world.shared.database + " SET timezone = '" +
                                kDriverDatabaseTimezone + "'");
  // A timestamp for the ORMs' time-zone-aware fields.
  world.ExecShared("ALTER TABLE public.projects ADD COLUMN created_at timestamptz NOT NULL DEFAULT now()");

  ProxyConfig config = world.Config();
  config.pool_mode = pool_mode;
  config.pool_size = kServerConnectionsPerTenant;
  if (shared_pool) config.backends["app"].extra = "shared_pool: true";
  // Clients beyond the pool's size wait their turn: the wait is part of the workload, not a failure.
  config.pool_wait_timeout = "60s";
  ProxyProcess proxy(config);

  // In session pooling a client connection holds a server connection for its life: one per application
  // (two per tenant, the pool's size), shared by its workers. In transaction pooling, two per application.
  const int connections_per_app = pool_mode == "transaction" ? 2 : 1;
  std::vector<std::string> argv = program.argv;
  argv.insert(argv.end(), {"host=127.0.0.1", "port=" + std::to_string(proxy.port()), "driver=" + program.label,
                           "connections=" + std::to_string(connections_per_app),
                           "workers=" + std::to_string(kWorkersPerApp),
                           "transactions=" + std::to_string(kTransactionsPerWorker),
                           "default_timezone=" + std::string(kDriverDatabaseTimezone)});
  const std::vector<App> apps = AppsFor(program);
  for (const App& app : apps) {
    const std::string user = app.login.substr(0, app.login.find('.'));
    argv.push_back("app=" + app.tenant + "," + app.login + "," + TenantWorld::PasswordOf(user) + "," +
                   TenantWorld::IdOf(app.tenant) + "," + app.timezone + "," + app.application_name);
  }

  const auto started = std::chrono::steady_clock::now();
  const CommandResult ran = RunCommand(argv, program.env, "", kProgramTimeout);
  const auto seconds =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count() / 1000.0;
  const WorkloadReport report = ParseWorkloadReport(ran.output);
  INFO(program.label << " in " << pool_mode << " pooling" << (shared_pool ? " on a shared pool" : "") << " ran "
                     << seconds << " s and printed:\n"
                     << ran.output);
  CHECK_FALSE(ran.timed_out);
  CHECK(ran.exit_code == 0);
  CHECK(report.failures == 0);
  CHECK(report.foreign_rows == 0);
  CHECK(report.wrong_tenant == 0);
  CHECK(report.wrong_timezone == 0);
  CHECK(report.wrong_application_name == 0);
  const long expected_transactions = static_cast<long>(apps.size()) * kWorkersPerApp * kTransactionsPerWorker;
  CHECK(report.transactions == expected_transactions);
  REQUIRE(report.rows_written > 0);

  // What the database holds: every row the program wrote, each in the organization of its writer's
  // tenant (the name says which), nothing else.
  const std::string mine = "name LIKE '" + program.label + " %'";
  CHECK(world.ExecShared("SELECT count(*) FROM public.projects WHERE " + mine).at(0).at(0) ==
        std::to_string(report.rows_written));
  CHECK(world.ExecShared("SELECT count(*) FROM public.projects WHERE " + mine +
                         " AND org_id <> (CASE split_part(name, ' ', 2) WHEN 'acme' THEN '" + kAcmeId +
                         "' WHEN 'umbrella' THEN '" + kTenantWorldUmbrellaId + "' END)::uuid")
            .at(0)
            .at(0) == "0");
  for (const std::string tenant : {"acme", "umbrella"}) {
    INFO(tenant);
    CHECK(world.ExecShared("SELECT count(*) > 0 FROM public.projects WHERE name LIKE '" + program.label + " " +
                           tenant + " %'")
              .at(0)
              .at(0) == "t");
  }
}

}  // namespace pgtenant::integration
