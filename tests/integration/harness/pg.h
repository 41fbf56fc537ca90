// libpq helpers for the integration suite: owning handles, connect with SQLSTATEs, bounded waits.
//
// Connections are made with verbose error messages from the first byte, so even a FATAL sent during
// the startup phase (where libpq offers no PGresult) shows its SQLSTATE: see StartupSqlstate().
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pgtenant::integration {

struct PgConnCloser {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct PgResultCloser {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgConn = std::unique_ptr<PGconn, PgConnCloser>;
using PgResult = std::unique_ptr<PGresult, PgResultCloser>;

// Quotes a value for a libpq conninfo string.
std::string ConninfoValue(const std::string& value);

// Connects (blocking, at most `timeout`) with PQERRORS_VERBOSE set before the startup packet is sent.
// Never null; check PQstatus(). Throws std::runtime_error when the peer has not answered in time.
PgConn Connect(const std::string& conninfo, std::chrono::milliseconds timeout = std::chrono::seconds(15));

// The SQLSTATE in a verbose libpq error message ("FATAL:  28P01: ..."), "" if none.
std::string SqlstateOf(const std::string& verbose_message);
// The primary message of a verbose libpq error ("password authentication failed ..."), first line only.
std::string PrimaryMessageOf(const std::string& verbose_message);

// The SQLSTATE with which a failed connection was refused, "" when it did not come from a server.
std::string StartupSqlstate(PGconn* conn);

// SQLSTATE of a result ("" on success), and its primary message.
std::string Sqlstate(const PGresult* result);
std::string ErrorMessage(const PGresult* result);

// Runs one statement; the result is never null.
PgResult Exec(PGconn* conn, const std::string& sql);
// Runs one statement that must succeed with tuples or a command tag; throws std::runtime_error with
// the server's message otherwise.
PgResult MustExec(PGconn* conn, const std::string& sql);
// The first column of the first row of a statement that must succeed.
std::string QueryValue(PGconn* conn, const std::string& sql);
// The first column of every row of a statement that must succeed, in the order returned (NULL as "").
std::vector<std::string> QueryColumn(PGconn* conn, const std::string& sql);

// Sends `sql` without blocking and collects every result within `timeout`. nullopt means the server
// or proxy did not finish answering in time (a hang). The connection is unusable after a timeout.
std::optional<std::vector<PgResult>> ExecWithTimeout(PGconn* conn, const std::string& sql,
                                                     std::chrono::milliseconds timeout);

// Collects the results of a query already sent (PQsendQuery...) until PQgetResult returns null, within
// `timeout`; nullopt on timeout.
std::optional<std::vector<PgResult>> CollectResults(PGconn* conn, std::chrono::milliseconds timeout);

// Sends a CancelRequest with the key libpq holds for `conn` (PQcancel, on a connection of its own).
// Returns "" when it was sent, else libpq's reason.
std::string SendCancel(PGconn* conn);

// Waits for input on the connection's socket for at most `timeout`; false on timeout.
bool WaitReadable(PGconn* conn, std::chrono::milliseconds timeout);

// A NotificationResponse as libpq hands it over (PQnotifies).
struct Notification {
  std::string channel;
  std::string payload;
  int sender_pid = 0;
};
// The next notification on a connection that has nothing in flight, waiting at most `timeout`.
std::optional<Notification> AwaitNotification(PGconn* conn, std::chrono::milliseconds timeout);

}  // namespace pgtenant::integration
