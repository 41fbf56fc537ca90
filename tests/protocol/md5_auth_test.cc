// Specification of MD5 password hashing and the salted response of AuthenticationMD5Password.
// Expected values computed independently (Python hashlib).
#include "protocol/md5_auth.h"

#include <catch2/catch.hpp>

#include <array>

namespace pgtenant::protocol {
namespace {

constexpr std::array<uint8_t, 4> kSalt = {1, 2, 3, 4};

TEST_CASE("Md5Hex is lowercase hex MD5", "[md5]") {
  CHECK(Md5Hex("") == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(Md5Hex("secretalice") == "4a0a68b43b6cd5cf266fa02f196e2371");
}

TEST_CASE("Md5PasswordHash is PostgreSQL's stored form md5(password || user)", "[md5]") {
  CHECK(Md5PasswordHash("secret", "alice") == "md54a0a68b43b6cd5cf266fa02f196e2371");
  CHECK(IsMd5PasswordHash(Md5PasswordHash("secret", "alice")));
  CHECK_FALSE(IsMd5PasswordHash("secret"));
  CHECK_FALSE(IsMd5PasswordHash("md54A0A68B43B6CD5CF266FA02F196E2371"));
  CHECK_FALSE(IsMd5PasswordHash("md54a0a68b43b6cd5cf266fa02f196e237"));
}

TEST_CASE("Md5SaltedResponse is md5(stored hash without prefix || salt)", "[md5]") {
  CHECK(Md5SaltedResponse("md54a0a68b43b6cd5cf266fa02f196e2371", kSalt) == "md598a0412b9c31436fc53776e863350083");
}

TEST_CASE("VerifyMd5Response accepts exactly the right response", "[md5]") {
  const std::string stored = Md5PasswordHash("secret", "alice");
  CHECK(VerifyMd5Response(stored, kSalt, "md598a0412b9c31436fc53776e863350083"));
  CHECK_FALSE(VerifyMd5Response(stored, kSalt, "md598a0412b9c31436fc53776e863350084"));
  CHECK_FALSE(VerifyMd5Response(stored, kSalt, "md598a0412b9c31436fc53776e86335008"));
  CHECK_FALSE(VerifyMd5Response(stored, kSalt, ""));
  CHECK_FALSE(VerifyMd5Response(stored, kSalt, "secret"));  // a cleartext password is not a response
  constexpr std::array<uint8_t, 4> other_salt = {1, 2, 3, 5};
  CHECK_FALSE(VerifyMd5Response(stored, other_salt, "md598a0412b9c31436fc53776e863350083"));
  CHECK_FALSE(VerifyMd5Response(Md5PasswordHash("wrong", "alice"), kSalt, "md598a0412b9c31436fc53776e863350083"));
}

TEST_CASE("VerifyMd5Response never matches a stored value that is not an MD5 hash", "[md5]") {
  CHECK_FALSE(VerifyMd5Response("", kSalt, Md5SaltedResponse("", kSalt)));
  CHECK_FALSE(VerifyMd5Response("SCRAM-SHA-256$4096:x", kSalt, Md5SaltedResponse("SCRAM-SHA-256$4096:x", kSalt)));
}

}  // namespace
}  // namespace pgtenant::protocol
