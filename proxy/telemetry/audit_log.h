// AuditLog: audit events (policy/audit_event.h) queued by the event loops and written to the sinks of
// `audit:` (files, stdout) by a writer thread of its own, so a slow sink never stalls a loop.
//
// Contract
//   - Emit() formats the event and appends the line to a bounded queue (audit.queue_size events,
//     counting the batch being written). When the queue is full: with on_overflow: drop the event is
//     dropped and counted (dropped()); with on_overflow: block, Emit() waits until there is room.
//   - The writer writes each batch of whole lines with write(2) to every sink, in Emit() order.
//     A sink that fails is reported once through proxy/telemetry/log.h (and again once it recovers); its lines
//     are lost for that sink only and counted in failed(); every later batch tries it again (a file
//     sink is reopened first). Other sinks are not held up.
//   - File sinks are opened with O_APPEND, created 0640 (less the umask). Reopen() reopens them by
//     path, for logrotate: events emitted before the call go to the old file, later ones to the new.
//   - Events emitted before Flush() are written (or lost to a failing sink) when it returns. With a
//     sink that blocks forever, Flush() blocks too; FlushFor() bounds the wait.
//   - The destructor writes what is queued, then joins the writer.
//
// Wiring (proxy): open once at startup when config.audit.enabled(); keep it across reloads (sinks are
// not reloaded); Reopen() on SIGHUP; FlushFor(shutdown_timeout) before exit; export dropped(),
// failed() and written() as metrics.
//
// Thread-safety: every method may be called from any thread, concurrently. REQUIRES: no call is made
// during or after destruction.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "policy/audit_event.h"
#include "protocol/status.h"

namespace pgtenant::proxy {

class AuditLog {
 public:
  // Opens every sink of `config` and starts the writer. An error names the file and the reason.
  // `config.sinks` may be empty: events are then counted as written and go nowhere.
  static Result<std::unique_ptr<AuditLog>> Open(const config::AuditConfig& config);

  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Formats the event on the caller's thread and queues the line (see the contract for a full queue).
  void Emit(const policy::AuditEvent& event);

  // Reopens file sinks by path on the writer thread, once it has written what was emitted before.
  void Reopen();

  // Waits until everything emitted before the call has been written.
  void Flush();
  // The same with a bound; false on timeout.
  bool FlushFor(std::chrono::milliseconds timeout);

  uint64_t written() const;  // events the writer is done with
  uint64_t dropped() const;  // events refused because the queue was full (on_overflow: drop)
  uint64_t failed() const;   // events that at least one sink could not take
  size_t pending() const;    // events queued or being written now (the queue's depth)
  size_t capacity() const { return capacity_; }

 private:
  struct Sink {
    config::AuditSinkType type;
    std::string path;  // kFile
    int fd = -1;
    bool failing = false;     // the last write failed; reported once
    bool mid_line = false;    // a failed write stopped inside a line
    uint64_t lost_lines = 0;  // since it started failing
  };

  AuditLog(const config::AuditConfig& config, std::vector<Sink> sinks);
  void Enqueue(std::string line);
  void WriterLoop();
  void ReopenFiles();
  // Writes whole lines; returns how many of them (a tail of the batch) the sink did not take.
  size_t WriteBatch(Sink& sink, const std::string& buffer);

  const size_t capacity_;
  const bool block_when_full_;

  mutable std::mutex mu_;
  std::condition_variable wake_writer_;  // lines queued, reopen asked, or stopping
  std::condition_variable room_;         // pending_ went down
  std::deque<std::string> queue_;        // GUARDED_BY(mu_)
  size_t pending_ = 0;                   // GUARDED_BY(mu_): queued + in the batch being written
  uint64_t emitted_ = 0;                 // GUARDED_BY(mu_): accepted by Emit, ever
  uint64_t written_ = 0;                 // GUARDED_BY(mu_)
  uint64_t dropped_ = 0;                 // GUARDED_BY(mu_)
  uint64_t dequeued_ = 0;                // GUARDED_BY(mu_): taken by the writer, ever
  uint64_t failed_ = 0;                  // GUARDED_BY(mu_)
  bool reopen_requested_ = false;        // GUARDED_BY(mu_)
  uint64_t reopen_after_ = 0;            // GUARDED_BY(mu_): emitted_ when Reopen() was called
  bool stopping_ = false;                // GUARDED_BY(mu_)

  std::vector<Sink> sinks_;  // only the writer thread touches them once it runs
  std::thread writer_;
};

}  // namespace pgtenant::proxy
