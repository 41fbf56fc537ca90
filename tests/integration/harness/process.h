// Child processes for the integration suite: spawn (optionally as the postgres OS user), wait, run.
//
// Every child is started with fork+execve and dies with the test process (PR_SET_PDEATHSIG), so a
// crashed or killed test run leaves no PostgreSQL or pgtenant behind. Not thread-safe: spawn from the
// main test thread only (the death signal follows the thread that spawned the child).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pgtenant::integration {

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is an absolute path
  // Added to the environment; the test process's PG* variables are never inherited, so a
  // developer's PGHOST/PGPORT cannot point a client at a server that happens to be running.
  std::map<std::string, std::string> env;
  std::string output_path;        // stdout+stderr appended here; empty: /dev/null
  std::string working_directory;  // empty: unchanged
  bool as_postgres_user = false;  // when the test runs as root (initdb/postgres refuse root)
  int death_signal = 9;           // sent to the child when the test process dies
  size_t stack_limit = 0;         // bytes: the child's RLIMIT_STACK (soft and hard, as ulimit -s); 0: inherited
};

// Starts the child; throws std::runtime_error when fork fails. The exec failure shows as exit 127.
pid_t Spawn(const SpawnOptions& options);

// Waits up to `timeout` for `pid` to exit. Returns its raw wait status, or nullopt if still running.
std::optional<int> WaitForExit(pid_t pid, std::chrono::milliseconds timeout);

// Sends `sig`, waits up to `grace`, then SIGKILL. Returns the raw wait status.
int Terminate(pid_t pid, int sig, std::chrono::milliseconds grace);

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal or by the timeout
  std::string output;  // stdout and stderr interleaved
  bool timed_out = false;
};

// Runs argv to completion with `stdin_text` on its standard input.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
                         const std::string& stdin_text = "",
                         std::chrono::milliseconds timeout = std::chrono::seconds(120));

// True when the test runs as root: server processes then run as the postgres OS user.
bool RunningAsRoot();
// uid/gid of the postgres OS user. REQUIRES: the user exists.
uid_t PostgresUid();
gid_t PostgresGid();

// The whole content of a file ("" when it cannot be read).
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& content);

}  // namespace pgtenant::integration
