// AuditEvent: every type serializes to one JSON line with every common key, escaped, timestamped in UTC.
#include "policy/audit_event.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "tests/support/enumerators.h"

namespace pgtenant::policy {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;

// 2026-11-22T08:00:00.123Z
const system_clock::time_point kTime = system_clock::time_point(milliseconds(1795334400123));

const std::vector<AuditEventType> kAllTypes = testing::Enumerators<AuditEventType>();

std::string Escaped(std::string_view text) {
  std::string out;
  AppendJsonString(out, text);
  return out;
}

TEST_CASE("every event type has its snake_case name", "[audit_event]") {
  CHECK(ToString(AuditEventType::kConnectionAccepted) == "connection_accepted");
  CHECK(ToString(AuditEventType::kAuthenticationFailed) == "authentication_failed");
  CHECK(ToString(AuditEventType::kTenantRefused) == "tenant_refused");
  CHECK(ToString(AuditEventType::kSessionEnded) == "session_ended");
  CHECK(ToString(AuditEventType::kStatementBlocked) == "statement_blocked");
  CHECK(ToString(AuditEventType::kStatement) == "statement");
  CHECK(ToString(AuditEventType::kConfigReloaded) == "config_reloaded");
  CHECK(ToString(AuditEventType::kAdminCommand) == "admin_command");
}

TEST_CASE("every event type has a name of its own", "[audit_event]") {
  REQUIRE(kAllTypes.size() >= 8);
  std::set<std::string_view> names;
  for (AuditEventType type : kAllTypes) {
    INFO("type " << static_cast<int>(type));
    CHECK(ToString(type) != "?");
    CHECK(names.insert(ToString(type)).second);
  }
  CHECK(ToString(static_cast<AuditEventType>(kAllTypes.size())) == "?");
}

TEST_CASE("an event with nothing known still carries every common key, empty", "[audit_event]") {
  for (AuditEventType type : kAllTypes) {
    AuditEvent event;
    event.type = type;
    event.time = kTime;
    CHECK(ToJsonLine(event) == "{\"timestamp\":\"2026-11-22T08:00:00.123Z\",\"type\":\"" + std::string(ToString(type)) +
                                   "\",\"tenant\":\"\",\"tenant_id\":\"\",\"user\":\"\",\"client_address\":\"\","
                                   "\"session_id\":\"\",\"compliance\":{\"regulations\":[],\"retention_days\":null}}\n");
  }
}

TEST_CASE("a blocked statement serializes with its tenant, compliance, fields and numbers in order", "[audit_event]") {
  config::TenantConfig acme;
  acme.name = "acme";
  acme.id = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
  acme.compliance.Mutable().regulations = {"GDPR", "LGPD"};
  acme.compliance.Mutable().retention_days = 365;

  AuditEvent event;
  event.type = AuditEventType::kStatementBlocked;
  event.time = kTime;
  SetTenant(event, acme);
  event.user = "alice";
  event.client_address = "10.0.0.7:51234";
  event.session_id = "s-42";
  event.fields = {{"rule", "tenant_context.set"},
                  {"reason", "changes app.current_organization_id"},
                  {"fingerprint", "a0b1c2d3e4f50617"},
                  {"statement", "SET app.current_organization_id = $1"}};
  event.numbers = {{"statements", 3}, {"bytes_in", -1}};

  CHECK(ToJsonLine(event) ==
        "{\"timestamp\":\"2026-11-22T08:00:00.123Z\",\"type\":\"statement_blocked\",\"tenant\":\"acme\","
        "\"tenant_id\":\"7c9e6679-7425-40de-944b-e07fc1f90ae7\",\"user\":\"alice\","
        "\"client_address\":\"10.0.0.7:51234\",\"session_id\":\"s-42\","
        "\"compliance\":{\"regulations\":[\"GDPR\",\"LGPD\"],\"retention_days\":365},"
        "\"rule\":\"tenant_context.set\",\"reason\":\"changes app.current_organization_id\","
        "\"fingerprint\":\"a0b1c2d3e4f50617\",\"statement\":\"SET app.current_organization_id = $1\","
        "\"statements\":3,\"bytes_in\":-1}\n");
}

TEST_CASE("a line is one line: no raw newline before its end", "[audit_event]") {
  AuditEvent event;
  event.type = AuditEventType::kAuthenticationFailed;
  event.user = "mallory\n{\"type\":\"forged\"}";
  event.fields = {{"message", "line1\r\nline2\u2028"}};
  const std::string line = ToJsonLine(event);
  REQUIRE(line.back() == '\n');
  CHECK(line.find('\n') == line.size() - 1);
  CHECK(line.find('\r') == std::string::npos);
  CHECK(line.find("\"user\":\"mallory\\n{\\\"type\\\":\\\"forged\\\"}\"") != std::string::npos);
}

TEST_CASE("JSON strings escape quotes, backslashes and every control character", "[audit_event]") {
  CHECK(Escaped("plain text") == "\"plain text\"");
  CHECK(Escaped("say \"hi\"") == "\"say \\\"hi\\\"\"");
  CHECK(Escaped("C:\\temp") == "\"C:\\\\temp\"");
  CHECK(Escaped("\n\r\t\b\f") == "\"\\n\\r\\t\\b\\f\"");
  CHECK(Escaped(std::string("a\0b", 3)) == "\"a\\u0000b\"");
  CHECK(Escaped("\x01\x1f\x7f") == "\"\\u0001\\u001f\\u007f\"");
  CHECK(Escaped("/") == "\"/\"");
}

TEST_CASE("valid UTF-8 passes through; invalid bytes become U+FFFD", "[audit_event]") {
  CHECK(Escaped("S\xc3\xa3o Paulo") == "\"S\xc3\xa3o Paulo\"");              // ã
  CHECK(Escaped("\xe2\x82\xac") == "\"\xe2\x82\xac\"");                      // €
  CHECK(Escaped("\xf0\x9f\x98\x80") == "\"\xf0\x9f\x98\x80\"");              // emoji, 4 bytes
  CHECK(Escaped("\xe2\x80\xa8\xe2\x80\xa9") == "\"\\u2028\\u2029\"");        // line/paragraph separators
  CHECK(Escaped("a\xff" "b") == "\"a\\ufffdb\"");                            // never valid
  CHECK(Escaped("\xc3") == "\"\\ufffd\"");                                   // truncated
  CHECK(Escaped("\xc0\xaf") == "\"\\ufffd\\ufffd\"");                        // overlong '/'
  CHECK(Escaped("\xed\xa0\x80") == "\"\\ufffd\\ufffd\\ufffd\"");             // UTF-16 surrogate
  CHECK(Escaped("\xf4\x90\x80\x80") == "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");  // above U+10FFFF
  CHECK(Escaped("\x80x") == "\"\\ufffdx\"");                                 // stray continuation
}

TEST_CASE("timestamps are RFC 3339 UTC with milliseconds", "[audit_event]") {
  CHECK(FormatTimestamp(kTime) == "2026-11-22T08:00:00.123Z");
  CHECK(FormatTimestamp(system_clock::time_point(milliseconds(0))) == "1970-01-01T00:00:00.000Z");
  CHECK(FormatTimestamp(system_clock::time_point(milliseconds(951782400999))) == "2000-02-29T00:00:00.999Z");
  // Sub-millisecond parts are truncated, never rounded up into the next second.
  CHECK(FormatTimestamp(system_clock::time_point(std::chrono::microseconds(1795334400999999))) ==
        "2026-11-22T08:00:00.999Z");
  // Before the epoch the fraction still counts forward from the whole second.
  CHECK(FormatTimestamp(system_clock::time_point(milliseconds(-1))) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("a new event is stamped with the current time", "[audit_event]") {
  const auto before = system_clock::now();
  AuditEvent event;
  const auto after = system_clock::now();
  CHECK(event.time >= before);
  CHECK(event.time <= after);
}

}  // namespace
}  // namespace pgtenant::policy
