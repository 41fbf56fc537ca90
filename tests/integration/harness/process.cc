// Child processes for the integration suite: fork+execve with the environment and user set up first.
#include "tests/integration/harness/process.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace pgtenant::integration {
namespace {

// argv/envp storage prepared before fork: the child may only call async-signal-safe functions.
struct ExecVectors {
  std::vector<std::string> strings;
  std::vector<char*> pointers;
  char** data() { return pointers.data(); }
};

ExecVectors MakeVector(std::vector<std::string> strings) {
  ExecVectors v{std::move(strings), {}};
  for (auto& s : v.strings) v.pointers.push_back(s.data());
  v.pointers.push_back(nullptr);
  return v;
}

ExecVectors MakeEnvironment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (entry.starts_with("PG")) continue;
    std::string name(entry.substr(0, entry.find('=')));
    if (extra.count(name) != 0) continue;
    env.emplace_back(entry);
  }
  for (const auto& [name, value] : extra) env.push_back(name + "=" + value);
  return MakeVector(std::move(env));
}

const passwd& PostgresUser() {
  static const passwd user = [] {
    const passwd* pw = getpwnam("postgres");
    if (pw == nullptr) throw std::runtime_error("running as root needs the postgres OS user (apt-get install postgresql)");
    return *pw;
  }();
  return user;
}

[[noreturn]] void ChildFail(const char* what) {
  const char* reason = strerror(errno);
  (void)!write(STDERR_FILENO, what, strlen(what));
  (void)!write(STDERR_FILENO, ": ", 2);
  (void)!write(STDERR_FILENO, reason, strlen(reason));
  (void)!write(STDERR_FILENO, "\n", 1);
  _exit(127);
}

}  // namespace

// A test writing to a peer that has gone (a proxy that closed the connection) gets EPIPE to check, not a
// SIGPIPE that ends the test process. Children get the default back (Spawn).
const bool g_sigpipe_ignored = [] {
  signal(SIGPIPE, SIG_IGN);
  return true;
}();

bool RunningAsRoot() { return geteuid() == 0; }
uid_t PostgresUid() { return PostgresUser().pw_uid; }
gid_t PostgresGid() { return PostgresUser().pw_gid; }

pid_t Spawn(const SpawnOptions& options) {
  (void)g_sigpipe_ignored;
  if (options.argv.empty()) throw std::invalid_argument("Spawn: empty argv");
  ExecVectors argv = MakeVector(options.argv);
  ExecVectors envp = MakeEnvironment(options.env);
  const bool switch_user = options.as_postgres_user && RunningAsRoot();
  const uid_t uid = switch_user ? PostgresUid() : 0;
  const gid_t gid = switch_user ? PostgresGid() : 0;
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + strerror(errno));
  if (pid > 0) return pid;

  // Child: async-signal-safe calls only from here on.
  signal(SIGPIPE, SIG_DFL);  // an ignored signal would stay ignored across execve
  setpgid(0, 0);  // a Ctrl-C at the terminal goes to the test process, which cleans up itself
  int in = open("/dev/null", O_RDONLY);
  if (in < 0 || dup2(in, STDIN_FILENO) < 0) ChildFail("stdin");
  int out = options.output_path.empty() ? open("/dev/null", O_WRONLY)
                                        : open(options.output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (out < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0) ChildFail("output");
  if (switch_user) {
    if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) ChildFail("switch to postgres user");
  }
  // After the uid change: changing credentials clears the death signal.
  if (prctl(PR_SET_PDEATHSIG, options.death_signal) != 0) ChildFail("prctl");
  if (getppid() != parent) _exit(127);  // the parent died before prctl
  if (!options.working_directory.empty() && chdir(options.working_directory.c_str()) != 0) ChildFail("chdir");
  if (options.stack_limit != 0) {
    const rlimit limit{options.stack_limit, options.stack_limit};
    if (setrlimit(RLIMIT_STACK, &limit) != 0) ChildFail("setrlimit");
  }
  execve(argv.pointers[0], argv.data(), envp.data());
  ChildFail(argv.pointers[0]);
}

std::optional<int> WaitForExit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) throw std::runtime_error(std::string("waitpid: ") + strerror(errno));
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int Terminate(pid_t pid, int sig, std::chrono::milliseconds grace) {
  kill(pid, sig);
  if (auto status = WaitForExit(pid, grace)) return *status;
  kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

CommandResult RunCommand(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                         const std::string& stdin_text, std::chrono::milliseconds timeout) {
  if (argv.empty()) throw std::invalid_argument("RunCommand: empty argv");
  int in_pipe[2];
  int out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe: ") + strerror(errno));
  }
  ExecVectors args = MakeVector(argv);
  ExecVectors envp = MakeEnvironment(env);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    if (dup2(in_pipe[0], STDIN_FILENO) < 0 || dup2(out_pipe[1], STDOUT_FILENO) < 0 ||
        dup2(out_pipe[1], STDERR_FILENO) < 0) {
      ChildFail("dup2");
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execve(args.pointers[0], args.data(), envp.data());
    ChildFail(args.pointers[0]);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  // Feed stdin and drain the output together so neither side blocks on a full pipe.
  signal(SIGPIPE, SIG_IGN);
  size_t written = 0;
  int in_fd = in_pipe[1];
  if (stdin_text.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  if (in_fd >= 0) fcntl(in_fd, F_SETFL, O_NONBLOCK);
  CommandResult result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {in_fd, POLLOUT, 0}};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    const int n = poll(fds, in_fd >= 0 ? 2 : 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (in_fd >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      const ssize_t w = write(in_fd, stdin_text.data() + written, stdin_text.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      if (w < 0 || written == stdin_text.size()) {
        close(in_fd);
        in_fd = -1;
      }
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      char buffer[65536];
      const ssize_t r = read(out_pipe[0], buffer, sizeof buffer);
      if (r > 0) {
        result.output.append(buffer, static_cast<size_t>(r));
      } else if (r == 0 || errno != EINTR) {
        break;  // every writer closed: the command is done
      }
    }
  }
  if (in_fd >= 0) close(in_fd);
  close(out_pipe[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = (!result.timed_out && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

}  // namespace pgtenant::integration
