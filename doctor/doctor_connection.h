// DoctorConnection: one blocking libpq connection to a backend, for `pgtenant doctor` (doctor/doctor.h).
//
// Logs in exactly as the proxy's server connections do (host, port, database, user, password, sslmode,
// connect_timeout of the backend), so the checks see the database through the tenants' role. Queries
// are parameterized (text in, text out). Not thread-safe; movable, not copyable.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "protocol/status.h"

namespace pgtenant::doctor {

// Rows of text; SQL NULL reads as "". Booleans are "t" / "f".
using DoctorRows = std::vector<std::vector<std::string>>;

class DoctorConnection {
 public:
  // An error says why, in libpq's words (first line), e.g. "connection refused".
  static Result<DoctorConnection> Connect(const config::BackendConfig& backend);

  // Runs one statement with $1.. bound to `params` (as text). An error carries the server's message.
  Result<DoctorRows> Query(const std::string& sql, const std::vector<std::string>& params = {});

 private:
  struct Closer {
    void operator()(PGconn* conn) const { PQfinish(conn); }
  };
  explicit DoctorConnection(PGconn* conn) : conn_(conn) {}

  std::unique_ptr<PGconn, Closer> conn_;
};

}  // namespace pgtenant::doctor
