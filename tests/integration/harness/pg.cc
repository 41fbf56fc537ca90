// libpq helpers for the integration suite: owning handles, connect with SQLSTATEs, bounded waits.
#include "tests/integration/harness/pg.h"

#include <poll.h>

#include <regex>
#include <stdexcept>

namespace pgtenant::integration {
namespace {

// Waits until `fd` is readable or writable (as `events` asks) or the deadline passes.
bool WaitSocket(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{fd, events, 0};
    const int n = poll(&pfd, 1, static_cast<int>(left.count()));
    if (n > 0) return true;
    if (n == 0) return false;
  }
}

}  // namespace

std::string ConninfoValue(const std::string& value) {
  std::string out = "'";
  for (const char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

PgConn Connect(const std::string& conninfo, std::chrono::milliseconds timeout) {
  PgConn conn(PQconnectStart(conninfo.c_str()));
  if (!conn) throw std::runtime_error("PQconnectStart: out of memory");
  PQsetErrorVerbosity(conn.get(), PQERRORS_VERBOSE);
  if (PQstatus(conn.get()) == CONNECTION_BAD) return conn;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  for (;;) {
    if (state == PGRES_POLLING_OK || state == PGRES_POLLING_FAILED) return conn;
    const short events = state == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    if (!WaitSocket(PQsocket(conn.get()), events, deadline)) {
      // A hang is a test failure, not a wait.
      throw std::runtime_error("connect timed out after " + std::to_string(timeout.count()) + " ms: " + conninfo);
    }
    state = PQconnectPoll(conn.get());
  }
}

std::string SqlstateOf(const std::string& verbose_message) {
  static const std::regex kPattern("(FATAL|ERROR|PANIC):  ([0-9A-Z]{5}): ");
  std::smatch match;
  if (std::regex_search(verbose_message, match, kPattern)) return match[2];
  return "";
}

std::string PrimaryMessageOf(const std::string& verbose_message) {
  static const std::regex kPattern("(FATAL|ERROR|PANIC):  [0-9A-Z]{5}: ([^\n]*)");
  std::smatch match;
  if (std::regex_search(verbose_message, match, kPattern)) return match[2];
  return verbose_message;
}

std::string StartupSqlstate(PGconn* conn) { return SqlstateOf(PQerrorMessage(conn)); }

std::string Sqlstate(const PGresult* result) {
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  return state == nullptr ? "" : state;
}

std::string ErrorMessage(const PGresult* result) {
  const char* message = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  return message == nullptr ? PQresultErrorMessage(result) : message;
}

PgResult Exec(PGconn* conn, const std::string& sql) {
  PgResult result(PQexec(conn, sql.c_str()));
  if (!result) throw std::runtime_error(std::string("PQexec returned null: ") + PQerrorMessage(conn));
  return result;
}

PgResult MustExec(PGconn* conn, const std::string& sql) {
  PgResult result = Exec(conn, sql);
  const ExecStatusType status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error("\"" + sql.substr(0, 200) + "\" failed: " + PQresultErrorMessage(result.get()));
  }
  return result;
}

std::string QueryValue(PGconn* conn, const std::string& sql) {
  PgResult result = MustExec(conn, sql);
  if (PQntuples(result.get()) < 1 || PQnfields(result.get()) < 1) throw std::runtime_error("no value from " + sql);
  return PQgetvalue(result.get(), 0, 0);
}

std::vector<std::string> QueryColumn(PGconn* conn, const std::string& sql) {
  PgResult result = MustExec(conn, sql);
  if (PQnfields(result.get()) < 1) throw std::runtime_error("no column from " + sql);
  std::vector<std::string> values;
  for (int row = 0; row < PQntuples(result.get()); ++row) values.emplace_back(PQgetvalue(result.get(), row, 0));
  return values;
}

std::string SendCancel(PGconn* conn) {
  PGcancel* cancel = PQgetCancel(conn);
  if (cancel == nullptr) return "PQgetCancel: the connection has no cancel key";
  char error[256] = {0};
  const int sent = PQcancel(cancel, error, sizeof error);
  PQfreeCancel(cancel);
  return sent == 1 ? std::string() : "PQcancel: " + std::string(error);
}

bool WaitReadable(PGconn* conn, std::chrono::milliseconds timeout) {
  return WaitSocket(PQsocket(conn), POLLIN, std::chrono::steady_clock::now() + timeout);
}

std::optional<Notification> AwaitNotification(PGconn* conn, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (PGnotify* notify = PQnotifies(conn)) {
      Notification n{notify->relname, notify->extra, notify->be_pid};
      PQfreemem(notify);
      return n;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !WaitReadable(conn, left)) return std::nullopt;
    if (PQconsumeInput(conn) == 0) return std::nullopt;
  }
}

std::optional<std::vector<PgResult>> ExecWithTimeout(PGconn* conn, const std::string& sql,
                                                     std::chrono::milliseconds timeout) {
  if (PQsendQuery(conn, sql.c_str()) == 0) {
    // Could not even send: report it as a failed result, like PQexec does.
    std::vector<PgResult> results;
    results.emplace_back(PQmakeEmptyPGresult(conn, PGRES_FATAL_ERROR));
    return results;
  }
  return CollectResults(conn, timeout);
}

std::optional<std::vector<PgResult>> CollectResults(PGconn* conn, std::chrono::milliseconds timeout) {
  std::vector<PgResult> results;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    while (PQisBusy(conn) == 0) {
      PGresult* result = PQgetResult(conn);
      if (result == nullptr) return results;
      results.emplace_back(result);
    }
    if (!WaitSocket(PQsocket(conn), POLLIN, deadline)) return std::nullopt;
    if (PQconsumeInput(conn) == 0) {
      // The connection broke: drain what libpq made of it (usually one error result).
      while (PGresult* result = PQgetResult(conn)) results.emplace_back(result);
      if (results.empty()) results.emplace_back(PQmakeEmptyPGresult(conn, PGRES_FATAL_ERROR));
      return results;
    }
  }
}

}  // namespace pgtenant::integration
