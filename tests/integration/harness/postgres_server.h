// The PostgreSQL 15 every integration test talks to: one per ctest run (or per test process run by
// hand), on a free port, in a temporary directory, and gone when the run ends.
//
// It is never a server that happens to be running: initdb makes a fresh cluster listening only on
// 127.0.0.1 (and a unix socket inside its temporary directory). The superuser `postgres` has a random
// password; TCP logins use scram-sha-256. When the tests run as root, initdb and postgres run as the
// postgres OS user. postgres is a child of the process that started it: it is stopped (immediate mode)
// at exit, on SIGINT/SIGTERM, and by the kernel if that process dies (PR_SET_PDEATHSIG).
//
// Under ctest, the fixture `integration_postgres_start` (postgres_fixture, see fixture/) starts the
// shared server once for the whole run and writes how to reach it to the file PGTENANT_IT_POSTGRES
// names; each test process attaches to it, after checking that it answers with the run's random
// superuser password from the directory the file names. Without that file (a test binary run by hand),
// the first Shared() call starts a server for this process, as before.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/harness/temp_dir.h"

namespace pgtenant::integration {

// A role with a password and a database it owns, made for one test.
struct TestDatabase {
  std::string role;
  std::string password;
  std::string database;
  int port = 0;  // of the server it lives on (CreateTestDatabase sets it)
};

class PostgresServer {
 public:
  // The server of this run: the ctest fixture's if PGTENANT_IT_POSTGRES names a description of one
  // that answers, else one started now for this process. Other test processes use it at the same time:
  // it cannot be stopped or reconfigured by a test (Stop/Start/Restart throw std::logic_error), and
  // every name a test creates in it must be unique (CreateTestDatabase). REQUIRES: first call from
  // the main test thread.
  static PostgresServer& Shared();
  // A server of the caller's own (initdb and start now): a test may stop, start, freeze or reconfigure
  // it without disturbing the others. Stopped and removed when the pointer goes; not covered by the
  // signal cleanup of the shared one (the kernel still stops it with the test process).
  static std::unique_ptr<PostgresServer> StartPrivate();
  // For the ctest fixture: starts this process's shared server (ignoring PGTENANT_IT_POSTGRES) and
  // writes its description to `path` (replaced atomically), naming `keeper` as the process that owns it.
  static PostgresServer& StartSharedAndDescribe(const std::string& path, pid_t keeper);
  // From the description at `path`: the keeper process, the postmaster, the server's directory (-1 or
  // "" when there is none).
  static pid_t KeeperOf(const std::string& path);
  static pid_t PostmasterOf(const std::string& path);
  static std::string DirectoryOf(const std::string& path);

  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  // The directory of its Unix-domain socket (.s.PGSQL.<port>).
  const std::string& socket_directory() const { return directory_; }
  const std::string& superuser_password() const { return superuser_password_; }
  // Directory of the PostgreSQL client and server programs (psql, pgbench, ...).
  const std::string& bindir() const { return bindir_; }

  // A libpq conninfo for a direct TCP connection (no proxy) to this server.
  std::string ConnString(const std::string& user, const std::string& password, const std::string& database) const;
  // The superuser over the Unix-domain socket in the run's directory (initdb --auth-local=trust): only
  // after attaching checked, over TCP with the run's random password, that the server is the run's own.
  std::string SuperuserConnString(const std::string& database) const;

  // Runs SQL as the superuser (one statement or several separated by ';'), over the Unix-domain socket in
  // the run's own directory (trust there: no SCRAM key stretching for every call, which was a good part of
  // the suite's CPU). Returns the rows of the last statement as text (NULL as ""). Throws
  // std::runtime_error carrying the server's message.
  std::vector<std::vector<std::string>> Exec(const std::string& sql, const std::string& database = "postgres");
  // Waits until `sql` runs (state active) in `database`, so that a cancel cannot arrive before it;
  // false if it does not within `timeout`.
  bool AwaitActiveQuery(const std::string& database, const std::string& sql, std::chrono::milliseconds timeout);

  // CREATE ROLE ... LOGIN PASSWORD, CREATE DATABASE ... OWNER role. On the ctest fixture's server, the
  // databases a test process made are dropped when it exits (the cluster stays small over a run of
  // hundreds of test processes, and its removal at the end quick).
  void CreateRoleAndDatabase(const std::string& role, const std::string& password, const std::string& database);
  // A fresh role + database with names unique among all test processes ("<prefix>_<n>_<random>") and a
  // random password.
  TestDatabase CreateTestDatabase(const std::string& prefix);

  // Immediate shutdown (every session is cut, like a crash), then start again on the same port.
  // Private servers only: std::logic_error on the shared one.
  void Restart();
  void Stop();
  void Start();
  bool running() const { return pid_ > 0; }
  // The postmaster's process id (its sessions are its children), -1 when stopped. For fault tests
  // that freeze a private server (SIGSTOP/SIGCONT).
  pid_t pid() const { return pid_; }

  // The server log so far (for failure messages).
  std::string Log() const;

 private:
  enum class Kind {
    kShared,    // this process's shared server, known to the signal handler
    kAttached,  // the ctest fixture's shared server, owned by another process
    kPrivate,
  };
  explicit PostgresServer(Kind kind);
  // Attaches to the server described at `path`; nullptr (and why, on stderr) when it does not answer.
  static std::unique_ptr<PostgresServer> Attach(const std::string& path);
  void InitDb();
  void Launch();
  void StopProcess();
  void RequireOwnedByTest(const char* what) const;

  Kind kind_;
  std::unique_ptr<TempDir> dir_;  // null when attached
  std::string directory_;
  std::string bindir_;
  std::string superuser_password_;
  int port_ = 0;
  pid_t pid_ = -1;
  int unique_counter_ = 0;
  std::vector<std::string> created_databases_;
};

// A random lowercase hex string of `bytes` * 2 characters (passwords, names).
std::string RandomHex(size_t bytes);

}  // namespace pgtenant::integration
