// Specification of DecodeFrameHeader and DecodeMessage: whole, split at every byte, glued, invalid.
#include "protocol/frame_reader.h"

#include <catch2/catch.hpp>

#include <string>

#include "protocol/message_builder.h"

namespace pgtenant::protocol {
namespace {

std::span<const uint8_t> AsBytes(const std::string& s) {
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::string Header(char tag, uint32_t length) {
  std::string s(1, tag);
  s += static_cast<char>(length >> 24);
  s += static_cast<char>((length >> 16) & 0xff);
  s += static_cast<char>((length >> 8) & 0xff);
  s += static_cast<char>(length & 0xff);
  return s;
}

TEST_CASE("DecodeFrameHeader reads tag and length of a whole message", "[frame]") {
  std::string query;
  AppendQuery(query, "SELECT 1");  // 'Q', length 4 + 9
  FrameDecode d = DecodeFrameHeader(AsBytes(query), kMaxMessageLength);
  REQUIRE(d.status == DecodeStatus::kReady);
  CHECK(d.header.tag == 'Q');
  CHECK(d.header.length == 13);
  CHECK(d.header.total() == query.size());
  CHECK(d.header.body_size() == 9);
}

TEST_CASE("DecodeFrameHeader needs the five header bytes and nothing more", "[frame]") {
  std::string query;
  AppendQuery(query, "SELECT 1");
  for (size_t n = 0; n < query.size(); ++n) {
    INFO("prefix " << n);
    FrameDecode d = DecodeFrameHeader(AsBytes(query.substr(0, n)), kMaxMessageLength);
    if (n < kHeaderSize) {
      CHECK(d.status == DecodeStatus::kNeedMoreData);
    } else {
      REQUIRE(d.status == DecodeStatus::kReady);
      CHECK(d.header.total() == query.size());
    }
  }
}

TEST_CASE("DecodeMessage is ready only once the whole message is there, at every split", "[frame]") {
  std::string query;
  AppendQuery(query, "SELECT 1");
  for (size_t n = 0; n < query.size(); ++n) {
    INFO("prefix " << n);
    MessageDecode d = DecodeMessage(AsBytes(query.substr(0, n)), kMaxMessageLength);
    CHECK(d.status == DecodeStatus::kNeedMoreData);
    CHECK(d.consumed() == 0);
  }
  MessageDecode d = DecodeMessage(AsBytes(query), kMaxMessageLength);
  REQUIRE(d.status == DecodeStatus::kReady);
  CHECK(std::string(d.body.begin(), d.body.end()) == std::string("SELECT 1\0", 9));
}

TEST_CASE("DecodeMessage of glued messages consumes exactly one message at a time", "[frame]") {
  std::string stream;
  AppendQuery(stream, "SELECT 1");
  AppendSync(stream);
  AppendTerminate(stream);
  std::vector<uint8_t> tags;
  size_t offset = 0;
  while (offset < stream.size()) {
    MessageDecode d = DecodeMessage(AsBytes(stream).subspan(offset), kMaxMessageLength);
    REQUIRE(d.status == DecodeStatus::kReady);
    tags.push_back(d.header.tag);
    offset += d.consumed();
  }
  CHECK(offset == stream.size());
  CHECK(tags == std::vector<uint8_t>{'Q', 'S', 'X'});
}

TEST_CASE("A message with an empty body is length 4", "[frame]") {
  std::string sync;
  AppendSync(sync);
  MessageDecode d = DecodeMessage(AsBytes(sync), kMaxMessageLength);
  REQUIRE(d.status == DecodeStatus::kReady);
  CHECK(d.header.length == 4);
  CHECK(d.body.empty());
  CHECK(d.consumed() == 5);
}

TEST_CASE("A length below 4 is a protocol violation", "[frame]") {
  for (uint32_t length : {0u, 1u, 3u}) {
    FrameDecode d = DecodeFrameHeader(AsBytes(Header('Q', length)), kMaxMessageLength);
    REQUIRE(d.status == DecodeStatus::kInvalid);
    CHECK(d.error().sqlstate() == "08P01");
    CHECK(d.error().message() == "invalid message length " + std::to_string(length) + " for message type 'Q'");
  }
  MessageDecode m = DecodeMessage(AsBytes(Header('Q', 2)), kMaxMessageLength);
  CHECK(m.status == DecodeStatus::kInvalid);
  CHECK(m.error().sqlstate() == "08P01");
}

TEST_CASE("A length above the caller's limit is refused before the body arrives", "[frame]") {
  FrameDecode d = DecodeFrameHeader(AsBytes(Header('P', 1025)), 1024);
  REQUIRE(d.status == DecodeStatus::kInvalid);
  CHECK(d.error().sqlstate() == "08P01");
  CHECK(d.error().message() == "message of type 'P' is too large: 1025 bytes, limit 1024");
  CHECK(DecodeFrameHeader(AsBytes(Header('P', 1024)), 1024).status == DecodeStatus::kReady);
}

TEST_CASE("The limit never exceeds PostgreSQL's own 1 GB cap", "[frame]") {
  FrameDecode d = DecodeFrameHeader(AsBytes(Header('d', 0x40000000)), 0xffffffff);
  REQUIRE(d.status == DecodeStatus::kInvalid);
  CHECK(d.error().message() == "message of type 'd' is too large: 1073741824 bytes, limit 1073741823");
  FrameDecode negative = DecodeFrameHeader(AsBytes(Header('d', 0xffffffff)), 0xffffffff);
  CHECK(negative.status == DecodeStatus::kInvalid);
}

TEST_CASE("A non-printable tag is shown escaped", "[frame]") {
  FrameDecode d = DecodeFrameHeader(AsBytes(Header('\x01', 0)), kMaxMessageLength);
  REQUIRE(d.status == DecodeStatus::kInvalid);
  CHECK(d.error().message() == "invalid message length 0 for message type '\\x01'");
}

}  // namespace
}  // namespace pgtenant::protocol
