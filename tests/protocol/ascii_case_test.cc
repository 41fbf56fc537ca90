// Specification of the ASCII case folding: letters only, never bytes outside ASCII.
#include "protocol/ascii_case.h"

#include <catch2/catch.hpp>

namespace pgtenant::protocol {
namespace {

TEST_CASE("ASCII letters fold; digits, punctuation and non-ASCII bytes do not", "[ascii]") {
  CHECK(AsciiLower("Search_Path-9") == "search_path-9");
  CHECK(AsciiUpper("show clients") == "SHOW CLIENTS");
  CHECK(AsciiLower("\xc3\x84") == "\xc3\x84");  // 'Ä' in UTF-8 stays as it is
  CHECK(AsciiLower('@') == '@');
  CHECK(AsciiLower('[') == '[');
}

TEST_CASE("case-insensitive comparisons compare whole names, prefixes and suffixes", "[ascii]") {
  CHECK(EqualsIgnoreCase("TimeZone", "timezone"));
  CHECK_FALSE(EqualsIgnoreCase("timezone", "timezones"));
  CHECK_FALSE(EqualsIgnoreCase("a@", "a`"));  // '@' and '`' are 0x20 apart but are not letters
  CHECK(StartsWithIgnoreCase("PG_TEMP_3", "pg_temp"));
  CHECK_FALSE(StartsWithIgnoreCase("pg", "pg_temp"));
  CHECK(EndsWithIgnoreCase("acme.DB.Example.com", ".db.example.com"));
  CHECK_FALSE(EndsWithIgnoreCase("com", ".db.example.com"));
}

}  // namespace
}  // namespace pgtenant::protocol
