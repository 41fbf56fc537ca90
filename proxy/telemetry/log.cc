// Log lines as text or JSON (contract in log.h). JSON strings and the time stamp are the audit log's
// (policy/audit_event.h), so both files read alike.
#include "proxy/telemetry/log.h"

#include <unistd.h>

#include <atomic>

#include "config/config.h"
#include "policy/audit_event.h"

namespace pgtenant::proxy {

namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::atomic<LogFormat> g_format{LogFormat::kText};
std::atomic<bool> g_level_overridden{false};

constexpr char kHexDigits[] = "0123456789abcdef";

// `text` with '"' and '\' escaped and control characters spelled out, so that no value (a client's
// user name, say) can end a line or forge a field.
void AppendEscaped(std::string& out, std::string_view text) {
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (byte < 0x20 || byte == 0x7f) {
          out += "\\x";
          out += kHexDigits[byte >> 4];
          out += kHexDigits[byte & 0xf];
        } else {
          out += c;
        }
    }
  }
}

bool NeedsQuotes(std::string_view value) {
  if (value.empty()) return true;
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || byte < 0x20 || byte == 0x7f) return true;
  }
  return false;
}

void AppendTextValue(std::string& out, std::string_view value) {
  if (!NeedsQuotes(value)) {
    out += value;
    return;
  }
  out += '"';
  AppendEscaped(out, value);
  out += '"';
}

}  // namespace

void SetLogLevelOverride(std::optional<LogLevel> level) {
  g_level_overridden = level.has_value();
  if (level) g_level = *level;
}

void ApplyLogConfig(const config::LogConfig& config) {
  if (!g_level_overridden.load()) g_level = config.level;
  g_format = config.format;
}

LogLevel CurrentLogLevel() { return g_level.load(); }
LogFormat CurrentLogFormat() { return g_format.load(); }

std::string FormatLogLine(LogFormat format, std::chrono::system_clock::time_point time, LogLevel level,
                          std::string_view component, std::string_view message,
                          std::initializer_list<LogField> fields) {
  std::string line;
  line.reserve(112 + message.size() + 24 * fields.size());
  if (format == LogFormat::kJson) {
    line += "{\"ts\":\"";
    line += policy::FormatTimestamp(time);
    line += "\",\"level\":";
    policy::AppendJsonString(line, config::ToString(level));
    line += ",\"component\":";
    policy::AppendJsonString(line, component);
    line += ",\"message\":";
    policy::AppendJsonString(line, message);
    for (const LogField& field : fields) {
      line += ',';
      policy::AppendJsonString(line, field.key);
      line += ':';
      policy::AppendJsonString(line, field.value);
    }
    line += "}\n";
    return line;
  }
  line += policy::FormatTimestamp(time);
  line += " level=";
  line += config::ToString(level);
  line += " component=";
  AppendTextValue(line, component);
  line += " msg=\"";
  AppendEscaped(line, message);
  line += '"';
  for (const LogField& field : fields) {
    line += ' ';
    line += field.key;
    line += '=';
    AppendTextValue(line, field.value);
  }
  line += '\n';
  return line;
}

void Log(LogLevel level, std::string_view component, std::string_view message, std::initializer_list<LogField> fields) {
  if (level < g_level.load(std::memory_order_relaxed)) return;
  const std::string line = FormatLogLine(g_format.load(std::memory_order_relaxed), std::chrono::system_clock::now(),
                                         level, component, message, fields);
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace pgtenant::proxy
