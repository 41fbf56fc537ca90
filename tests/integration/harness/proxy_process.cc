// pgtenant as a child process of a test: its config, its log, its port, and clients connected to it.
#include "tests/integration/harness/proxy_process.h"

#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "protocol/scram.h"
#include "tests/integration/harness/net.h"
#include "tests/integration/harness/poll.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/test_watch.h"

namespace pgtenant::integration {
namespace {

constexpr auto kListenTimeout = std::chrono::seconds(10);
constexpr auto kStopGrace = std::chrono::seconds(5);

std::string Quoted(const std::string& value) {
  std::string out = "\"";
  for (const char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

// One verifier per password for the life of the test process: a config written again for a reload
// then names the same users (a fresh salt would make every user a changed one).
std::string ScramVerifier(const std::string& password) {
  static std::mutex mu;
  static std::map<std::string, std::string> made;
  std::lock_guard<std::mutex> lock(mu);
  auto [it, fresh] = made.try_emplace(password);
  if (fresh) it->second = pgtenant::protocol::MakeScramVerifier(password).ToString();
  return it->second;
}

std::string ProxyConfig::ToYaml() const {
  std::ostringstream yaml;
  yaml << "listen: { address: 127.0.0.1, port: " << port << " }\n"
       << "auth: { method: " << auth_method << " }\n"
       << "limits: { max_client_connections: " << max_client_connections
       << (max_query_size.empty() ? "" : ", max_query_size: " + max_query_size) << ", startup_timeout: " << startup_timeout
       << (client_idle_timeout.empty() ? "" : ", client_idle_timeout: " + client_idle_timeout)
       << (limits_extra.empty() ? "" : ", " + limits_extra) << " }\n"
       << "pool: { mode: " << pool_mode << ", size: " << pool_size << ", wait_timeout: " << pool_wait_timeout
       << " }\n";
  if (!tenant_identification.empty()) yaml << "tenant_identification: " << tenant_identification << "\n";
  yaml << "backends:\n";
  for (const auto& [name, backend] : backends) {
    yaml << "  " << name << ": { ";
    if (backend.hosts.empty()) {
      yaml << "host: " << backend.host << ", port: " << backend.port;
    } else {
      yaml << "hosts: " << backend.hosts;
    }
    yaml << ", database: " << Quoted(backend.database) << ", user: " << Quoted(backend.user)
         << ", password: " << Quoted(backend.password) << ", connect_timeout: " << backend.connect_timeout;
    if (!backend.extra.empty()) yaml << ", " << backend.extra;
    yaml << " }\n";
  }
  yaml << "tenants:\n";
  for (const auto& [name, tenant] : tenants) {
    yaml << "  " << name << ": { id: " << tenant.id << ", isolation: " << tenant.isolation
         << ", backend: " << tenant.backend;
    if (!tenant.schema.empty()) yaml << ", schema: " << Quoted(tenant.schema);
    if (!tenant.extra.empty()) yaml << ", " << tenant.extra;
    yaml << " }\n";
  }
  auto user_entry = [&](const std::string& name, const std::string& secret) {
    yaml << "  " << name << ": { password: " << Quoted(secret);
    auto membership = memberships.find(name);
    if (membership != memberships.end()) {
      yaml << ", tenants: {";
      const char* separator = " ";
      for (const auto& [tenant, role] : membership->second) {
        yaml << separator << tenant << ": " << role;
        separator = ", ";
      }
      yaml << " }";
    }
    yaml << " }\n";
  };
  yaml << "users:\n";
  for (const auto& [name, password] : users) user_entry(name, ScramVerifier(password));
  for (const auto& [name, secret] : user_secrets) user_entry(name, secret);
  if (!admins.empty()) {
    yaml << "admin: { users: [";
    for (size_t i = 0; i < admins.size(); ++i) yaml << (i ? ", " : "") << admins[i];
    yaml << "] }\n";
  }
  yaml << extra_yaml;
  return yaml.str();
}

ProxyConfig StandardConfig(const TestDatabase& db) {
  ProxyConfig config;
  BackendConfig backend;
  backend.port = db.port != 0 ? db.port : PostgresServer::Shared().port();
  backend.database = db.database;
  backend.user = db.role;
  backend.password = db.password;
  config.backends["app"] = backend;
  config.tenant_identification = "[username_suffix, single_tenant]";
  config.tenants["acme"] = TenantSpec{kAcmeId, "database", "app", ""};
  config.users["alice"] = kAlicePassword;
  config.memberships["alice"]["acme"] = "admin";
  config.memberships["bob"]["acme"] = "member";
  config.users["bob"] = kBobPassword;
  // The wire-protocol tests create, fill and truncate their own tables through the proxy (pgbench -i
  // among them). The tenant has a database of its own, so DDL and TRUNCATE reach no other tenant.
  config.extra_yaml = "policy: { rules: { ddl.schema_change: off, rls.bypass: off } }\n";
  return config;
}

ProxyProcess::ProxyProcess(ProxyConfig config, std::vector<std::string> args) : dir_("pgtenant-proxy-") {
  if (config.port == 0) config.port = FreePort();
  port_ = config.port;
  stack_limit_ = config.stack_limit;
  Launch(config.ToYaml(), args);
}

ProxyProcess::ProxyProcess(const std::string& yaml, int port, std::vector<std::string> args)
    : dir_("pgtenant-proxy-"), port_(port) {
  Launch(yaml, args);
}

void ProxyProcess::Launch(const std::string& yaml, const std::vector<std::string>& args) {
  config_path_ = dir_.File("pgtenant.yaml");
  log_path_ = dir_.File("pgtenant.log");
  WriteFile(config_path_, yaml);
  SpawnOptions options;
  options.argv = {PGTENANT_BINARY, "--config", config_path_};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.output_path = log_path_;
  options.stack_limit = stack_limit_;
  pid_ = Spawn(options);

  const auto deadline = std::chrono::steady_clock::now() + kListenTimeout;
  for (;;) {
    if (auto status = integration::WaitForExit(pid_, std::chrono::milliseconds(0))) {
      pid_ = -1;
      throw std::runtime_error("pgtenant exited before listening (wait status " + std::to_string(*status) +
                               "); config:\n" + yaml + "log:\n" + Log());
    }
    if (CanConnect(port_)) return;
    if (std::chrono::steady_clock::now() > deadline) {
      Terminate(pid_, SIGKILL, std::chrono::seconds(1));
      pid_ = -1;
      throw std::runtime_error("pgtenant did not listen on port " + std::to_string(port_) + " within 10 s; log:\n" +
                               Log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

ProxyProcess::~ProxyProcess() {
  if (pid_ > 0) Terminate(pid_, SIGTERM, kStopGrace);
  if (CurrentTestCaseFailed()) {
    std::fprintf(stderr, "----- pgtenant log (port %d) -----\n%s----- end of pgtenant log -----\n", port_,
                 Log().c_str());
  }
}

std::string ProxyProcess::Log() const { return ReadFile(log_path_); }

bool ProxyProcess::AwaitLog(const std::string& text, size_t count, std::chrono::milliseconds timeout) const {
  return PollUntil([&] { return CountOf(Log(), text) >= count; }, timeout, std::chrono::milliseconds(50));
}

void ProxyProcess::Signal(int sig) const {
  if (pid_ > 0) kill(pid_, sig);
}

std::optional<int> ProxyProcess::WaitForExit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) throw std::logic_error("pgtenant is not running");
  auto status = integration::WaitForExit(pid_, timeout);
  if (status) pid_ = -1;
  return status;
}

std::string ProxyProcess::ConnString(const std::string& user, const std::string& password,
                                     const std::string& database, const std::string& extra) const {
  std::string conninfo = "host=127.0.0.1 port=" + std::to_string(port_) + " user=" + ConninfoValue(user) +
                         " password=" + ConninfoValue(password) + " dbname=" + ConninfoValue(database) +
                         " gssencmode=disable connect_timeout=10";
  if (extra.find("sslmode") == std::string::npos) conninfo += " sslmode=disable";
  if (!extra.empty()) conninfo += " " + extra;
  return conninfo;
}

PgConn ConnectProxy(const ProxyProcess& proxy, const std::string& user, const std::string& password,
                    const std::string& database, const std::string& extra) {
  return Connect(proxy.ConnString(user, password, database, extra));
}

PgConn MustConnectProxy(const ProxyProcess& proxy, const std::string& user, const std::string& password,
                        const std::string& database, const std::string& extra) {
  PgConn conn = ConnectProxy(proxy, user, password, database, extra);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error("connection through pgtenant failed: " + std::string(PQerrorMessage(conn.get())) +
                             "pgtenant log:\n" + proxy.Log());
  }
  return conn;
}

}  // namespace pgtenant::integration
