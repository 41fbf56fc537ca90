// Log: pgtenant's own log, one line per event on stderr: time, level, component, message, and the
// structured fields the caller has (tenant, user, rule, ...), as text or as JSON lines (log.format).
//
// Never pass passwords, tokens or query literals in a message or a field. Thread-safe (one write per
// line; level and format are atomics that a reload may change while other threads log).
#pragma once

#include <chrono>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "config/log_config.h"

namespace pgtenant::proxy {

using config::LogFormat;
using config::LogLevel;

// One structured field of a line: "tenant" -> "acme".
struct LogField {
  std::string_view key;
  std::string_view value;
};

// PGTENANT_LOG_LEVEL, read once at start: when set it wins over log.level, at start and after every
// reload (a one-off debug run needs no edit of a shared file). nullopt: log.level decides.
void SetLogLevelOverride(std::optional<LogLevel> level);
// The level (unless overridden) and format of every line from now on: at start and on each reload.
void ApplyLogConfig(const config::LogConfig& config);
// What lines are written with now.
LogLevel CurrentLogLevel();
LogFormat CurrentLogFormat();

void Log(LogLevel level, std::string_view component, std::string_view message,
         std::initializer_list<LogField> fields = {});
inline void LogDebug(std::string_view component, std::string_view message, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kDebug, component, message, fields);
}
inline void LogInfo(std::string_view component, std::string_view message, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kInfo, component, message, fields);
}
inline void LogWarning(std::string_view component, std::string_view message,
                       std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kWarning, component, message, fields);
}
inline void LogError(std::string_view component, std::string_view message, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kError, component, message, fields);
}

// The line Log writes, '\n' included.
//   text: 2026-12-05T17:00:00.123Z level=info component=policy msg="..." tenant=acme user="a b"
//         (the message always quoted, a field value quoted when it holds a space, '"', '=' or '\',
//         or is empty; '"' and '\' escaped, control characters as \n, \r, \t or \xNN)
//   json: {"ts":"2026-12-05T17:00:00.123Z","level":"info","component":"policy","message":"...","tenant":"acme"}
//         (strings escaped as in audit events: RFC 8259, invalid UTF-8 as U+FFFD)
std::string FormatLogLine(LogFormat format, std::chrono::system_clock::time_point time, LogLevel level,
                          std::string_view component, std::string_view message,
                          std::initializer_list<LogField> fields);

}  // namespace pgtenant::proxy
