// Fuzz target: what a PostgreSQL server sends — typed messages framed by DecodeFrameHeader, and every
// Parse* of protocol/message_reader.h applied to each body (whatever its tag, since a hostile or
// broken server decides the bytes).
//
// Input: the raw server byte stream. Invariants: a ready message lies inside the input; parsed
// values stay inside their body.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "protocol/frame_reader.h"
#include "protocol/message_reader.h"
#include "protocol/wire.h"

namespace {

using namespace pgtenant::protocol;

void Check(bool condition) {
  if (!condition) abort();
}

void ParseEveryWay(std::span<const uint8_t> body) {
  (void)ParseErrorResponse(body);
  auto auth = ParseAuthentication(body);
  if (auth.ok()) {
    Check(auth->data.size() <= body.size());
    (void)ParseSaslMechanisms(auth->data);
  }
  (void)ParseSaslMechanisms(body);
  (void)ParseParameterStatus(body);
  (void)ParseBackendKeyData(body);
  auto status = ParseReadyForQuery(body);
  if (status.ok()) Check(body.size() == 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> rest(data, size);
  while (!rest.empty()) {
    FrameDecode header = DecodeFrameHeader(rest, kMaxMessageLength);
    if (header.status != DecodeStatus::kReady) break;
    Check(header.header.length >= 4);
    MessageDecode message = DecodeMessage(rest, kMaxMessageLength);
    if (message.status != DecodeStatus::kReady) {
      Check(message.status == DecodeStatus::kNeedMoreData && header.header.total() > rest.size());
      break;
    }
    Check(message.consumed() <= rest.size() && message.body.size() == message.header.body_size());
    ParseEveryWay(message.body);
    rest = rest.subspan(message.consumed());
  }
  // The input taken as one body too, so short inputs reach the parsers directly.
  ParseEveryWay(std::span<const uint8_t>(data, size));
  return 0;
}
