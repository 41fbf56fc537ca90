// LogConfig: the `log:` section, how much pgtenant's own log on stderr says and in which line format.
//
// Plain values with no dependencies, so that proxy/telemetry/log.h can take them as they are.
#pragma once

namespace pgtenant::config {

enum class LogLevel { kDebug, kInfo, kWarning, kError };
// kText: "TIME level=... component=... msg=\"...\" key=value ..."; kJson: one JSON object per line.
enum class LogFormat { kText, kJson };

struct LogConfig {
  LogLevel level = LogLevel::kInfo;
  LogFormat format = LogFormat::kText;
  bool operator==(const LogConfig&) const = default;
};

}  // namespace pgtenant::config
