// Micro-benchmark: decoding backend frames (DecodeFrameHeader, DecodeMessage) over a buffer of
// typical DataRow messages, as the proxy sees a result set streaming from the server.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "protocol/frame_reader.h"
#include "protocol/message_builder.h"
#include "protocol/wire.h"

namespace pgtenant::protocol {
namespace {

// A pgbench_accounts-like row (aid, bid, abalance, filler) repeated `rows` times, framed.
std::string DataRows(int rows) {
  std::string out;
  const std::string filler(84, ' ');
  for (int i = 0; i < rows; ++i) {
    AppendDataRow(out, {std::to_string(100000 + i), std::to_string(1 + i % 10), std::to_string(i % 5000 - 2500),
                        filler});
  }
  return out;
}

// The forwarding path: read only headers and skip total() bytes on.
void BM_DecodeFrameHeader_DataRows(benchmark::State& state) {
  const std::string buffer = DataRows(static_cast<int>(state.range(0)));
  const auto* data = reinterpret_cast<const uint8_t*>(buffer.data());
  for (auto _ : state) {
    size_t pos = 0;
    size_t messages = 0;
    while (pos < buffer.size()) {
      FrameDecode decode = DecodeFrameHeader(std::span<const uint8_t>(data + pos, buffer.size() - pos),
                                             kMaxMessageLength);
      if (decode.status != DecodeStatus::kReady) break;
      pos += decode.header.total();
      ++messages;
    }
    benchmark::DoNotOptimize(messages);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(buffer.size()));
  state.SetItemsProcessed(int64_t(state.iterations()) * state.range(0));
}
BENCHMARK(BM_DecodeFrameHeader_DataRows)->Arg(1)->Arg(100)->Arg(10000);

// The inspecting path: whole messages with a view of the body.
void BM_DecodeMessage_DataRows(benchmark::State& state) {
  const std::string buffer = DataRows(static_cast<int>(state.range(0)));
  const auto* data = reinterpret_cast<const uint8_t*>(buffer.data());
  for (auto _ : state) {
    size_t pos = 0;
    size_t body_bytes = 0;
    while (pos < buffer.size()) {
      MessageDecode decode = DecodeMessage(std::span<const uint8_t>(data + pos, buffer.size() - pos),
                                           kMaxMessageLength);
      if (decode.status != DecodeStatus::kReady) break;
      body_bytes += decode.body.size();
      pos += decode.consumed();
    }
    benchmark::DoNotOptimize(body_bytes);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(buffer.size()));
  state.SetItemsProcessed(int64_t(state.iterations()) * state.range(0));
}
BENCHMARK(BM_DecodeMessage_DataRows)->Arg(1)->Arg(100)->Arg(10000);

// A message split across reads: the header arrives first, then the body (kNeedMoreData, then kReady).
void BM_DecodeMessage_Partial(benchmark::State& state) {
  const std::string buffer = DataRows(1);
  const auto* data = reinterpret_cast<const uint8_t*>(buffer.data());
  for (auto _ : state) {
    MessageDecode partial = DecodeMessage(std::span<const uint8_t>(data, kHeaderSize + 3), kMaxMessageLength);
    MessageDecode whole = DecodeMessage(std::span<const uint8_t>(data, buffer.size()), kMaxMessageLength);
    benchmark::DoNotOptimize(partial.status);
    benchmark::DoNotOptimize(whole.body.size());
  }
}
BENCHMARK(BM_DecodeMessage_Partial);

}  // namespace
}  // namespace pgtenant::protocol

BENCHMARK_MAIN();
