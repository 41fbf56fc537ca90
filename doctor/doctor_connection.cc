// DoctorConnection: libpq connect and parameterized queries for `pgtenant doctor`.
#include "doctor/doctor_connection.h"

#include <algorithm>

namespace pgtenant::doctor {

namespace {

// libpq messages end in '\n' and may run over several lines; the first one says enough.
std::string FirstLine(const char* message) {
  std::string text = message == nullptr ? "" : message;
  const size_t end = text.find('\n');
  if (end != std::string::npos) text.resize(end);
  return text.empty() ? "unknown error" : text;
}

}  // namespace

Result<DoctorConnection> DoctorConnection::Connect(const config::BackendConfig& backend) {
  // libpq wants whole seconds; round up so a sub-second timeout is not "wait forever" (0).
  const auto timeout_ms = backend.connect_timeout.count();
  const std::string timeout = std::to_string(std::max<long long>(1, (timeout_ms + 999) / 1000));
  const std::string port = std::to_string(backend.port);
  std::vector<const char*> keys = {"host",    "port",    "dbname",          "user",
                                   "sslmode", "connect_timeout", "application_name"};
  std::vector<const char*> values = {backend.host.c_str(),    port.c_str(),    backend.database.c_str(),
                                     backend.user.c_str(),    backend.sslmode.c_str(), timeout.c_str(),
                                     "pgtenant doctor"};
  if (!backend.password.empty()) {
    keys.push_back("password");
    values.push_back(backend.password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/0);
  if (conn == nullptr) return Status::Error("out of memory");
  DoctorConnection connection(conn);
  if (PQstatus(conn) != CONNECTION_OK) return Status::Error(FirstLine(PQerrorMessage(conn)));
  return connection;
}

Result<DoctorRows> DoctorConnection::Query(const std::string& sql, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  for (const std::string& param : params) values.push_back(param.c_str());
  PGresult* result = PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                                  values.data(), nullptr, nullptr, /*resultFormat=*/0);
  const std::unique_ptr<PGresult, decltype(&PQclear)> owner(result, &PQclear);
  if (result == nullptr) return Status::Error(FirstLine(PQerrorMessage(conn_.get())));
  if (PQresultStatus(result) != PGRES_TUPLES_OK) return Status::Error(FirstLine(PQresultErrorMessage(result)));
  DoctorRows rows(static_cast<size_t>(PQntuples(result)));
  const int columns = PQnfields(result);
  for (int row = 0; row < PQntuples(result); ++row) {
    for (int column = 0; column < columns; ++column) {
      rows[static_cast<size_t>(row)].emplace_back(PQgetvalue(result, row, column));
    }
  }
  return rows;
}

}  // namespace pgtenant::doctor
