// The untyped first packet a client sends: StartupMessage, SSLRequest, GSSENCRequest or
// CancelRequest (PostgreSQL docs, "Message Formats" and "Start-up").
//
// Decoding is pure and thread-safe; the packet owns copies of its strings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/frame_reader.h"
#include "protocol/status.h"
#include "protocol/wire.h"

namespace pgtenant::protocol {

enum class StartupKind { kStartup, kSslRequest, kGssEncRequest, kCancelRequest };

struct StartupPacket {
  StartupKind kind = StartupKind::kStartup;
  int32_t protocol_version = 0;                                 // kStartup: e.g. 196608 (3.0)
  std::vector<std::pair<std::string, std::string>> parameters;  // kStartup, in the order sent; names unique
  int32_t cancel_pid = 0, cancel_key = 0;                       // kCancelRequest

  // The value of parameter `name` (case-sensitive, as PostgreSQL), or nullptr if absent.
  // The pointer is valid while the packet is alive and `parameters` is not modified.
  const std::string* Find(std::string_view name) const;

  int protocol_major() const { return protocol_version >> 16; }
  int protocol_minor() const { return protocol_version & 0xffff; }
};

struct StartupDecode {
  DecodeStatus status = DecodeStatus::kNeedMoreData;
  size_t consumed = 0;   // kReady: bytes of this packet (its length field); 0 otherwise
  StartupPacket packet;  // valid when kReady
  Status error;          // set when kInvalid
};

// Decodes the packet at the start of `data` (bytes after it are not looked at).
//   - fewer than 4 bytes, or fewer than the length field says: kNeedMoreData.
//   - length < 8 or > kMaxStartupPacketLength: kInvalid 08P01 "invalid length of startup packet".
//   - SSLRequest / GSSENCRequest must be exactly 8 bytes, CancelRequest exactly 16: else kInvalid 08P01.
//   - protocol major 3, any minor: kStartup; the minor is reported (the proxy answers minors > 0 with
//     NegotiateProtocolVersion, and "_pq_." parameters are returned like any other).
//   - any other code: kInvalid 0A000 "unsupported frontend protocol M.m: server supports 3.0".
//   - parameters are NUL-terminated name/value pairs ending with an empty name as the packet's last byte.
//     A missing terminator, a name or value without its NUL, an empty name before the end, or a
//     duplicate name: kInvalid 08P01.
//   - "user" absent or empty: kInvalid 28000 "no PostgreSQL user name specified in startup packet".
StartupDecode DecodeStartupPacket(std::span<const uint8_t> data);

}  // namespace pgtenant::protocol
