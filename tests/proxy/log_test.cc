// Log lines (proxy/telemetry/log.h): the text and JSON formats, escaping of what clients choose (user
// names), and which level wins between log.level and PGTENANT_LOG_LEVEL.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>

#include "proxy/telemetry/log.h"

namespace pgtenant::proxy {
namespace {

// 2026-12-05T17:00:00.123Z
const std::chrono::system_clock::time_point kTime =
    std::chrono::system_clock::time_point(std::chrono::milliseconds(1796490000123));

TEST_CASE("a text log line has the time, level, component, quoted message and the fields", "[log]") {
  CHECK(FormatLogLine(LogFormat::kText, kTime, LogLevel::kInfo, "policy", "blocked by rule server.files: no",
                      {{"tenant", "acme"}, {"user", "alice"}, {"rule", "server.files"}}) ==
        "2026-12-05T17:00:00.123Z level=info component=policy msg=\"blocked by rule server.files: no\" tenant=acme "
        "user=alice rule=server.files\n");
  CHECK(FormatLogLine(LogFormat::kText, kTime, LogLevel::kWarning, "proxy", "stopped", {}) ==
        "2026-12-05T17:00:00.123Z level=warning component=proxy msg=\"stopped\"\n");
}

TEST_CASE("a text log line escapes what a client chose, so that no name can end the line or forge a field",
          "[log]") {
  const std::string line =
      FormatLogLine(LogFormat::kText, kTime, LogLevel::kInfo, "auth", "failed for \"x\"\nlevel=error",
                    {{"user", "eve\n2026-12-05T17:00:00.000Z level=error msg=\"forged\""}, {"tenant", ""},
                     {"note", "a=b"}, {"bell", std::string_view("\x07\x7f", 2)}});
  CHECK(line ==
        "2026-12-05T17:00:00.123Z level=info component=auth msg=\"failed for \\\"x\\\"\\nlevel=error\" "
        "user=\"eve\\n2026-12-05T17:00:00.000Z level=error msg=\\\"forged\\\"\" tenant=\"\" note=\"a=b\" "
        "bell=\"\\x07\\x7f\"\n");
  CHECK(line.find('\n') == line.size() - 1);
}

TEST_CASE("a JSON log line is one object with ts, level, component, message and the fields", "[log]") {
  const std::string line =
      FormatLogLine(LogFormat::kJson, kTime, LogLevel::kError, "policy", "blocked \"x\"\n",
                    {{"tenant", "acme"}, {"user", "\xff\xfe" "bob"}, {"rule", "server.files"}});
  REQUIRE(line.back() == '\n');
  CHECK(line.find('\n') == line.size() - 1);
  const nlohmann::json object = nlohmann::json::parse(line);
  CHECK(object.size() == 7);
  CHECK(object["ts"] == "2026-12-05T17:00:00.123Z");
  CHECK(object["level"] == "error");
  CHECK(object["component"] == "policy");
  CHECK(object["message"] == "blocked \"x\"\n");
  CHECK(object["tenant"] == "acme");
  CHECK(object["user"] == "\xef\xbf\xbd\xef\xbf\xbd" "bob");  // invalid UTF-8 as U+FFFD
  CHECK(object["rule"] == "server.files");
  // The keys in the order given: ts, level, component, message first.
  CHECK(line.rfind("{\"ts\":\"2026-12-05T17:00:00.123Z\",\"level\":\"error\",\"component\":\"policy\",\"message\":", 0) ==
        0);
}

TEST_CASE("PGTENANT_LOG_LEVEL wins over log.level, and log.format always applies", "[log]") {
  SetLogLevelOverride(std::nullopt);
  ApplyLogConfig({LogLevel::kWarning, LogFormat::kJson});
  CHECK(CurrentLogLevel() == LogLevel::kWarning);
  CHECK(CurrentLogFormat() == LogFormat::kJson);

  SetLogLevelOverride(LogLevel::kDebug);
  CHECK(CurrentLogLevel() == LogLevel::kDebug);
  ApplyLogConfig({LogLevel::kError, LogFormat::kText});  // a reload
  CHECK(CurrentLogLevel() == LogLevel::kDebug);
  CHECK(CurrentLogFormat() == LogFormat::kText);

  SetLogLevelOverride(std::nullopt);
  ApplyLogConfig(config::LogConfig{});
  CHECK(CurrentLogLevel() == LogLevel::kInfo);
  CHECK(CurrentLogFormat() == LogFormat::kText);
}

}  // namespace
}  // namespace pgtenant::proxy
