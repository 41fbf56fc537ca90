// AuditEvent: JSON-lines serialization. Hand-written rather than a JSON library: the shape is fixed,
// and the escaping rules (invalid UTF-8 replaced, never passed through) are the part that matters.
#include "policy/audit_event.h"

#include <array>
#include <cstdio>
#include <ctime>

#include "protocol/enum_names.h"

namespace pgtenant::policy {

namespace {

constexpr std::array<EnumName<AuditEventType>, 8> kAuditEventTypeNames = {{
    {AuditEventType::kConnectionAccepted, "connection_accepted"},
    {AuditEventType::kAuthenticationFailed, "authentication_failed"},
    {AuditEventType::kTenantRefused, "tenant_refused"},
    {AuditEventType::kSessionEnded, "session_ended"},
    {AuditEventType::kStatementBlocked, "statement_blocked"},
    {AuditEventType::kStatement, "statement"},
    {AuditEventType::kConfigReloaded, "config_reloaded"},
    {AuditEventType::kAdminCommand, "admin_command"},
}};

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr std::string_view kReplacementCharacter = "\\ufffd";

void AppendUnicodeEscape(std::string& out, uint32_t code) {
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += kHexDigits[(code >> shift) & 0xf];
}

// Length of the well-formed UTF-8 sequence at the start of `text` (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF), or 0 if it is not one. Sets `code` to the code point.
size_t Utf8SequenceLength(std::string_view text, uint32_t& code) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  size_t length = 0;
  uint32_t min = 0;
  if (lead < 0x80) {
    code = lead;
    return 1;
  } else if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2, code = lead & 0x1f, min = 0x80;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3, code = lead & 0x0f, min = 0x800;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4, code = lead & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0) != 0x80) return 0;
    code = (code << 6) | (byte(i) & 0x3f);
  }
  if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return 0;
  return length;
}

// ,"key": — every member after the first.
void AppendKey(std::string& out, std::string_view key) {
  out += ',';
  AppendJsonString(out, key);
  out += ':';
}

void AppendStringMember(std::string& out, std::string_view key, std::string_view value) {
  AppendKey(out, key);
  AppendJsonString(out, value);
}

void AppendCompliance(std::string& out, const config::ComplianceConfig& compliance) {
  out += "{\"regulations\":[";
  for (size_t i = 0; i < compliance.regulations.size(); ++i) {
    if (i > 0) out += ',';
    AppendJsonString(out, compliance.regulations[i]);
  }
  out += "],\"retention_days\":";
  out += compliance.retention_days ? std::to_string(*compliance.retention_days) : "null";
  out += '}';
}

}  // namespace

void SetTenant(AuditEvent& event, const config::TenantConfig& tenant) {
  event.tenant = tenant.name;
  event.tenant_id = tenant.id;
  event.compliance = *tenant.compliance;
}

std::string_view ToString(AuditEventType type) { return NameOf(kAuditEventTypeNames, type); }

void AppendJsonString(std::string& out, std::string_view text) {
  out += '"';
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        default:
          if (c < 0x20 || c == 0x7f) {
            AppendUnicodeEscape(out, c);
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    uint32_t code = 0;
    const size_t length = Utf8SequenceLength(text.substr(i), code);
    if (length == 0) {
      out += kReplacementCharacter;  // one per invalid byte
      ++i;
    } else if (code == 0x2028 || code == 0x2029) {
      // Valid JSON, but line separators to JavaScript and some log shippers.
      AppendUnicodeEscape(out, code);
      i += length;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  out += '"';
}

std::string FormatTimestamp(std::chrono::system_clock::time_point time) {
  using std::chrono::milliseconds;
  const int64_t total_ms = std::chrono::floor<milliseconds>(time.time_since_epoch()).count();
  int64_t seconds = total_ms / 1000;
  int64_t millis = total_ms % 1000;
  if (millis < 0) millis += 1000, seconds -= 1;
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[96];  // room for any int fields, which gcc cannot rule out
  std::snprintf(buffer, sizeof(buffer), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  return buffer;
}

std::string ToJsonLine(const AuditEvent& event) {
  std::string out;
  out.reserve(256);
  out += "{\"timestamp\":\"";
  out += FormatTimestamp(event.time);
  out += "\",\"type\":";
  AppendJsonString(out, ToString(event.type));
  AppendStringMember(out, "tenant", event.tenant);
  AppendStringMember(out, "tenant_id", event.tenant_id);
  AppendStringMember(out, "user", event.user);
  AppendStringMember(out, "client_address", event.client_address);
  AppendStringMember(out, "session_id", event.session_id);
  AppendKey(out, "compliance");
  AppendCompliance(out, event.compliance);
  for (const auto& [key, value] : event.fields) AppendStringMember(out, key, value);
  for (const auto& [key, value] : event.numbers) {
    AppendKey(out, key);
    out += std::to_string(value);
  }
  out += "}\n";
  return out;
}

}  // namespace pgtenant::policy
