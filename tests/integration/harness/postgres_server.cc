// The PostgreSQL 15 every integration test talks to: initdb once per run, postgres as a child process
// of the process that started it; other test processes attach to it through its description file.
#include "tests/integration/harness/postgres_server.h"

#include <openssl/rand.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <stdexcept>
#include <thread>

#include "tests/integration/harness/free_port.h"
#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/process.h"

namespace pgtenant::integration {
namespace {

constexpr auto kStartTimeout = std::chrono::seconds(60);
constexpr auto kStopTimeout = std::chrono::seconds(30);
constexpr char kFallbackBindir[] = "/usr/lib/postgresql/15/bin";
constexpr char kDescriptionVariable[] = "PGTENANT_IT_POSTGRES";
// Attempts at a first start when the chosen port turns out to be taken after all (not by another test
// process: free_port.h leases ports; by anything else that binds one in the range meanwhile).
constexpr int kPortAttempts = 5;

// What the signal handler needs, prepared in advance (it may only make async-signal-safe calls).
std::atomic<pid_t> g_postgres_pid{-1};
char g_rm_path[] = "/bin/rm";
char g_rm_flags[] = "-rf";
char g_dir_to_remove[256] = {0};

void StopOnSignal(int sig) {
  const pid_t pid = g_postgres_pid.load();
  if (pid > 0) {
    kill(pid, SIGQUIT);  // immediate shutdown, what `pg_ctl stop -m immediate` sends
    int status = 0;
    waitpid(pid, &status, 0);
  }
  if (g_dir_to_remove[0] != '\0') {
    const pid_t rm = fork();
    if (rm == 0) {
      char* argv[] = {g_rm_path, g_rm_flags, g_dir_to_remove, nullptr};
      execv(g_rm_path, argv);
      _exit(127);
    }
    if (rm > 0) {
      int status = 0;
      waitpid(rm, &status, 0);
    }
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

// Installed before main() so that Catch2, which saves and chains the handlers it finds when a test
// case starts, keeps calling this one.
const bool g_signal_handlers_installed = [] {
  struct sigaction action{};
  action.sa_handler = StopOnSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  return true;
}();

std::string FindBindir() {
  if (const char* forced = std::getenv("PGTENANT_PG_BINDIR")) return forced;
  CommandResult pg_config = RunCommand({"/bin/sh", "-c", "pg_config --bindir"}, {}, "", std::chrono::seconds(10));
  std::string dir = pg_config.output;
  while (!dir.empty() && (dir.back() == '\n' || dir.back() == '\r')) dir.pop_back();
  if (pg_config.exit_code == 0 && access((dir + "/initdb").c_str(), X_OK) == 0) return dir;
  if (access((std::string(kFallbackBindir) + "/initdb").c_str(), X_OK) == 0) return kFallbackBindir;
  throw std::runtime_error("PostgreSQL server binaries not found (pg_config --bindir, " + std::string(kFallbackBindir) +
                           "): run scripts/deps");
}

std::string FormatExit(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

}  // namespace

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (const char c : raw) {
    hex += kDigits[(static_cast<unsigned char>(c) >> 4) & 0xf];
    hex += kDigits[static_cast<unsigned char>(c) & 0xf];
  }
  return hex;
}

PostgresServer& PostgresServer::Shared() {
  // Destroyed at exit like any static: the destructor stops postgres and removes the directory (when
  // this process started it).
  static std::unique_ptr<PostgresServer> server = [] {
    const char* description = std::getenv(kDescriptionVariable);
    if (description != nullptr && *description != '\0') {
      if (auto attached = Attach(description)) return attached;
    }
    return std::unique_ptr<PostgresServer>(new PostgresServer(Kind::kShared));
  }();
  return *server;
}

std::unique_ptr<PostgresServer> PostgresServer::StartPrivate() {
  return std::unique_ptr<PostgresServer>(new PostgresServer(Kind::kPrivate));
}

PostgresServer& PostgresServer::StartSharedAndDescribe(const std::string& path, pid_t keeper) {
  unsetenv(kDescriptionVariable);
  PostgresServer& server = Shared();
  const std::string temporary = path + ".tmp";
  WriteFile(temporary, "port=" + std::to_string(server.port_) + "\nsocket_directory=" + server.directory_ +
                           "\nsuperuser_password=" + server.superuser_password_ + "\nbindir=" + server.bindir_ +
                           "\npostmaster_pid=" + std::to_string(server.pid_) +
                           "\nkeeper_pid=" + std::to_string(keeper) + "\n");
  chmod(temporary.c_str(), 0600);  // it holds the superuser password
  if (std::rename(temporary.c_str(), path.c_str()) != 0) throw std::runtime_error("rename " + temporary + " " + path);
  return server;
}

namespace {

// The key=value lines of a description file; empty when it cannot be read.
std::map<std::string, std::string> ReadDescription(const std::string& path) {
  std::map<std::string, std::string> values;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const size_t equals = line.find('=');
    if (equals != std::string::npos) values[line.substr(0, equals)] = line.substr(equals + 1);
  }
  return values;
}

int ToInt(const std::string& text) {
  try {
    return std::stoi(text);
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace

pid_t PostgresServer::KeeperOf(const std::string& path) {
  auto values = ReadDescription(path);
  return values.count("keeper_pid") ? ToInt(values["keeper_pid"]) : -1;
}

pid_t PostgresServer::PostmasterOf(const std::string& path) {
  auto values = ReadDescription(path);
  return values.count("postmaster_pid") ? ToInt(values["postmaster_pid"]) : -1;
}

std::string PostgresServer::DirectoryOf(const std::string& path) { return ReadDescription(path)["socket_directory"]; }

std::unique_ptr<PostgresServer> PostgresServer::Attach(const std::string& path) {
  auto values = ReadDescription(path);
  if (values.empty()) return nullptr;  // no fixture: a run by hand
  std::unique_ptr<PostgresServer> server(new PostgresServer(Kind::kAttached));
  server->port_ = ToInt(values["port"]);
  server->directory_ = values["socket_directory"];
  server->superuser_password_ = values["superuser_password"];
  server->bindir_ = values["bindir"];
  server->pid_ = ToInt(values["postmaster_pid"]);
  // Never a server that happens to be running: it must know the run's random superuser password and
  // keep its data in the directory the description names.
  try {
    PgConn conn = Connect(server->ConnString("postgres", server->superuser_password_, "postgres"));  // over TCP
    if (PQstatus(conn.get()) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(conn.get()));
    const std::string data = QueryValue(conn.get(), "SHOW data_directory");
    if (data != server->directory_ + "/data") throw std::runtime_error("its data directory is " + data);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s describes a PostgreSQL that does not answer as described (%s); starting one of "
                 "this process's own\n", path.c_str(), e.what());
    return nullptr;
  }
  return server;
}

PostgresServer::PostgresServer(Kind kind) : kind_(kind) {
  (void)g_signal_handlers_installed;
  if (kind_ == Kind::kAttached) return;
  dir_ = std::make_unique<TempDir>("pgtenant-it-", /*for_postgres=*/true);
  directory_ = dir_->path();
  bindir_ = FindBindir();
  superuser_password_ = RandomHex(16);
  if (kind_ == Kind::kShared && directory_.size() < sizeof g_dir_to_remove) {
    std::snprintf(g_dir_to_remove, sizeof g_dir_to_remove, "%s", directory_.c_str());
  }
  InitDb();
  for (int attempt = 1;; ++attempt) {
    port_ = FreePort();
    const size_t log_before = Log().size();
    try {
      Launch();
      return;
    } catch (const std::runtime_error&) {
      const bool port_taken = Log().find("Address already in use", log_before) != std::string::npos;
      if (!port_taken || attempt == kPortAttempts) throw;
    }
  }
}

PostgresServer::~PostgresServer() {
  if (kind_ == Kind::kAttached && !created_databases_.empty()) {
    try {
      PgConn conn = Connect(SuperuserConnString("postgres"));
      for (const std::string& database : created_databases_) {
        char* quoted = PQescapeIdentifier(conn.get(), database.c_str(), database.size());
        if (quoted == nullptr) continue;
        integration::Exec(conn.get(), std::string("DROP DATABASE IF EXISTS ") + quoted + " WITH (FORCE)");
        PQfreemem(quoted);
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "dropping this process's databases: %s\n", e.what());
    }
  }
  try {
    StopProcess();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stopping PostgreSQL: %s\n", e.what());
  }
  if (kind_ == Kind::kShared) g_dir_to_remove[0] = '\0';
}

void PostgresServer::InitDb() {
  const std::string pwfile = dir_->File("superuser.pw");
  WriteFile(pwfile, superuser_password_ + "\n");
  if (RunningAsRoot() && chown(pwfile.c_str(), PostgresUid(), PostgresGid()) != 0) {
    throw std::runtime_error("chown " + pwfile);
  }
  const std::string log = dir_->File("initdb.log");
  SpawnOptions options;
  options.argv = {bindir_ + "/initdb", "-D", dir_->File("data"), "-U", "postgres", "--pwfile=" + pwfile,
                  "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--no-locale", "--no-sync"};
  options.output_path = log;
  options.working_directory = directory_;
  options.as_postgres_user = true;
  const pid_t pid = Spawn(options);
  const auto status = WaitForExit(pid, std::chrono::seconds(120));
  if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    if (!status) Terminate(pid, SIGKILL, std::chrono::seconds(1));
    throw std::runtime_error("initdb failed (" + (status ? FormatExit(*status) : std::string("timeout")) + "):\n" +
                             ReadFile(log));
  }
  std::remove(pwfile.c_str());
}

void PostgresServer::RequireOwnedByTest(const char* what) const {
  if (kind_ != Kind::kPrivate) {
    throw std::logic_error(std::string(what) + " on the shared PostgreSQL, which other test processes use: use "
                           "PostgresServer::StartPrivate()");
  }
}

void PostgresServer::Start() {
  RequireOwnedByTest("Start()");
  Launch();
}

void PostgresServer::Launch() {
  if (running()) return;
  SpawnOptions options;
  options.argv = {bindir_ + "/postgres",
                  "-D", dir_->File("data"),
                  "-p", std::to_string(port_),
                  "-k", directory_,
                  "-c", "listen_addresses=127.0.0.1",
                  "-c", "max_connections=200",
                  "-c", "password_encryption=scram-sha-256",
                  // fsync=off: speed. Commits still reach the OS before they are acknowledged, so an
                  // immediate Restart() (a process crash, not an OS crash) loses nothing.
                  "-c", "fsync=off",
                  "-c", "full_page_writes=off",
                  "-c", "log_min_messages=warning"};
  options.output_path = dir_->File("postgres.log");
  options.working_directory = directory_;
  options.as_postgres_user = true;
  options.death_signal = SIGQUIT;  // if the test process dies, postgres shuts down immediately
  pid_ = Spawn(options);
  if (kind_ == Kind::kShared) g_postgres_pid = pid_;

  // Ready when it accepts connections (PQping is OK even before authentication).
  const std::string ping = "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=postgres connect_timeout=2";
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  for (;;) {
    if (auto status = WaitForExit(pid_, std::chrono::milliseconds(0))) {
      pid_ = -1;
      if (kind_ == Kind::kShared) g_postgres_pid = -1;
      throw std::runtime_error("postgres exited during startup (" + FormatExit(*status) + "):\n" + Log());
    }
    if (PQping(ping.c_str()) == PQPING_OK) return;
    if (std::chrono::steady_clock::now() > deadline) {
      StopProcess();
      throw std::runtime_error("postgres did not accept connections within 60 s:\n" + Log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void PostgresServer::Stop() {
  RequireOwnedByTest("Stop()");
  StopProcess();
}

void PostgresServer::StopProcess() {
  if (kind_ == Kind::kAttached || !running()) return;
  if (kind_ == Kind::kShared) g_postgres_pid = -1;
  Terminate(pid_, SIGQUIT, kStopTimeout);
  pid_ = -1;
}

void PostgresServer::Restart() {
  Stop();
  Start();
}

std::string PostgresServer::Log() const { return ReadFile(directory_ + "/postgres.log"); }

std::string PostgresServer::ConnString(const std::string& user, const std::string& password,
                                       const std::string& database) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=" + ConninfoValue(user) +
         " password=" + ConninfoValue(password) + " dbname=" + ConninfoValue(database) +
         " sslmode=disable gssencmode=disable connect_timeout=10";
}

std::string PostgresServer::SuperuserConnString(const std::string& database) const {
  return "host=" + ConninfoValue(directory_) + " port=" + std::to_string(port_) +
         " user=postgres dbname=" + ConninfoValue(database) + " connect_timeout=10";
}

bool PostgresServer::AwaitActiveQuery(const std::string& database, const std::string& sql,
                                      std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto rows = Exec("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND datname = '" + database +
                     "' AND query = $q$" + sql + "$q$");
    if (rows.at(0).at(0) != "0") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::vector<std::vector<std::string>> PostgresServer::Exec(const std::string& sql, const std::string& database) {
  PgConn conn = Connect(SuperuserConnString(database));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error("superuser connection failed: " + std::string(PQerrorMessage(conn.get())));
  }
  PgResult result = MustExec(conn.get(), sql);
  std::vector<std::vector<std::string>> rows;
  for (int r = 0; r < PQntuples(result.get()); ++r) {
    std::vector<std::string> row;
    for (int c = 0; c < PQnfields(result.get()); ++c) row.emplace_back(PQgetvalue(result.get(), r, c));
    rows.push_back(std::move(row));
  }
  return rows;
}

void PostgresServer::CreateRoleAndDatabase(const std::string& role, const std::string& password,
                                           const std::string& database) {
  PgConn conn = Connect(SuperuserConnString("postgres"));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error("superuser connection failed: " + std::string(PQerrorMessage(conn.get())));
  }
  auto identifier = [&](const std::string& name) {
    char* quoted = PQescapeIdentifier(conn.get(), name.c_str(), name.size());
    std::string out = quoted;
    PQfreemem(quoted);
    return out;
  };
  char* literal = PQescapeLiteral(conn.get(), password.c_str(), password.size());
  const std::string quoted_password = literal;
  PQfreemem(literal);
  MustExec(conn.get(), "CREATE ROLE " + identifier(role) + " LOGIN PASSWORD " + quoted_password);
  // CREATE DATABASE cannot run in a transaction block: its own statement.
  MustExec(conn.get(), "CREATE DATABASE " + identifier(database) + " OWNER " + identifier(role));
  created_databases_.push_back(database);
}

TestDatabase PostgresServer::CreateTestDatabase(const std::string& prefix) {
  TestDatabase db;
  // The counter keeps names apart within this process, the random part across the run's processes.
  const std::string name = prefix + "_" + std::to_string(++unique_counter_) + "_" + RandomHex(3);
  db.role = name + "_role";
  db.database = name + "_db";
  db.password = RandomHex(12);
  db.port = port_;
  CreateRoleAndDatabase(db.role, db.password, db.database);
  return db;
}

}  // namespace pgtenant::integration
