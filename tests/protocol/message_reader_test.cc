// Specification of MessageReader and the Parse* functions: whole bodies, every truncation, trailing
// bytes, and invalid values. Every parse error is 08P01.
#include "protocol/message_reader.h"

#include <catch2/catch.hpp>

#include <functional>
#include <iostream>
#include <random>
#include <string>

#include "protocol/frame_reader.h"

namespace pgtenant::protocol {
namespace {

using namespace std::string_literals;

std::span<const uint8_t> AsBytes(const std::string& s) {
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// Feeds every strict prefix of `body`, and `body` with a byte glued after it, to `parse`, which
// returns its Status: each must be an 08P01 error, never a (wrong) success.
void RequireStrict(const std::string& body, const std::function<Status(std::span<const uint8_t>)>& parse) {
  REQUIRE(parse(AsBytes(body)).ok());
  for (size_t n = 0; n < body.size(); ++n) {
    INFO("prefix " << n << " of " << body.size());
    const std::string prefix = body.substr(0, n);
    Status s = parse(AsBytes(prefix));
    REQUIRE_FALSE(s.ok());
    CHECK(s.sqlstate() == "08P01");
  }
  const std::string glued = body + "Z"s;
  Status s = parse(AsBytes(glued));
  REQUIRE_FALSE(s.ok());
  CHECK(s.sqlstate() == "08P01");
}

TEST_CASE("MessageReader reads big-endian fields in order", "[reader]") {
  const std::string body = "\x7f\x80\x01\xff\xff\xff\xfe" "abc\0" "xy"s;
  MessageReader r(AsBytes(body));
  uint8_t i8 = 0;
  int16_t i16 = 0;
  int32_t i32 = 0;
  std::string_view s;
  std::span<const uint8_t> bytes;
  REQUIRE(r.Int8(i8));
  REQUIRE(r.Int16(i16));
  REQUIRE(r.Int32(i32));
  REQUIRE(r.CString(s));
  CHECK(i8 == 0x7f);
  CHECK(i16 == -32767);
  CHECK(i32 == -2);
  CHECK(s == "abc");
  CHECK(r.remaining() == 2);
  REQUIRE(r.Bytes(2, bytes));
  CHECK(std::string(bytes.begin(), bytes.end()) == "xy");
  CHECK(r.AtEnd());
}

TEST_CASE("MessageReader reads nothing past the end", "[reader]") {
  const std::string body = "\x01\x02\x03" "ab"s;
  MessageReader r(AsBytes(body));
  int32_t i32 = 7;
  std::string_view s = "unchanged";
  std::span<const uint8_t> bytes;
  CHECK_FALSE(r.Bytes(6, bytes));
  CHECK(r.remaining() == 5);
  int16_t i16 = 0;
  REQUIRE(r.Int16(i16));
  CHECK_FALSE(r.Int32(i32));  // 3 bytes left
  CHECK(i32 == 7);
  CHECK(r.remaining() == 3);
  CHECK_FALSE(r.CString(s));  // no NUL
  CHECK(s == "unchanged");
  CHECK(r.remaining() == 3);
  CHECK(r.Rest().size() == 3);
  CHECK(r.AtEnd());
  uint8_t i8 = 0;
  CHECK_FALSE(r.Int8(i8));
  CHECK_FALSE(r.CString(s));
  CHECK(r.Rest().empty());
}

TEST_CASE("MessageReader on an empty body fails every read", "[reader]") {
  MessageReader r(std::span<const uint8_t>{});
  std::string_view s;
  uint8_t i8 = 0;
  std::span<const uint8_t> bytes;
  CHECK_FALSE(r.CString(s));
  CHECK_FALSE(r.Int8(i8));
  CHECK(r.Bytes(0, bytes));
  CHECK(r.remaining() == 0);
}

TEST_CASE("ParseErrorResponse takes severity from V, else S, and skips other fields", "[reader]") {
  const std::string body = "SERREUR\0VERROR\0C42P01\0Mrelation does not exist\0P15\0Fparse.c\0\0"s;
  Result<ErrorFields> e = ParseErrorResponse(AsBytes(body));
  REQUIRE(e.ok());
  CHECK(e->severity == "ERROR");
  CHECK(e->sqlstate == "42P01");
  CHECK(e->message == "relation does not exist");
  CHECK(e->detail.empty());

  Result<ErrorFields> old = ParseErrorResponse(AsBytes("SFATAL\0C57P01\0Mbye\0\0"s));
  REQUIRE(old.ok());
  CHECK(old->severity == "FATAL");

  RequireStrict(body, [](auto b) { return ParseErrorResponse(b).status(); });
}

TEST_CASE("ParseAuthentication checks each request's layout", "[reader]") {
  RequireStrict("\0\0\0\0"s, [](auto b) { return ParseAuthentication(b).status(); });
  RequireStrict("\0\0\0\x03"s, [](auto b) { return ParseAuthentication(b).status(); });
  RequireStrict("\0\0\0\x05\x01\x02\x03\x04"s, [](auto b) { return ParseAuthentication(b).status(); });
  Result<AuthenticationMessage> sasl = ParseAuthentication(AsBytes("\0\0\0\x0aSCRAM-SHA-256\0\0"s));
  REQUIRE(sasl.ok());
  CHECK(sasl->request == AuthRequest::kSasl);
  CHECK(sasl->data.size() == 15);
}

TEST_CASE("ParseAuthentication refuses methods pgtenant does not implement", "[reader]") {
  for (char code : {'\x02', '\x06', '\x07', '\x08', '\x09', '\x0d'}) {
    Result<AuthenticationMessage> m = ParseAuthentication(AsBytes("\0\0\0"s + code));
    REQUIRE_FALSE(m.ok());
    CHECK(m.status().sqlstate() == "08P01");
    CHECK_THAT(m.status().message(), Catch::Contains("unsupported authentication request code"));
  }
}

TEST_CASE("ParseSaslMechanisms reads the list up to its empty terminator", "[reader]") {
  const std::string list = "SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0"s;
  Result<std::vector<std::string>> m = ParseSaslMechanisms(AsBytes(list));
  REQUIRE(m.ok());
  CHECK(*m == std::vector<std::string>{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"});
  RequireStrict(list, [](auto b) { return ParseSaslMechanisms(b).status(); });
  CHECK_FALSE(ParseSaslMechanisms(AsBytes("\0"s)).ok());  // no mechanism at all
}

TEST_CASE("ParseParameterStatus, ParseBackendKeyData and ParseReadyForQuery are exact", "[reader]") {
  RequireStrict("TimeZone\0UTC\0"s, [](auto b) { return ParseParameterStatus(b).status(); });
  RequireStrict("\0\0\0\x01\0\0\0\x02"s, [](auto b) { return ParseBackendKeyData(b).status(); });
  RequireStrict("I"s, [](auto b) { return ParseReadyForQuery(b).status(); });
  Result<TransactionStatus> bad = ParseReadyForQuery(AsBytes("X"s));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().sqlstate() == "08P01");
}

TEST_CASE("ParsePasswordMessage is one String filling the body", "[reader]") {
  RequireStrict("hunter2\0"s, [](auto b) { return ParsePasswordMessage(b).status(); });
  Result<std::string> empty = ParsePasswordMessage(AsBytes("\0"s));
  REQUIRE(empty.ok());
  CHECK(empty->empty());
}

TEST_CASE("ParseSaslInitialResponse reads mechanism and length-prefixed data", "[reader]") {
  const std::string body = "SCRAM-SHA-256\0\0\0\0\x0bn,,n=,r=abc"s;
  Result<SaslInitialResponse> r = ParseSaslInitialResponse(AsBytes(body));
  REQUIRE(r.ok());
  CHECK(r->mechanism == "SCRAM-SHA-256");
  CHECK(r->data == "n,,n=,r=abc");
  RequireStrict(body, [](auto b) { return ParseSaslInitialResponse(b).status(); });
}

TEST_CASE("ParseSaslInitialResponse treats length -1 as no data and refuses other negatives", "[reader]") {
  Result<SaslInitialResponse> none = ParseSaslInitialResponse(AsBytes("SCRAM-SHA-256\0\xff\xff\xff\xff"s));
  REQUIRE(none.ok());
  CHECK(none->data.empty());
  Result<SaslInitialResponse> negative = ParseSaslInitialResponse(AsBytes("SCRAM-SHA-256\0\xff\xff\xff\xfe"s));
  REQUIRE_FALSE(negative.ok());
  CHECK(negative.status().sqlstate() == "08P01");
  Result<SaslInitialResponse> huge = ParseSaslInitialResponse(AsBytes("SCRAM-SHA-256\0\x7f\xff\xff\xff"s));
  REQUIRE_FALSE(huge.ok());
  CHECK(huge.status().sqlstate() == "08P01");
}

TEST_CASE("Random bytes never crash a parser, and every error is 08P01", "[reader][random]") {
  const uint32_t seed = std::random_device{}();
  std::cout << "message_reader_test random seed: " << seed << "\n";
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  const std::function<Status(std::span<const uint8_t>)> parsers[] = {
      [](auto b) { return ParseErrorResponse(b).status(); },
      [](auto b) { return ParseAuthentication(b).status(); },
      [](auto b) { return ParseSaslMechanisms(b).status(); },
      [](auto b) { return ParseParameterStatus(b).status(); },
      [](auto b) { return ParseBackendKeyData(b).status(); },
      [](auto b) { return ParseReadyForQuery(b).status(); },
      [](auto b) { return ParsePasswordMessage(b).status(); },
      [](auto b) { return ParseSaslInitialResponse(b).status(); },
      [](auto b) { return DecodeMessage(b, 64).error(); },
  };
  for (int iteration = 0; iteration < 3000; ++iteration) {
    std::string body(rng() % 24, '\0');
    // Mostly small bytes, so NULs, valid codes and short lengths come up often.
    for (char& c : body) c = static_cast<char>(rng() % 4 == 0 ? rng() % 256 : rng() % 16);
    for (const auto& parse : parsers) {
      Status s = parse(AsBytes(body));
      if (!s.ok()) CHECK(s.sqlstate() == "08P01");
    }
  }
}

}  // namespace
}  // namespace pgtenant::protocol
