// CatalogReader: connect, LISTEN, query, wait for a notification or the interval (catalog_reader.h).
#include "catalog/catalog_reader.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

namespace pgtenant::catalog {

namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr milliseconds kFirstBackoff{250};
constexpr milliseconds kMaxBackoff{10000};
// A catalog query that runs this long is cut by the server: Stop never waits longer than that.
constexpr char kStatementTimeoutOption[] = "-c statement_timeout=10000";

std::string FirstLine(const char* message) {
  std::string text = message == nullptr ? "" : message;
  const size_t end = text.find('\n');
  if (end != std::string::npos) text.resize(end);
  return text.empty() ? "unknown error" : text;
}

struct ResultCloser {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultCloser>;

// The columns `names` of every row of `sql`, in that order; an error names the query and why.
Result<std::vector<std::vector<std::string>>> QueryColumns(PGconn* conn, std::string_view query_key,
                                                           const std::string& sql,
                                                           std::initializer_list<const char*> names) {
  ResultPtr result(PQexec(conn, sql.c_str()));
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
    return Status::Error("tenant_catalog." + std::string(query_key) + ": " +
                         FirstLine(result ? PQresultErrorMessage(result.get()) : PQerrorMessage(conn)));
  }
  std::vector<int> columns;
  for (const char* name : names) {
    const int column = PQfnumber(result.get(), name);
    if (column < 0) {
      return Status::Error("tenant_catalog." + std::string(query_key) + " returns no column named " + name);
    }
    columns.push_back(column);
  }
  std::vector<std::vector<std::string>> rows;
  const int count = PQntuples(result.get());
  rows.reserve(static_cast<size_t>(count));
  for (int row = 0; row < count; ++row) {
    std::vector<std::string> values;
    for (int column : columns) {
      values.emplace_back(PQgetisnull(result.get(), row, column) ? "" : PQgetvalue(result.get(), row, column));
    }
    rows.push_back(std::move(values));
  }
  return rows;
}

Result<config::CatalogRows> ReadRows(PGconn* conn, const config::TenantCatalogConfig& settings) {
  config::CatalogRows rows;
  auto tenants = QueryColumns(conn, "tenants_query", settings.tenants_query,
                              {"name", "id", "isolation", "schema", "backend"});
  if (!tenants.ok()) return tenants.status();
  for (auto& v : *tenants) rows.tenants.push_back({std::move(v[0]), std::move(v[1]), std::move(v[2]), std::move(v[3]), std::move(v[4])});
  auto memberships = QueryColumns(conn, "memberships_query", settings.memberships_query, {"user_name", "tenant", "role"});
  if (!memberships.ok()) return memberships.status();
  for (auto& v : *memberships) rows.memberships.push_back({std::move(v[0]), std::move(v[1]), std::move(v[2])});
  if (!settings.users_query.empty()) {
    auto users = QueryColumns(conn, "users_query", settings.users_query, {"name", "password"});
    if (!users.ok()) return users.status();
    for (auto& v : *users) rows.users.push_back({std::move(v[0]), std::move(v[1])});
  }
  return rows;
}

}  // namespace

CatalogReader::CatalogReader(config::TenantCatalogConfig settings, config::BackendConfig backend, RowsSink on_rows,
                             LogSink log)
    : settings_(std::move(settings)), backend_(std::move(backend)), on_rows_(std::move(on_rows)), log_(std::move(log)) {}

CatalogReader::~CatalogReader() { Stop(); }

Status CatalogReader::Start() {
  if (::pipe2(stop_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) return Status::Error("tenant_catalog: cannot make a pipe");
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void CatalogReader::Stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  const char byte = 1;
  (void)!::write(stop_pipe_[1], &byte, 1);
  thread_.join();
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
  stop_pipe_[0] = stop_pipe_[1] = -1;
}

void CatalogReader::TransitionTo(State next) { state_ = next; }

void CatalogReader::Run() {
  milliseconds backoff = kFirstBackoff;
  while (!stopping_) {
    TransitionTo(State::kConnecting);
    PGconn* conn = Connect();
    if (conn != nullptr) {
      backoff = kFirstBackoff;
      Serve(conn);  // returns when the connection is lost, or on Stop
      if (stopping_) break;
    }
    TransitionTo(State::kBackingOff);
    if (WaitFor(-1, backoff) == Wake::kStopped) break;
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
  TransitionTo(State::kStopped);
}

PGconn* CatalogReader::Connect() {
  // libpq tries a comma-separated list of hosts in order, as the proxy's server connections do.
  std::string hosts;
  std::string ports;
  for (const config::BackendHost& host : backend_.hosts) {
    hosts += (hosts.empty() ? "" : ",") + host.host;
    ports += (ports.empty() ? "" : ",") + std::to_string(host.port);
  }
  if (hosts.empty()) {
    hosts = backend_.host;
    ports = std::to_string(backend_.port);
  }
  const auto timeout_ms = backend_.connect_timeout.count();
  const std::string timeout = std::to_string(std::max<long long>(1, (timeout_ms + 999) / 1000));
  std::vector<const char*> keys = {"host",    "port",          "dbname",           "user",   "sslmode",
                                   "connect_timeout", "application_name", "options"};
  std::vector<const char*> values = {hosts.c_str(),          ports.c_str(),    backend_.database.c_str(),
                                     backend_.user.c_str(),  backend_.sslmode.c_str(), timeout.c_str(),
                                     "pgtenant-catalog",     kStatementTimeoutOption};
  if (!backend_.password.empty()) {
    keys.push_back("password");
    values.push_back(backend_.password.c_str());
  }
  if (!backend_.sslrootcert.empty()) {
    keys.push_back("sslrootcert");
    values.push_back(backend_.sslrootcert.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/0);
  std::string error;
  if (conn == nullptr) {
    error = "out of memory";
  } else if (PQstatus(conn) != CONNECTION_OK) {
    error = FirstLine(PQerrorMessage(conn));
  } else {
    char* channel = PQescapeIdentifier(conn, settings_.channel.c_str(), settings_.channel.size());
    ResultPtr listened(PQexec(conn, ("LISTEN " + std::string(channel != nullptr ? channel : "\"\"")).c_str()));
    PQfreemem(channel);
    if (PQresultStatus(listened.get()) != PGRES_COMMAND_OK) error = "LISTEN: " + FirstLine(PQerrorMessage(conn));
  }
  if (!error.empty()) {
    if (error != last_error_) {
      log_(config::LogLevel::kWarning, "tenant_catalog: cannot reach backend " + backend_.name + " (" + error +
                                           "); trying again, the last rows read stay in force");
    }
    last_error_ = error;
    PQfinish(conn);
    return nullptr;
  }
  last_error_.clear();
  TransitionTo(State::kListening);
  log_(config::LogLevel::kInfo,
       "tenant_catalog: listening on channel " + settings_.channel + " of backend " + backend_.name);
  return conn;
}

void CatalogReader::Serve(PGconn* conn) {
  std::unique_ptr<PGconn, void (*)(PGconn*)> owned(conn, PQfinish);
  bool refresh = true;  // at once: the catalog may have changed while this connection was not there
  Clock::time_point next_refresh = Clock::now();
  while (!stopping_) {
    if (refresh) {
      if (!Refresh(conn)) break;
      refresh = false;
      next_refresh = Clock::now() + settings_.refresh_interval;
    }
    // Notifications read while a query ran are queued in libpq: take them before waiting.
    while (PGnotify* notify = PQnotifies(conn)) {
      PQfreemem(notify);
      refresh = true;
    }
    if (refresh) continue;
    const auto left = std::chrono::duration_cast<milliseconds>(next_refresh - Clock::now());
    const Wake wake = WaitFor(PQsocket(conn), std::max(left, milliseconds(0)));
    if (wake == Wake::kStopped) break;
    if (wake == Wake::kTimeout) {
      refresh = true;
    } else if (PQconsumeInput(conn) == 0) {
      log_(config::LogLevel::kWarning, "tenant_catalog: connection to backend " + backend_.name +
                                           " lost (" + FirstLine(PQerrorMessage(conn)) + "); reconnecting");
      break;
    }
  }
}

bool CatalogReader::Refresh(PGconn* conn) {
  Result<config::CatalogRows> rows = ReadRows(conn, settings_);
  if (!rows.ok()) {
    if (PQstatus(conn) != CONNECTION_OK) {
      log_(config::LogLevel::kWarning, "tenant_catalog: connection to backend " + backend_.name + " lost (" +
                                           rows.status().message() + "); reconnecting");
      return false;
    }
    if (rows.status().message() != last_error_) {
      log_(config::LogLevel::kWarning,
           rows.status().message() + "; the last rows read stay in force until a refresh succeeds");
    }
    last_error_ = rows.status().message();
    return true;
  }
  last_error_.clear();
  if (last_rows_ && *last_rows_ == *rows) return true;
  last_rows_ = *rows;
  on_rows_(std::move(*rows));
  return true;
}

CatalogReader::Wake CatalogReader::WaitFor(int fd, milliseconds timeout) {
  pollfd fds[2] = {{stop_pipe_[0], POLLIN, 0}, {fd, POLLIN, 0}};
  const nfds_t count = fd >= 0 ? 2 : 1;
  const Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    if (stopping_) return Wake::kStopped;
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    constexpr milliseconds::rep kLongestPoll = 3600000;  // an interval may be a year; poll takes an int
    const int ready = ::poll(fds, count, static_cast<int>(std::clamp<milliseconds::rep>(left, 0, kLongestPoll)));
    if (ready < 0 && errno == EINTR) continue;
    if (stopping_ || (fds[0].revents & POLLIN) != 0) return Wake::kStopped;
    if (ready > 0 && count == 2 && fds[1].revents != 0) return Wake::kReadable;
    if (ready < 0 || Clock::now() >= deadline) return Wake::kTimeout;
  }
}

}  // namespace pgtenant::catalog
