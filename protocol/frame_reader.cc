// Decoding of the typed message header (PostgreSQL docs, "Message Formats"; the length checks
// mirror pq_getmessage() in src/backend/libpq/pqcomm.c).
#include "protocol/frame_reader.h"

#include <cstdio>
#include <string>

#include "protocol/sqlstate.h"

namespace pgtenant::protocol {
namespace {

std::string TagName(uint8_t tag) {
  if (tag >= 0x20 && tag < 0x7f) return std::string(1, static_cast<char>(tag));
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", tag);
  return buf;
}

}  // namespace

Status FrameError(const FrameHeader& header, uint32_t limit) {
  if (header.length < 4)
    return Status::Error(sqlstate::kProtocolViolation, "invalid message length " + std::to_string(header.length) +
                                                           " for message type '" + TagName(header.tag) + "'");
  return Status::Error(sqlstate::kProtocolViolation, "message of type '" + TagName(header.tag) + "' is too large: " +
                                                         std::to_string(header.length) + " bytes, limit " +
                                                         std::to_string(limit));
}

MessageDecode DecodeMessage(std::span<const uint8_t> data, uint32_t max_length) {
  MessageDecode result;
  const FrameDecode frame = DecodeFrameHeader(data, max_length);
  result.header = frame.header;
  result.limit = frame.limit;
  if (frame.status == DecodeStatus::kInvalid) {
    result.status = DecodeStatus::kInvalid;
    return result;
  }
  if (frame.status == DecodeStatus::kNeedMoreData || data.size() < frame.header.total()) return result;
  result.status = DecodeStatus::kReady;
  result.body = data.subspan(kHeaderSize, frame.header.body_size());
  return result;
}

}  // namespace pgtenant::protocol
