// The PostgreSQL 15 every integration test talks to: started once per test run, on a free port, in a
// temporary directory, and gone when the run ends.
//
// It is never a server that happens to be running: initdb makes a fresh cluster listening only on
// 127.0.0.1 (and a unix socket inside its temporary directory). The superuser `postgres` has a random
// password; TCP logins use scram-sha-256. When the tests run as root, initdb and postgres run as the
// postgres OS user. postgres is a child of the test process: it is stopped (immediate mode) at exit,
// on SIGINT/SIGTERM, and by the kernel if the test process dies (PR_SET_PDEATHSIG).
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
};

class PostgresServer {
 public:
  // The server of this run, started on first use. REQUIRES: first call from the main test thread.
  static PostgresServer& Shared();
  // A server of the caller's own (initdb and start now): a test may stop and start it without
  // disturbing the others. Stopped and removed when the pointer goes; not covered by the signal
  // cleanup of the shared one (the kernel still stops it with the test process).
  static std::unique_ptr<PostgresServer> StartPrivate();

  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  // The directory of its Unix-domain socket (.s.PGSQL.<port>).
  const std::string& socket_directory() const { return dir_.path(); }
  const std::string& superuser_password() const { return superuser_password_; }
  // Directory of the PostgreSQL client and server programs (psql, pgbench, ...).
  const std::string& bindir() const { return bindir_; }

  // A libpq conninfo for a direct TCP connection (no proxy) to this server.
  std::string ConnString(const std::string& user, const std::string& password, const std::string& database) const;

  // Runs SQL as the superuser (one statement or several separated by ';'). Returns the rows of the last
  // statement as text (NULL as ""). Throws std::runtime_error carrying the server's message.
  std::vector<std::vector<std::string>> Exec(const std::string& sql, const std::string& database = "postgres");
  // Waits until `sql` runs (state active) in `database`, so that a cancel cannot arrive before it;
  // false if it does not within `timeout`.
  bool AwaitActiveQuery(const std::string& database, const std::string& sql, std::chrono::milliseconds timeout);

  // CREATE ROLE ... LOGIN PASSWORD, CREATE DATABASE ... OWNER role.
  void CreateRoleAndDatabase(const std::string& role, const std::string& password, const std::string& database);
  // A fresh role + database with unique names ("<prefix>_<n>") and a random password.
  TestDatabase CreateTestDatabase(const std::string& prefix);

  // Immediate shutdown (every session is cut, like a crash), then start again on the same port.
  void Restart();
  void Stop();
  void Start();
  bool running() const { return pid_ > 0; }
  // The postmaster's process id (its sessions are its children), -1 when stopped. For fault tests
  // that freeze it (SIGSTOP/SIGCONT).
  pid_t pid() const { return pid_; }

  // The server log so far (for failure messages).
  std::string Log() const;

 private:
  explicit PostgresServer(bool shared);
  void InitDb();

  TempDir dir_;
  std::string bindir_;
  std::string superuser_password_;
  int port_ = 0;
  pid_t pid_ = -1;
  int unique_counter_ = 0;
  bool shared_ = true;  // only the shared server is known to the signal handler
};

// A random lowercase hex string of `bytes` * 2 characters (passwords, names).
std::string RandomHex(size_t bytes);

}  // namespace pgtenant::integration
