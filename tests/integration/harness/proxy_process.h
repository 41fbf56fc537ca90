// pgtenant as a child process of a test: its config, its log, its port, and clients connected to it.
//
// A ProxyProcess writes its YAML to a temporary file, starts PGTENANT_BINARY --config FILE with stdout
// and stderr going to a log file, and returns once the listen port accepts TCP (10 s at most; on failure
// the exception carries the log). The destructor sends SIGTERM, waits up to 5 s, then SIGKILL, and
// removes the files; if the running test case failed, it prints the
// proxy's log first. Construct and destroy on the main test thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/temp_dir.h"

namespace pgtenant::integration {

// Passwords of the users every standard config defines.
inline constexpr char kAlicePassword[] = "alice-secret";
inline constexpr char kBobPassword[] = "bob-secret";
inline constexpr char kAcmeId[] = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

struct BackendConfig {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string database;
  std::string user;
  std::string password;
  // Generous: under a parallel test run a first connection to a new database can take seconds. Tests of
  // the timeout itself set their own.
  std::string connect_timeout = "10s";
  // When set, written as `hosts: <this>` instead of host/port, e.g. "[{host: 127.0.0.1, port: 5433}, ...]".
  std::string hosts;
  // Appended inside the backend's mapping as is, e.g. "shared_pool: true, max_connections: 2".
  std::string extra;
};

struct TenantSpec {
  std::string id;                   // uuid
  std::string isolation = "rls";    // rls | schema | database
  std::string backend = "app";
  std::string schema;               // schema isolation only
  // Appended inside the tenant's mapping as is, e.g. "max_clients: 2, pool: { mode: transaction }".
  std::string extra;
};

// The keys of the proxy's YAML that the integration tests use, with the suite's defaults.
struct ProxyConfig {
  int port = 0;  // 0: a free port is chosen when the proxy starts
  std::string auth_method = "scram-sha-256";
  int max_client_connections = 1000;
  std::string max_query_size;  // empty: not written (the proxy's default)
  // Appended inside the limits mapping as is, e.g. "idle_transaction_timeout: 1s".
  std::string limits_extra;
  std::string startup_timeout = "10s";
  std::string client_idle_timeout;  // empty: not written (off)
  std::string pool_mode = "session";
  int pool_size = 10;
  std::string pool_wait_timeout = "5s";
  size_t stack_limit = 0;  // not YAML: the process's stack limit (ulimit -s), in bytes; 0: inherited
  std::map<std::string, BackendConfig> backends;
  // tenant_identification, e.g. "[username_suffix, single_tenant]"; empty: the proxy's default.
  std::string tenant_identification;
  std::map<std::string, TenantSpec> tenants;
  std::map<std::string, std::string> users;  // name -> plaintext password (hashed into a SCRAM verifier)
  std::map<std::string, std::string> user_secrets;  // name -> users.NAME.password verbatim (a verifier)
  // users.NAME.tenants: user -> (tenant -> admin|member|viewer).
  std::map<std::string, std::map<std::string, std::string>> memberships;
  // admin.users: who may open the admin console (database "pgtenant"). Each must be in `users`
  // (or `user_secrets`); one without `memberships` is an admin-only user.
  std::vector<std::string> admins;
  // Appended verbatim at the end of the YAML (e.g. a `policy:` or `audit:` section).
  std::string extra_yaml;

  std::string ToYaml() const;
};

// The suite's standard config. Backend `app` → `db` on its server (db.port; 0: the shared PostgreSQL);
// one tenant, `acme` (isolation: database, backend app, id kAcmeId); users alice (acme admin) and bob
// (acme member).
// tenant_identification is [username_suffix, single_tenant], so `user=alice dbname=app` lands in acme
// like `user=alice.acme` does: the wire-protocol tests need no tenant in their connection strings.
// (The config requires every user to belong to a tenant.)
ProxyConfig StandardConfig(const TestDatabase& db);

// `pgtenant --hash-password`'s library twin: a SCRAM-SHA-256 verifier for the config's users.
std::string ScramVerifier(const std::string& password);

class ProxyProcess {
 public:
  // `args` follow "--config FILE" on the command line (e.g. {"--instance-id", "1"}).
  explicit ProxyProcess(ProxyConfig config, std::vector<std::string> args = {});
  // Raw YAML, for configs the builder cannot express; `port` is the one it listens on.
  ProxyProcess(const std::string& yaml, int port, std::vector<std::string> args = {});
  ~ProxyProcess();
  ProxyProcess(const ProxyProcess&) = delete;
  ProxyProcess& operator=(const ProxyProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& config_path() const { return config_path_; }
  std::string Log() const;
  // Polls the log until `text` occurs in it `count` times; true if it did within `timeout`. The event a
  // test waits for when pgtenant says it in its log (a reload, a move, a refused cancel, ...).
  bool AwaitLog(const std::string& text, size_t count = 1,
                std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

  void Signal(int sig) const;
  // Waits for the process to exit; its raw wait status, or nullopt if it is still running.
  std::optional<int> WaitForExit(std::chrono::milliseconds timeout);

  // conninfo for a client of this proxy; `extra` is appended as is ("application_name=x ...").
  std::string ConnString(const std::string& user, const std::string& password, const std::string& database,
                         const std::string& extra = "") const;

 private:
  void Launch(const std::string& yaml, const std::vector<std::string>& args);
  size_t stack_limit_ = 0;

  TempDir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::string config_path_;
  std::string log_path_;
};

// A libpq connection through the proxy (sslmode=disable unless `extra` says otherwise). Never null;
// check PQstatus().
PgConn ConnectProxy(const ProxyProcess& proxy, const std::string& user, const std::string& password,
                    const std::string& database, const std::string& extra = "");

// The same, but a connection that must succeed: throws std::runtime_error with libpq's message and the
// proxy log otherwise.
PgConn MustConnectProxy(const ProxyProcess& proxy, const std::string& user, const std::string& password,
                        const std::string& database, const std::string& extra = "");

}  // namespace pgtenant::integration
