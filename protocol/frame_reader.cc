// Decoding of the typed message header (PostgreSQL docs, "Message Formats"; the length checks
// mirror pq_getmessage() in src/backend/libpq/pqcomm.c).
#include "protocol/frame_reader.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>

#include "protocol/sqlstate.h"

namespace pgtenant::protocol {
namespace {

std::string TagName(uint8_t tag) {
  if (tag >= 0x20 && tag < 0x7f) return std::string(1, static_cast<char>(tag));
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", tag);
  return buf;
}

uint32_t ReadUint32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

}  // namespace

FrameDecode DecodeFrameHeader(std::span<const uint8_t> data, uint32_t max_length) {
  FrameDecode result;
  if (data.size() < kHeaderSize) return result;
  const uint8_t tag = data[0];
  const uint32_t length = ReadUint32(data.data() + 1);
  const uint32_t limit = std::min(max_length, kMaxMessageLength);
  if (length < 4) {
    result.status = DecodeStatus::kInvalid;
    result.error = Status::Error(sqlstate::kProtocolViolation, "invalid message length " + std::to_string(length) +
                                                                   " for message type '" + TagName(tag) + "'");
    return result;
  }
  if (length > limit) {
    result.status = DecodeStatus::kInvalid;
    result.error = Status::Error(sqlstate::kProtocolViolation, "message of type '" + TagName(tag) +
                                                                   "' is too large: " + std::to_string(length) +
                                                                   " bytes, limit " + std::to_string(limit));
    return result;
  }
  result.status = DecodeStatus::kReady;
  result.header.tag = tag;
  result.header.length = length;
  return result;
}

MessageDecode DecodeMessage(std::span<const uint8_t> data, uint32_t max_length) {
  MessageDecode result;
  FrameDecode frame = DecodeFrameHeader(data, max_length);
  if (frame.status == DecodeStatus::kInvalid) {
    result.status = DecodeStatus::kInvalid;
    result.error = std::move(frame.error);
    return result;
  }
  if (frame.status == DecodeStatus::kNeedMoreData || data.size() < frame.header.total()) return result;
  result.status = DecodeStatus::kReady;
  result.header = frame.header;
  result.body = data.subspan(kHeaderSize, frame.header.body_size());
  return result;
}

}  // namespace pgtenant::protocol
