// Value parsers: the text forms a config file may use for numbers, durations, sizes, ids and hashes.
#include "config/value_parsers.h"

#include <catch2/catch.hpp>

namespace pgtenant::config {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST_CASE("an integer is plain decimal with an optional minus", "[value_parsers]") {
  CHECK(*ParseInteger("6432") == 6432);
  CHECK(*ParseInteger("-1") == -1);
  CHECK(*ParseInteger("007") == 7);
  for (const char* bad : {"", "-", "+5", " 5", "5 ", "0x10", "1e3", "1.0", "12abc"}) {
    INFO(bad);
    CHECK_FALSE(ParseInteger(bad).ok());
  }
  CHECK(ParseInteger("99999999999999999999").status().message() == "integer out of range: 99999999999999999999");
}

TEST_CASE("a duration is seconds when bare, else a number with ms, s, m or h", "[value_parsers]") {
  CHECK(*ParseDuration("0") == milliseconds(0));
  CHECK(*ParseDuration("30") == seconds(30));
  CHECK(*ParseDuration("250ms") == milliseconds(250));
  CHECK(*ParseDuration("5s") == seconds(5));
  CHECK(*ParseDuration("2m") == minutes(2));
  CHECK(*ParseDuration("1h") == hours(1));
  CHECK(*ParseDuration("8760h") == kMaxDuration);
}

TEST_CASE("a duration rejects fractions, signs, spaces, unknown units and more than a year", "[value_parsers]") {
  for (const char* bad : {"", "s", "-1", "+1s", "1.5s", "5 s", "5S", "5sec", "1d", "ms5"}) {
    INFO(bad);
    CHECK_FALSE(ParseDuration(bad).ok());
  }
  CHECK(ParseDuration("5x").status().message() ==
        "expected a duration such as 250ms, 5s, 2m, 1h or a number of seconds, got \"5x\"");
  CHECK(ParseDuration("8761h").status().message() == "duration \"8761h\" is longer than one year");
  CHECK_FALSE(ParseDuration("99999999999999999999999s").ok());
}

TEST_CASE("a byte size is bytes when bare, with binary multiples as in PostgreSQL", "[value_parsers]") {
  CHECK(*ParseByteSize("4096") == 4096);
  CHECK(*ParseByteSize("10B") == 10);
  CHECK(*ParseByteSize("64kB") == 64 * 1024);
  CHECK(*ParseByteSize("64KB") == 64 * 1024);
  CHECK(*ParseByteSize("64KiB") == 64 * 1024);
  CHECK(*ParseByteSize("1MB") == 1 << 20);
  CHECK(*ParseByteSize("1MiB") == 1 << 20);
  CHECK(*ParseByteSize("1GB") == uint64_t{1} << 30);
  CHECK(*ParseByteSize("1GiB") == uint64_t{1} << 30);
}

TEST_CASE("a byte size rejects unknown units and overflow", "[value_parsers]") {
  CHECK(ParseByteSize("1TB").status().message() == "unknown size unit in \"1TB\"; use B, kB, KiB, MB, MiB, GB or GiB");
  CHECK(ParseByteSize("1 MB").status().message() ==
        "unknown size unit in \"1 MB\"; use B, kB, KiB, MB, MiB, GB or GiB");
  CHECK(ParseByteSize("lots").status().message() == "expected a size such as 4096, 64kB, 1MB or 1GB, got \"lots\"");
  CHECK(ParseByteSize("-1").status().message() == "expected a size such as 4096, 64kB, 1MB or 1GB, got \"-1\"");
  CHECK(ParseByteSize("99999999999GB").status().message() == "size \"99999999999GB\" is out of range");
}

TEST_CASE("a UUID is 8-4-4-4-12 hex digits, returned lowercase", "[value_parsers]") {
  CHECK(*ParseUuid("7c9e6679-7425-40de-944b-e07fc1f90ae7") == "7c9e6679-7425-40de-944b-e07fc1f90ae7");
  CHECK(*ParseUuid("7C9E6679-7425-40DE-944B-E07FC1F90AE7") == "7c9e6679-7425-40de-944b-e07fc1f90ae7");
  for (const char* bad : {"", "7c9e6679742540de944be07fc1f90ae7", "{7c9e6679-7425-40de-944b-e07fc1f90ae7}",
                          "7c9e6679-7425-40de-944b-e07fc1f90ae", "7c9e6679-7425-40de-944b-e07fc1f90ae7f",
                          "7c9e6679-7425-40de-944b_e07fc1f90ae7", "gc9e6679-7425-40de-944b-e07fc1f90ae7"}) {
    INFO(bad);
    CHECK_FALSE(ParseUuid(bad).ok());
  }
  CHECK(ParseUuid("acme").status().message() ==
        "expected a UUID such as 7c9e6679-7425-40de-944b-e07fc1f90ae7, got \"acme\"");
}

TEST_CASE("names use letters, digits, underscore and hyphen", "[value_parsers]") {
  CHECK(IsValidName("acme"));
  CHECK(IsValidName("Acme_Corp-2"));
  CHECK_FALSE(IsValidName(""));
  CHECK_FALSE(IsValidName("alice.acme"));
  CHECK_FALSE(IsValidName("alice smith"));
  CHECK_FALSE(IsValidName("zoë"));
}

TEST_CASE("schemas are plain SQL identifiers of at most 63 bytes", "[value_parsers]") {
  CHECK(IsSqlIdentifier("org_globex"));
  CHECK(IsSqlIdentifier("_x1"));
  CHECK(IsSqlIdentifier(std::string(63, 'a')));
  CHECK_FALSE(IsSqlIdentifier(std::string(64, 'a')));
  CHECK_FALSE(IsSqlIdentifier("1org"));
  CHECK_FALSE(IsSqlIdentifier("org-globex"));
  CHECK_FALSE(IsSqlIdentifier("org\"; DROP SCHEMA x; --"));
  CHECK_FALSE(IsSqlIdentifier(""));
}

TEST_CASE("the tenant setting is a dotted custom setting name", "[value_parsers]") {
  CHECK(IsCustomSettingName("app.current_organization_id"));
  CHECK(IsCustomSettingName("a.b.c"));
  CHECK_FALSE(IsCustomSettingName("search_path"));
  CHECK_FALSE(IsCustomSettingName("app."));
  CHECK_FALSE(IsCustomSettingName(".x"));
  CHECK_FALSE(IsCustomSettingName("app..x"));
  CHECK_FALSE(IsCustomSettingName("app.x=1 -c role=postgres"));
}

constexpr const char* kVerifier =
    "SCRAM-SHA-256$4096:zTU5Wue0iYK6zGxWWxlTXQ==$NNKgQtnfbFPhifhAywzDVOol98jHbI+THs+LKDDD4Xk=:"
    "dMpvkAnzUuJJW6SMexCZGu4cekeUFppBVCVDp2JmwlQ=";

TEST_CASE("a SCRAM-SHA-256 verifier has iterations, salt and two 32-byte keys", "[value_parsers]") {
  CHECK(IsScramSha256Verifier(kVerifier));
  const std::string good = kVerifier;
  CHECK_FALSE(IsScramSha256Verifier("demo"));
  CHECK_FALSE(IsScramSha256Verifier("SCRAM-SHA-1" + good.substr(13)));
  CHECK_FALSE(IsScramSha256Verifier("SCRAM-SHA-256$0:" + good.substr(19)));       // zero iterations
  CHECK_FALSE(IsScramSha256Verifier("SCRAM-SHA-256$abc:" + good.substr(19)));     // iterations not digits
  CHECK_FALSE(IsScramSha256Verifier("SCRAM-SHA-256$4096:$" + good.substr(44)));   // empty salt
  CHECK_FALSE(IsScramSha256Verifier(good.substr(0, good.size() - 4)));             // short ServerKey
  CHECK_FALSE(IsScramSha256Verifier(good.substr(0, good.find(':', 20))));         // no ServerKey
  std::string bad_char = good;
  bad_char[good.size() - 5] = '!';
  CHECK_FALSE(IsScramSha256Verifier(bad_char));
}

TEST_CASE("an MD5 hash is md5 and 32 lowercase hex digits", "[value_parsers]") {
  CHECK(IsMd5Hash("md5b720ac445efd89a0a6bd0d1706392f2a"));
  CHECK_FALSE(IsMd5Hash("md5B720AC445EFD89A0A6BD0D1706392F2A"));
  CHECK_FALSE(IsMd5Hash("md5b720ac445efd89a0a6bd0d1706392f2"));
  CHECK_FALSE(IsMd5Hash("b720ac445efd89a0a6bd0d1706392f2a"));
  CHECK_FALSE(IsMd5Hash("md5b720ac445efd89a0a6bd0d1706392f2z"));
}

TEST_CASE("did-you-mean suggests the nearest candidate within two edits", "[value_parsers]") {
  CHECK(EditDistance("pool", "pool") == 0);
  CHECK(EditDistance("pol", "pool") == 1);
  CHECK(EditDistance("prot", "port") == 2);
  CHECK(EditDistance("", "abc") == 3);
  const std::vector<std::string> keys = {"address", "port", "pool"};
  CHECK(ClosestMatch("pol", keys) == "pool");
  CHECK(ClosestMatch("prot", keys) == "port");
  CHECK(ClosestMatch("adress", keys) == "address");
  CHECK(ClosestMatch("hostname", keys) == std::nullopt);
  CHECK(ClosestMatch("x", {"id"}) == std::nullopt);  // rewriting the whole word is no suggestion
}

}  // namespace
}  // namespace pgtenant::config
