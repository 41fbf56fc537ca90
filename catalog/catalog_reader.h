// CatalogReader: the tenant catalog's reader (tenant_catalog:, config.h TenantCatalogConfig). A thread of
// its own with one libpq connection to the catalog's backend, logged in as the proxy's server
// connections are (the backend's hosts in order, database, user, password, sslmode). It LISTENs on the
// channel, then runs the three queries at start, on every notification and every refresh_interval, and
// hands each result that differs from the last one to `on_rows`. A refresh whose queries do not all
// succeed hands nothing (the last rows stay in force). A lost connection is opened again with backoff
// (250 ms doubling to 10 s), and refreshed at once when it is back.
//
// Thread-safety: construct, Start and Stop on one thread. `on_rows` and `log` are called on the
// reader's thread, never after Stop returns.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "config/config.h"
#include "config/tenant_catalog.h"
#include "protocol/status.h"

typedef struct pg_conn PGconn;

namespace pgtenant::catalog {

class CatalogReader {
 public:
  using RowsSink = std::function<void(config::CatalogRows rows)>;
  using LogSink = std::function<void(config::LogLevel level, const std::string& message)>;

  CatalogReader(config::TenantCatalogConfig settings, config::BackendConfig backend, RowsSink on_rows, LogSink log);
  ~CatalogReader();  // Stop
  CatalogReader(const CatalogReader&) = delete;
  CatalogReader& operator=(const CatalogReader&) = delete;

  // Starts the thread. An error only if the thread or its wake-up pipe cannot be made.
  Status Start();
  // Ends the thread (a query in flight finishes first: statement_timeout bounds it) and joins it.
  void Stop();

 private:
  enum class Wake { kReadable, kTimeout, kStopped };
  enum class State { kIdle, kConnecting, kListening, kBackingOff, kStopped };

  void Run();
  void TransitionTo(State next);
  // Opens the connection and LISTENs; nullptr (after logging why) if that failed.
  PGconn* Connect();
  // Serves one connection until it is lost or Stop; closes it.
  void Serve(PGconn* conn);
  // Runs the queries; publishes what changed. False if the connection is lost.
  bool Refresh(PGconn* conn);
  // Waits until `fd` (or -1: none) is readable, Stop is called, or `timeout` has passed.
  Wake WaitFor(int fd, std::chrono::milliseconds timeout);

  const config::TenantCatalogConfig settings_;
  const config::BackendConfig backend_;
  RowsSink on_rows_;
  LogSink log_;
  std::thread thread_;
  int stop_pipe_[2] = {-1, -1};
  std::atomic<bool> stopping_{false};
  State state_ = State::kIdle;                  // reader thread only, once started
  std::optional<config::CatalogRows> last_rows_;  // reader thread only
  std::string last_error_;                      // reader thread only: the same failure is logged once
};

}  // namespace pgtenant::catalog
