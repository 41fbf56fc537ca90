// AuditLog: the bounded queue between the event loops and the audit sinks, and its writer thread.
#include "proxy/telemetry/audit_log.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "proxy/telemetry/log.h"

namespace pgtenant::proxy {

namespace {

constexpr std::string_view kComponent = "audit";
constexpr size_t kMaxBatchBytes = 64 * 1024;  // one write(2) per sink and batch, at most this much
constexpr mode_t kFileMode = 0640;

// O_NONBLOCK only for open(2): a FIFO without a reader then fails with ENXIO instead of hanging
// startup; the descriptor is made blocking again, since only the writer thread ever waits on it.
Result<int> OpenAppend(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, kFileMode);
  if (fd < 0) return Status::Error("cannot open audit file " + path + ": " + std::strerror(errno));
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) (void)::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

// Lines of `buffer` not entirely within its first `written` bytes.
size_t LinesFrom(const std::string& buffer, size_t written) {
  return static_cast<size_t>(std::count(buffer.begin() + static_cast<std::ptrdiff_t>(written), buffer.end(), '\n'));
}

}  // namespace

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const config::AuditConfig& config) {
  std::vector<Sink> sinks;
  for (const config::AuditSinkConfig& sink_config : config.sinks) {
    Sink sink{sink_config.type, sink_config.path};
    if (sink.type == config::AuditSinkType::kStdout) {
      sink.fd = STDOUT_FILENO;
    } else {
      Result<int> fd = OpenAppend(sink.path);
      if (!fd.ok()) {
        for (Sink& opened : sinks) {
          if (opened.type == config::AuditSinkType::kFile) ::close(opened.fd);
        }
        return fd.status();
      }
      sink.fd = *fd;
    }
    sinks.push_back(std::move(sink));
  }
  return std::unique_ptr<AuditLog>(new AuditLog(config, std::move(sinks)));
}

AuditLog::AuditLog(const config::AuditConfig& config, std::vector<Sink> sinks)
    : capacity_(std::max<size_t>(config.queue_size, 1)),
      block_when_full_(config.on_overflow == config::AuditOverflow::kBlock),
      sinks_(std::move(sinks)) {
  writer_ = std::thread([this] { WriterLoop(); });
}

AuditLog::~AuditLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_writer_.notify_one();
  writer_.join();
  for (Sink& sink : sinks_) {
    if (sink.type == config::AuditSinkType::kFile && sink.fd >= 0) ::close(sink.fd);
  }
}

void AuditLog::Emit(const policy::AuditEvent& event) { Enqueue(policy::ToJsonLine(event)); }

void AuditLog::Enqueue(std::string line) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (pending_ >= capacity_) {
      if (!block_when_full_) {
        ++dropped_;
        return;
      }
      room_.wait(lock, [this] { return pending_ < capacity_; });
    }
    queue_.push_back(std::move(line));
    ++pending_;
    ++emitted_;
  }
  wake_writer_.notify_one();
}

void AuditLog::Reopen() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    reopen_requested_ = true;
    reopen_after_ = emitted_;
  }
  wake_writer_.notify_one();
}

void AuditLog::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = emitted_;
  room_.wait(lock, [&] { return written_ >= target; });
}

bool AuditLog::FlushFor(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = emitted_;
  return room_.wait_for(lock, timeout, [&] { return written_ >= target; });
}

uint64_t AuditLog::written() const {
  std::lock_guard<std::mutex> lock(mu_);
  return written_;
}

size_t AuditLog::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_;
}

uint64_t AuditLog::dropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

uint64_t AuditLog::failed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_;
}

void AuditLog::WriterLoop() {
  // Signals belong to the event loop's thread. Blocking SIGPIPE here also turns a sink whose reader
  // went away into EPIPE for this thread instead of a process-wide SIGPIPE.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);

  std::string buffer;
  for (;;) {
    size_t lines = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_writer_.wait(lock, [this] { return !queue_.empty() || reopen_requested_ || stopping_; });
      if (reopen_requested_ && dequeued_ >= reopen_after_) {
        reopen_requested_ = false;
        lock.unlock();
        ReopenFiles();
        continue;
      }
      if (queue_.empty()) return;  // stopping, and everything is written
      // Lines emitted before a pending Reopen() belong to the old files: stop the batch there.
      const uint64_t limit = reopen_requested_ ? reopen_after_ : UINT64_MAX;
      buffer.clear();
      while (!queue_.empty() && dequeued_ < limit &&
             (buffer.empty() || buffer.size() + queue_.front().size() <= kMaxBatchBytes)) {
        buffer += queue_.front();
        queue_.pop_front();
        ++dequeued_;
        ++lines;
      }
    }
    // Each sink loses a tail of the batch, so the largest tail is the number of events some sink lacks.
    size_t lost = 0;
    for (Sink& sink : sinks_) lost = std::max(lost, WriteBatch(sink, buffer));
    {
      std::lock_guard<std::mutex> lock(mu_);
      written_ += lines;
      failed_ += lost;
      pending_ -= lines;
    }
    room_.notify_all();
  }
}

void AuditLog::ReopenFiles() {
  for (Sink& sink : sinks_) {
    if (sink.type != config::AuditSinkType::kFile) continue;
    Result<int> fd = OpenAppend(sink.path);
    if (!fd.ok()) {
      // Keep writing to the old file rather than nowhere.
      LogError(kComponent, fd.status().message() + "; still writing to the file opened before");
      continue;
    }
    if (sink.fd >= 0) ::close(sink.fd);
    sink.fd = *fd;
  }
}

size_t AuditLog::WriteBatch(Sink& sink, const std::string& buffer) {
  const std::string name = sink.type == config::AuditSinkType::kFile ? sink.path : "stdout";
  if (sink.failing && sink.type == config::AuditSinkType::kFile) {
    // The file may be gone or its descriptor broken; a fresh open is the cheapest cure to try.
    Result<int> fd = OpenAppend(sink.path);
    if (fd.ok()) {
      if (sink.fd >= 0) ::close(sink.fd);
      sink.fd = *fd;
    }
  }
  if (sink.mid_line) {
    // A failed write left half a line: end it, so that the next event starts a line of its own.
    if (::write(sink.fd, "\n", 1) == 1) sink.mid_line = false;
  }
  size_t done = 0;
  int error = 0;
  while (done < buffer.size()) {
    const ssize_t n = ::write(sink.fd, buffer.data() + done, buffer.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // stdout may have been made non-blocking by someone else; wait for room like a blocking write.
      pollfd pfd{sink.fd, POLLOUT, 0};
      (void)::poll(&pfd, 1, -1);
    } else {
      error = n < 0 ? errno : EIO;
      break;
    }
  }
  if (error == 0) {
    if (sink.failing) {
      LogInfo(kComponent, "audit sink " + name + " writes again; " + std::to_string(sink.lost_lines) +
                              " events were lost while it failed");
      sink.failing = false;
      sink.lost_lines = 0;
    }
    return 0;
  }
  const size_t lost = LinesFrom(buffer, done);
  if (done > 0 && buffer[done - 1] != '\n') sink.mid_line = true;
  if (!sink.failing) {
    LogError(kComponent, "cannot write to audit sink " + name + ": " + std::strerror(error) +
                             "; its events are lost until it recovers (retried with every batch)");
    sink.failing = true;
  }
  sink.lost_lines += lost;
  return lost;
}

}  // namespace pgtenant::proxy
