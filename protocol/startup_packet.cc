// Decoding of the startup packet; checks follow ProcessStartupPacket() in
// src/backend/tcop/backend_startup.c (formerly postmaster.c).
#include "protocol/startup_packet.h"

#include <algorithm>
#include <string_view>

#include "protocol/message_reader.h"
#include "protocol/sqlstate.h"

namespace pgtenant::protocol {
namespace {

constexpr size_t kMinStartupPacketLength = 8;  // length + code
constexpr size_t kSslRequestLength = 8;
constexpr size_t kCancelRequestLength = 16;

StartupDecode Invalid(std::string_view code, std::string message) {
  StartupDecode result;
  result.status = DecodeStatus::kInvalid;
  result.error = Status::Error(code, std::move(message));
  return result;
}

StartupDecode InvalidLayout(std::string message) {
  return Invalid(sqlstate::kProtocolViolation, "invalid startup packet layout: " + std::move(message));
}

}  // namespace

const std::string* StartupPacket::Find(std::string_view name) const {
  for (const auto& [key, value] : parameters) {
    if (key == name) return &value;
  }
  return nullptr;
}

StartupDecode DecodeStartupPacket(std::span<const uint8_t> data) {
  MessageReader header(data);
  int32_t raw_length = 0;
  if (!header.Int32(raw_length)) return StartupDecode();
  // A negative length read as int32 is just a huge one.
  const uint32_t length = static_cast<uint32_t>(raw_length);
  if (length < kMinStartupPacketLength || length > kMaxStartupPacketLength) {
    return Invalid(sqlstate::kProtocolViolation, "invalid length of startup packet");
  }
  if (data.size() < length) return StartupDecode();

  MessageReader reader(data.subspan(4, length - 4));
  int32_t code = 0;
  (void)reader.Int32(code);  // length >= 8 guarantees it is there

  StartupDecode result;
  result.consumed = length;
  if (code == kCancelRequestCode) {
    if (length != kCancelRequestLength) return Invalid(sqlstate::kProtocolViolation, "invalid length of cancel request");
    result.packet.kind = StartupKind::kCancelRequest;
    (void)reader.Int32(result.packet.cancel_pid);
    (void)reader.Int32(result.packet.cancel_key);
    result.status = DecodeStatus::kReady;
    return result;
  }
  if (code == kSslRequestCode || code == kGssEncRequestCode) {
    if (length != kSslRequestLength) {
      return Invalid(sqlstate::kProtocolViolation,
                     code == kSslRequestCode ? "invalid length of SSL request" : "invalid length of GSSENC request");
    }
    result.packet.kind = code == kSslRequestCode ? StartupKind::kSslRequest : StartupKind::kGssEncRequest;
    result.status = DecodeStatus::kReady;
    return result;
  }
  const uint32_t major = static_cast<uint32_t>(code) >> 16, minor = static_cast<uint32_t>(code) & 0xffff;
  if (major != 3) {
    return Invalid(sqlstate::kFeatureNotSupported, "unsupported frontend protocol " + std::to_string(major) + "." +
                                                       std::to_string(minor) + ": server supports 3.0");
  }
  result.packet.kind = StartupKind::kStartup;
  result.packet.protocol_version = code;

  // Name/value pairs, then a single NUL that must be the packet's last byte. Duplicates are found by
  // sorting views of the names afterwards: linear-logarithmic on a hostile 10 kB packet, and no hash
  // set to build for the usual handful.
  std::vector<std::string_view> names;
  result.packet.parameters.reserve(8);
  bool terminated = false;
  while (reader.remaining() > 0) {
    std::string_view name, value;
    if (!reader.CString(name)) return InvalidLayout("missing terminator after parameter name");
    if (name.empty()) {
      if (reader.remaining() != 0) return InvalidLayout("expected terminator as last byte");
      terminated = true;
      break;
    }
    if (!reader.CString(value)) return InvalidLayout("missing value for parameter \"" + std::string(name) + "\"");
    names.push_back(name);
    result.packet.parameters.emplace_back(std::string(name), std::string(value));
  }
  if (!terminated) return InvalidLayout("expected terminator as last byte");
  std::sort(names.begin(), names.end());
  if (auto dup = std::adjacent_find(names.begin(), names.end()); dup != names.end()) {
    return InvalidLayout("duplicate parameter \"" + std::string(*dup) + "\"");
  }

  const std::string* user = result.packet.Find("user");
  if (user == nullptr || user->empty()) {
    return Invalid(sqlstate::kInvalidAuthorizationSpecification, "no PostgreSQL user name specified in startup packet");
  }
  result.status = DecodeStatus::kReady;
  return result;
}

}  // namespace pgtenant::protocol
