// AuditLog: exact lines in file sinks, logrotate-style reopen, drop and block on a full queue, Flush.
#include "proxy/telemetry/audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace pgtenant::proxy {
namespace {

namespace fs = std::filesystem;

class ScratchDir {
 public:
  ScratchDir() {
    char tmpl[] = "/tmp/pgtenant_audit_XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

config::AuditConfig FileSinks(std::initializer_list<std::string> paths, size_t queue_size = 10000,
                              config::AuditOverflow overflow = config::AuditOverflow::kDrop) {
  config::AuditConfig config;
  for (const std::string& path : paths) config.sinks.push_back({config::AuditSinkType::kFile, path});
  config.queue_size = queue_size;
  config.on_overflow = overflow;
  return config;
}

std::unique_ptr<AuditLog> MustOpen(const config::AuditConfig& config) {
  auto log = AuditLog::Open(config);
  INFO(log.status().message());
  REQUIRE(log.ok());
  return std::move(*log);
}

policy::AuditEvent Event(const std::string& session_id) {
  policy::AuditEvent event;
  event.type = policy::AuditEventType::kStatementBlocked;
  event.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1795334400123));
  event.tenant = "acme";
  event.session_id = session_id;
  event.fields = {{"rule", "tenant_context.set"}};
  return event;
}

TEST_CASE("a file sink receives exactly the JSON lines emitted, in order", "[audit_log]") {
  ScratchDir dir;
  const std::string path = dir.File("audit.jsonl");
  {
    auto log = MustOpen(FileSinks({path}));
    log->Emit(Event("s1"));
    log->Emit(Event("s2"));
    log->Flush();
    CHECK(log->written() == 2);
    CHECK(ReadAll(path) == policy::ToJsonLine(Event("s1")) + policy::ToJsonLine(Event("s2")));
    log->Emit(Event("s3"));
  }  // the destructor writes what is still queued
  CHECK(Lines(ReadAll(path)).size() == 3);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777 & ~0640) == 0);  // 0640 less the umask
}

TEST_CASE("an existing audit file is appended to, never truncated", "[audit_log]") {
  ScratchDir dir;
  const std::string path = dir.File("audit.jsonl");
  std::ofstream(path) << "{\"earlier\":true}\n";
  auto log = MustOpen(FileSinks({path}));
  log->Emit(Event("s1"));
  log->Flush();
  CHECK(ReadAll(path) == "{\"earlier\":true}\n" + policy::ToJsonLine(Event("s1")));
}

TEST_CASE("every sink gets every line", "[audit_log]") {
  ScratchDir dir;
  auto log = MustOpen(FileSinks({dir.File("a.jsonl"), dir.File("b.jsonl")}));
  for (int i = 0; i < 100; ++i) log->Emit(Event("s" + std::to_string(i)));
  log->Flush();
  CHECK(Lines(ReadAll(dir.File("a.jsonl"))).size() == 100);
  CHECK(ReadAll(dir.File("a.jsonl")) == ReadAll(dir.File("b.jsonl")));
}

TEST_CASE("a file that cannot be opened is an error naming it", "[audit_log]") {
  ScratchDir dir;
  auto log = AuditLog::Open(FileSinks({dir.File("ok.jsonl"), dir.File("missing/dir/audit.jsonl")}));
  REQUIRE_FALSE(log.ok());
  CHECK_THAT(log.status().message(), Catch::Contains(dir.File("missing/dir/audit.jsonl")) &&
                                         Catch::Contains("No such file or directory"));
}

TEST_CASE("Reopen after a rename writes to a new file at the path, like logrotate", "[audit_log]") {
  ScratchDir dir;
  const std::string path = dir.File("audit.jsonl");
  auto log = MustOpen(FileSinks({path}));
  log->Emit(Event("before"));
  log->Flush();
  REQUIRE(std::rename(path.c_str(), dir.File("audit.jsonl.1").c_str()) == 0);
  // Until Reopen, the renamed file keeps receiving events (the descriptor follows the file).
  log->Emit(Event("still-old"));
  log->Reopen();
  log->Emit(Event("after"));
  log->Flush();
  CHECK(ReadAll(dir.File("audit.jsonl.1")) == policy::ToJsonLine(Event("before")) +
                                                    policy::ToJsonLine(Event("still-old")));
  CHECK(ReadAll(path) == policy::ToJsonLine(Event("after")));
}

// A FIFO whose reader reads nothing until told to: the sink blocks once the pipe buffer is full.
class StalledFifo {
 public:
  explicit StalledFifo(const std::string& path) : path_(path) {
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
    read_fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK);
    REQUIRE(read_fd_ >= 0);
  }
  ~StalledFifo() {
    if (reader_.joinable()) reader_.join();
    ::close(read_fd_);
  }
  // Starts reading everything until the writer closes its end.
  void Drain() {
    reader_ = std::thread([this] {
      const int flags = ::fcntl(read_fd_, F_GETFL);
      ::fcntl(read_fd_, F_SETFL, flags & ~O_NONBLOCK);
      char buffer[65536];
      for (;;) {
        const ssize_t n = ::read(read_fd_, buffer, sizeof(buffer));
        if (n > 0) {
          received_.append(buffer, static_cast<size_t>(n));
        } else if (n == 0 || errno != EINTR) {
          return;
        }
      }
    });
  }
  // True when a thread of this process sleeps in write(2) on the FIFO (/proc/self/task/*/syscall
  // and stat): with nobody reading, it stays there until Drain().
  bool WriterBlocked() const {
    namespace fs = std::filesystem;
    std::error_code error;
    for (const fs::directory_entry& task : fs::directory_iterator("/proc/self/task", error)) {
      std::ifstream syscall(task.path() / "syscall");
      long number = -1;
      std::string fd_arg;
      if (!(syscall >> number >> fd_arg) || number != 1) continue;  // 1: write on x86-64
      const std::string fd = std::to_string(std::strtol(fd_arg.c_str(), nullptr, 16));
      if (fs::read_symlink("/proc/self/fd/" + fd, error) != fs::absolute(path_)) continue;
      std::ifstream stat(task.path() / "stat");
      const std::string line((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
      const size_t after_name = line.rfind(')');
      if (after_name != std::string::npos && line.size() > after_name + 2 && line[after_name + 2] == 'S') return true;
    }
    return false;
  }
  // REQUIRES: Drain() was called and the writer has closed the FIFO.
  std::string Received() {
    reader_.join();
    return received_;
  }

 private:
  std::string path_;
  int read_fd_ = -1;
  std::thread reader_;
  std::string received_;
};

TEST_CASE("with on_overflow: drop, a stalled sink costs dropped events, counted, never a stalled caller",
          "[audit_log]") {
  ScratchDir dir;
  StalledFifo fifo(dir.File("audit.fifo"));
  int events = 0;
  uint64_t dropped = 0;
  std::string received;
  {
    auto log = MustOpen(FileSinks({dir.File("audit.fifo")}, 10, config::AuditOverflow::kDrop));
    // Emit in bursts until the writer is stuck in write(2) on the full pipe. How many bursts that takes
    // depends on how fast the writer thread drains the queue, so the loop asks rather than guesses:
    // events still queued, and the writer asleep in write(2). (A flush that times out alone may only
    // mean that the writer thread was not scheduled, on a loaded machine.)
    bool stuck = false;
    const auto start = std::chrono::steady_clock::now();
    for (int burst = 0; burst < 400 && !stuck; ++burst) {
      for (int i = 0; i < 100; ++i) log->Emit(Event("s" + std::to_string(events++)));
      stuck = !log->FlushFor(std::chrono::milliseconds(20)) && fifo.WriterBlocked();
    }
    if (!stuck) fifo.Drain();  // so that the log can close before the test reports
    REQUIRE(stuck);  // 40,000 events are ~8 MB: far more than any pipe buffer holds
    const auto stuck_after = std::chrono::steady_clock::now() - start;
    // A stuck writer never stalls the caller: another burst returns at once, dropping.
    const uint64_t dropped_before = log->dropped();
    const auto burst_start = std::chrono::steady_clock::now();
    for (int i = 0; i < 1000; ++i) log->Emit(Event("s" + std::to_string(events++)));
    CHECK(std::chrono::steady_clock::now() - burst_start < std::chrono::seconds(2));
    CHECK(stuck_after < std::chrono::seconds(30));
    dropped = log->dropped();
    CHECK(dropped >= dropped_before + 1000 - 10);  // at most the queue's 10 slots were free
    CHECK_FALSE(log->FlushFor(std::chrono::milliseconds(50)));  // still stuck

    fifo.Drain();
    log->Flush();
    CHECK(log->dropped() == dropped);
    CHECK(log->written() + dropped == static_cast<uint64_t>(events));
    CHECK(log->failed() == 0);
  }
  received = fifo.Received();
  const std::vector<std::string> lines = Lines(received);
  CHECK(lines.size() + dropped == static_cast<uint64_t>(events));
  // What arrived arrived whole and in order: the first events, before the queue filled up.
  REQUIRE_FALSE(lines.empty());
  CHECK(lines.front() + "\n" == policy::ToJsonLine(Event("s0")));
  for (const std::string& line : lines) CHECK(line.back() == '}');
}

TEST_CASE("with on_overflow: block, many threads emitting through a tiny queue lose nothing", "[audit_log]") {
  ScratchDir dir;
  const std::string path = dir.File("audit.jsonl");
  constexpr int kThreads = 8;
  constexpr int kPerThread = 2000;
  auto log = MustOpen(FileSinks({path}, 4, config::AuditOverflow::kBlock));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&log, t] {
      for (int i = 0; i < kPerThread; ++i) log->Emit(Event(std::to_string(t) + "-" + std::to_string(i)));
    });
  }
  for (std::thread& thread : threads) thread.join();
  log->Flush();
  CHECK(log->dropped() == 0);
  CHECK(log->written() == kThreads * kPerThread);

  const std::vector<std::string> lines = Lines(ReadAll(path));
  REQUIRE(lines.size() == static_cast<size_t>(kThreads * kPerThread));
  std::set<std::string> unique(lines.begin(), lines.end());
  CHECK(unique.size() == lines.size());
  // Each thread's events stay in its own order.
  std::vector<int> next(kThreads, 0);
  for (const std::string& line : lines) {
    const size_t at = line.find("\"session_id\":\"") + 14;
    const size_t dash = line.find('-', at);
    const int t = std::stoi(line.substr(at, dash - at));
    const int i = std::stoi(line.substr(dash + 1));
    CHECK(i == next[t]);
    next[t] = i + 1;
  }
}

TEST_CASE("a failing sink loses its lines alone and is counted; the others keep writing", "[audit_log]") {
  ScratchDir dir;
  const std::string good = dir.File("audit.jsonl");
  auto log = MustOpen(FileSinks({"/dev/full", good}));  // every write to /dev/full fails with ENOSPC
  for (int i = 0; i < 3; ++i) log->Emit(Event("s" + std::to_string(i)));
  log->Flush();
  CHECK(Lines(ReadAll(good)).size() == 3);
  CHECK(log->failed() == 3);
  CHECK(log->written() == 3);
}

TEST_CASE("Flush returns at once when nothing is queued, and with no sinks events go nowhere", "[audit_log]") {
  auto log = MustOpen(config::AuditConfig{});
  log->Flush();
  CHECK(log->FlushFor(std::chrono::milliseconds(0)));
  log->Emit(Event("s1"));
  log->Flush();
  CHECK(log->written() == 1);
  CHECK(log->dropped() == 0);
}

}  // namespace
}  // namespace pgtenant::proxy
