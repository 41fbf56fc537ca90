// JsonTree: the strict JSON reader under the policy engine.
#include "policy/json_tree.h"

#include <catch2/catch.hpp>
#include <string>

namespace pgtenant::policy {
namespace {

TEST_CASE("JSON values of every kind are read", "[policy][json]") {
  auto value = ParseJson(R"( {"a": [1, -2.5e3, true, false, null], "b": {"c": "d"}, "e": {}} )");
  REQUIRE(value.ok());
  REQUIRE(value->is_object());
  const JsonValue* a = value->Find("a");
  REQUIRE(a != nullptr);
  REQUIRE(a->items().size() == 5);
  CHECK(a->items()[0].AsInt() == 1);
  CHECK(a->items()[1].text() == "-2.5e3");
  CHECK_FALSE(a->items()[1].AsInt().has_value());
  CHECK(a->items()[2].boolean());
  CHECK_FALSE(a->items()[3].boolean());
  CHECK(a->items()[4].is_null());
  CHECK(value->Find("b")->Find("c")->text() == "d");
  CHECK(value->Find("e")->members().empty());
  CHECK(value->Find("missing") == nullptr);
}

TEST_CASE("string escapes are decoded, including surrogate pairs", "[policy][json]") {
  auto value = ParseJson(R"(["\"\\\/\b\f\n\r\t", "\u003e\u00e9\u20ac", "\ud83d\ude00", "raw é"])");
  REQUIRE(value.ok());
  CHECK(value->items()[0].text() == "\"\\/\b\f\n\r\t");
  CHECK(value->items()[1].text() == ">\xC3\xA9\xE2\x82\xAC");
  CHECK(value->items()[2].text() == "\xF0\x9F\x98\x80");
  CHECK(value->items()[3].text() == "raw \xC3\xA9");
}

TEST_CASE("malformed JSON is refused", "[policy][json]") {
  for (const char* text : {"", "{", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "01", "1.", "-", "\"abc", "\"\\x\"",
                           "\"\\ud800\"", "\"\\udc00\"", "\"a\nb\"", "tru", "[1] 2", "{1: 2}", "\"\\u12G4\""}) {
    INFO(text);
    CHECK_FALSE(ParseJson(text).ok());
  }
}

TEST_CASE("nesting beyond the limit is refused", "[policy][json]") {
  std::string deep(50, '[');
  deep += std::string(50, ']');
  CHECK(ParseJson(deep, 50).ok());
  CHECK_FALSE(ParseJson(deep, 49).ok());
  std::string very_deep(100000, '[');
  very_deep += std::string(100000, ']');
  CHECK_FALSE(ParseJson(very_deep).ok());
}

}  // namespace
}  // namespace pgtenant::policy
