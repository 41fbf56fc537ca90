// Specification of Base64Encode / Base64Decode and the base64url pair (RFC 4648 test vectors, strict
// decoding).
#include "protocol/base64.h"

#include <catch2/catch.hpp>

namespace pgtenant::protocol {
namespace {

TEST_CASE("Base64Encode matches the RFC 4648 test vectors", "[base64]") {
  CHECK(Base64Encode(std::string_view("")) == "");
  CHECK(Base64Encode(std::string_view("f")) == "Zg==");
  CHECK(Base64Encode(std::string_view("fo")) == "Zm8=");
  CHECK(Base64Encode(std::string_view("foo")) == "Zm9v");
  CHECK(Base64Encode(std::string_view("foob")) == "Zm9vYg==");
  CHECK(Base64Encode(std::string_view("fooba")) == "Zm9vYmE=");
  CHECK(Base64Encode(std::string_view("foobar")) == "Zm9vYmFy");
}

// Every prefix of the 256 byte values, empty to whole, decodes to what was encoded.
template <typename Encode, typename Decode>
void CheckRoundTrips(Encode encode, Decode decode) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t n = 0; n <= all.size(); n += 1) {
    const std::string data = all.substr(0, n);
    Result<std::string> decoded = decode(encode(data));
    REQUIRE(decoded.ok());
    CHECK(*decoded == data);
  }
}

TEST_CASE("Base64Decode inverts Base64Encode for every byte value and length", "[base64]") {
  CheckRoundTrips([](std::string_view data) { return Base64Encode(data); }, Base64Decode);
}

TEST_CASE("Base64Decode rejects what is not strict base64", "[base64]") {
  for (std::string_view bad : {"Zg", "Zg=", "Zm9v=", "Z===", "====", "Zg==Zg==", "Zm 9v", "Zm9v\n", "Zm9-", "Zm=v"}) {
    INFO(bad);
    Result<std::string> decoded = Base64Decode(bad);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.status().sqlstate() == "08P01");
  }
}

TEST_CASE("Base64UrlEncode uses - and _ and no padding; Base64UrlDecode inverts it", "[base64]") {
  CHECK(Base64UrlEncode("\xfb\xff") == "-_8");
  CHECK(Base64UrlEncode("f") == "Zg");
  CHECK(Base64UrlEncode("fo") == "Zm8");
  CHECK(Base64UrlEncode("foobar") == "Zm9vYmFy");
  CheckRoundTrips(Base64UrlEncode, Base64UrlDecode);
}

TEST_CASE("Base64UrlDecode rejects the standard alphabet, padding and impossible lengths", "[base64]") {
  for (std::string_view bad : {"+/8", "Zg==", "Zg=", "Z", "Zm9vY", "Zm 9v", "Zm9v\n"}) {
    INFO(bad);
    Result<std::string> decoded = Base64UrlDecode(bad);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.status().sqlstate() == "08P01");
  }
}

}  // namespace
}  // namespace pgtenant::protocol
