// AuditEvent: what one audit record says, and its JSON-lines form. No I/O (sinks: proxy/telemetry/audit_log.h).
//
// One event is one line of JSON (RFC 8259), keys in this order:
//   {"timestamp":"2026-11-22T08:00:00.123Z","type":"statement_blocked","tenant":"acme",
//    "tenant_id":"7c9e...","user":"alice","client_address":"10.0.0.7:51234","session_id":"...",
//    "compliance":{"regulations":["GDPR","LGPD"],"retention_days":365},
//    <fields as strings, in order>, <numbers as integers, in order>}
// The common keys are always present; unknown values are "" (and retention_days null), so a
// consumer never has to test for a missing key. The timestamp is RFC 3339 in UTC with milliseconds.
//
// What each event type carries (the proxy fills them; keys are the names in quotes):
//   connection_accepted    client_address, session_id. Tenant and user once known (after startup):
//                          emit it when authentication and tenant resolution succeeded. fields:
//                          "backend", "isolation" (rls|schema|database), "tls" ("true"|"false").
//   authentication_failed  user as given (never the password), client_address, session_id; tenant if
//                          it was resolved. fields: "method" (scram-sha-256|md5|trust), "sqlstate"
//                          (28P01 / 28000), "message" (the text the client got).
//   tenant_refused         user, client_address, session_id; tenant = the name asked for, if any
//                          (tenant_id "" when it names no tenant). fields: "reason" (no_tenant |
//                          unknown_tenant | not_a_member | over_limit | ...), "sqlstate", "message".
//   session_ended          all common keys. numbers: "duration_ms", "statements", "bytes_in",
//                          "bytes_out", "blocked". fields: "reason" (client_closed | idle_timeout |
//                          backend_failed | shutdown | protocol_error ...).
//   statement_blocked      all common keys. fields: "rule" (stable rule id), "reason" (the text after
//                          "blocked by rule <id>: "), "fingerprint" (pgtenant's, hex: statement_digest.h),
//                          "statement" (normalized: every literal replaced by $n, comments dropped;
//                          "" when that cannot be vouched for, the fingerprint alone naming it; see
//                          statement_digest.h), "protocol" ("simple"|"extended"|"function_call").
//                          Never the original SQL text, never a literal of it.
//   statement              (only with audit.statements: true) all common keys. fields: "fingerprint",
//                          "statement" (normalized, as above). Again no literals.
//   config_reloaded        tenant/user "" unless an admin user asked for it. fields: "source" (file),
//                          "result" ("ok"|"error"), "message" (the loader's error, if any). numbers:
//                          "tenants", "backends", "users".
//   admin_command          user, client_address, session_id of the admin connection. fields:
//                          "command" (e.g. "SHOW POOLS", normalized like statements), "result".
//
// REQUIRES of producers: `fields` and `numbers` keys are none of the common keys above and are unique;
// values never hold passwords, secrets or literal data values from SQL.
// Thread-safety: plain values; ToJsonLine is a pure function.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"

namespace pgtenant::policy {

enum class AuditEventType {
  kConnectionAccepted,
  kAuthenticationFailed,
  kTenantRefused,
  kSessionEnded,
  kStatementBlocked,
  kStatement,
  kConfigReloaded,
  kAdminCommand,
};

struct AuditEvent {
  AuditEventType type = AuditEventType::kStatement;
  std::chrono::system_clock::time_point time = std::chrono::system_clock::now();
  // Empty when unknown.
  std::string tenant;
  std::string tenant_id;
  std::string user;
  std::string client_address;  // "ip:port" (IPv6 as "[addr]:port"), or "unix"
  std::string session_id;
  // The tenant's compliance metadata from the config (tenants.NAME.compliance); empty when unknown.
  config::ComplianceConfig compliance;
  // Type-specific values; see the table above.
  std::vector<std::pair<std::string, std::string>> fields;
  std::vector<std::pair<std::string, int64_t>> numbers;
};

// Fills tenant, tenant_id and compliance from the tenant's config.
void SetTenant(AuditEvent& event, const config::TenantConfig& tenant);

// "connection_accepted", "authentication_failed", "tenant_refused", "session_ended",
// "statement_blocked", "statement", "config_reloaded", "admin_command".
std::string_view ToString(AuditEventType type);

// The event as one line of JSON, terminated by '\n'. Strings are escaped per RFC 8259 (quotes,
// backslash, every control character, U+2028/U+2029); bytes that are not valid UTF-8 become U+FFFD.
std::string ToJsonLine(const AuditEvent& event);

// "2026-11-22T08:00:00.123Z": RFC 3339, UTC, milliseconds (truncated).
std::string FormatTimestamp(std::chrono::system_clock::time_point time);

// Appends `text` to `out` as a quoted JSON string with the escaping described for ToJsonLine.
void AppendJsonString(std::string& out, std::string_view text);

}  // namespace pgtenant::policy
