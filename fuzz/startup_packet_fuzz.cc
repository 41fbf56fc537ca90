// Fuzz target: what a client sends first — the startup packet — then the frontend messages after it
// (framing with DecodeFrameHeader/DecodeMessage, and the fields of the messages the proxy inspects).
//
// Input: the raw client byte stream. Invariants checked (abort = finding): a decoder never reports
// more bytes consumed than it was given, a ready packet is NeedMoreData on every shorter prefix, and
// a ready message's body lies inside the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "protocol/frame_reader.h"
#include "protocol/message_reader.h"
#include "protocol/startup_packet.h"
#include "protocol/wire.h"

namespace {

using namespace pgtenant::protocol;

constexpr uint32_t kFuzzMaxQuerySize = 1 << 20;  // the proxy's default limits.max_query_size

void Check(bool condition) {
  if (!condition) abort();
}

// The fields the proxy reads from the frontend messages it buffers whole.
void InspectFrontendMessage(uint8_t tag, std::span<const uint8_t> body) {
  switch (static_cast<FrontendTag>(tag)) {
    case FrontendTag::kPassword: {
      (void)ParsePasswordMessage(body);
      auto initial = ParseSaslInitialResponse(body);
      if (initial.ok()) Check(initial->data.size() <= body.size());
      Check(ParseSaslResponse(body).size() == body.size());
      break;
    }
    case FrontendTag::kQuery: {
      MessageReader reader(body);
      std::string_view sql;
      if (reader.CString(sql)) Check(sql.size() < body.size());
      break;
    }
    case FrontendTag::kParse: {  // name, query, Int16 count, count x Int32 type oids
      MessageReader reader(body);
      std::string_view name, sql;
      int16_t count = 0;
      if (!reader.CString(name) || !reader.CString(sql) || !reader.Int16(count)) break;
      for (int i = 0; i < count; ++i) {
        int32_t oid = 0;
        if (!reader.Int32(oid)) break;
      }
      break;
    }
    default: {
      MessageReader reader(body);
      std::span<const uint8_t> bytes;
      size_t before = reader.remaining();
      if (reader.Bytes(before / 2, bytes)) Check(reader.remaining() == before - before / 2);
      size_t left = reader.remaining();
      Check(reader.Rest().size() == left && reader.AtEnd());
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> input(data, size);
  StartupDecode startup = DecodeStartupPacket(input);
  if (startup.status == DecodeStatus::kInvalid) {
    Check(!startup.error.ok());
    return 0;
  }
  if (startup.status == DecodeStatus::kNeedMoreData) {
    // Treat the whole input as a stream of typed messages instead (a session past its startup).
    startup.consumed = 0;
  } else {
    Check(startup.consumed >= 8 && startup.consumed <= size && startup.consumed <= kMaxStartupPacketLength);
    Check(DecodeStartupPacket(input.first(startup.consumed - 1)).status == DecodeStatus::kNeedMoreData);
    if (startup.packet.kind == StartupKind::kStartup) {
      const std::string* user = startup.packet.Find("user");
      Check(user != nullptr && !user->empty());
    }
  }

  std::span<const uint8_t> rest = input.subspan(startup.consumed);
  while (!rest.empty()) {
    FrameDecode header = DecodeFrameHeader(rest, kFuzzMaxQuerySize);
    MessageDecode message = DecodeMessage(rest, kFuzzMaxQuerySize);
    if (header.status == DecodeStatus::kInvalid) {
      Check(message.status == DecodeStatus::kInvalid);
      break;
    }
    if (message.status != DecodeStatus::kReady) break;
    Check(header.status == DecodeStatus::kReady && header.header.length == message.header.length);
    Check(message.consumed() <= rest.size() && message.body.size() == message.header.body_size());
    Check(message.body.data() == rest.data() + kHeaderSize);
    InspectFrontendMessage(message.header.tag, message.body);
    rest = rest.subspan(message.consumed());
  }
  return 0;
}
