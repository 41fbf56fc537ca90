// Log: one structured line per event on stderr (time, level, component, message).
//
// Never pass passwords, tokens or query literals in a message. Thread-safe (one write per line).
#pragma once

#include <string_view>

namespace pgtenant::proxy {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

void SetLogLevel(LogLevel level);
void Log(LogLevel level, std::string_view component, std::string_view message);
inline void LogInfo(std::string_view component, std::string_view message) { Log(LogLevel::kInfo, component, message); }
inline void LogWarning(std::string_view component, std::string_view message) {
  Log(LogLevel::kWarning, component, message);
}
inline void LogError(std::string_view component, std::string_view message) { Log(LogLevel::kError, component, message); }

}  // namespace pgtenant::proxy
