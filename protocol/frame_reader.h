// Typed message framing: the 5-byte header (tag + int32 length) every message after the startup
// packet carries, in both directions (PostgreSQL docs, "Message Formats").
//
// The decoder only decides; it never copies or buffers. The caller owns the bytes and, from the
// header, chooses to forward `total()` bytes on, or to wait for the whole message and inspect it.
// All functions are pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "protocol/status.h"
#include "protocol/wire.h"

namespace pgtenant::protocol {

struct FrameHeader {
  uint8_t tag = 0;
  uint32_t length = 0;  // the length field: includes itself, excludes the tag. >= 4 once decoded.

  size_t total() const { return 1 + size_t(length); }  // bytes of the whole message on the wire
  size_t body_size() const { return length - 4; }      // bytes after the 5-byte header
};

// Outcomes of a decoder. kNeedMoreData is not an error: read more and call again with all the bytes.
enum class DecodeStatus { kNeedMoreData, kReady, kInvalid };

// The error of an invalid header, made when asked for: decoding stays free of strings.
Status FrameError(const FrameHeader& header, uint32_t limit);

struct FrameDecode {
  DecodeStatus status = DecodeStatus::kNeedMoreData;
  FrameHeader header;  // valid when kReady; when kInvalid, the tag and length that were refused
  uint32_t limit = 0;  // the length limit applied
  Status error() const { return status == DecodeStatus::kInvalid ? FrameError(header, limit) : Status(); }
};

// Decodes the header at the start of `data` (which may hold any part of the body and further
// messages after it; they are not looked at).
//   - fewer than kHeaderSize bytes: kNeedMoreData.
//   - length field < 4: kInvalid, 08P01 "invalid message length N for message type 'X'".
//   - length field > max_length: kInvalid, 08P01 "message of type 'X' is too large: N bytes, limit M".
//     (08P01 because the stream cannot be resynchronised without reading the oversize message; the
//     connection should be closed after reporting it.) max_length is clamped to kMaxMessageLength.
//   - otherwise kReady. kReady does NOT mean the body has arrived: see DecodeMessage.
// A non-printable tag is shown in messages as \xNN.
// Inline: it runs for every message in both directions.
inline FrameDecode DecodeFrameHeader(std::span<const uint8_t> data, uint32_t max_length) {
  FrameDecode result;
  if (data.size() < kHeaderSize) return result;
  const uint8_t* p = data.data();
  result.header.tag = p[0];
  result.header.length = (uint32_t(p[1]) << 24) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 8) | uint32_t(p[4]);
  result.limit = max_length < kMaxMessageLength ? max_length : kMaxMessageLength;
  result.status =
      result.header.length < 4 || result.header.length > result.limit ? DecodeStatus::kInvalid : DecodeStatus::kReady;
  return result;
}

// A whole message: header and a view of its body inside the caller's buffer.
struct MessageDecode {
  DecodeStatus status = DecodeStatus::kNeedMoreData;
  FrameHeader header;                // valid when kReady
  std::span<const uint8_t> body;     // valid when kReady; points into `data`, header.body_size() bytes
  uint32_t limit = 0;                // the length limit applied
  Status error() const { return status == DecodeStatus::kInvalid ? FrameError(header, limit) : Status(); }
  size_t consumed() const { return status == DecodeStatus::kReady ? header.total() : 0; }
};

// Like DecodeFrameHeader, but kReady only once the whole message (header.total() bytes) is in `data`.
// Use for the messages that are buffered and inspected (Query, Parse, authentication messages).
MessageDecode DecodeMessage(std::span<const uint8_t> data, uint32_t max_length);

}  // namespace pgtenant::protocol
