// MD5 password authentication (PostgreSQL's AuthenticationMD5Password exchange and "md5..." stored hashes).
//
// MD5 is kept only for compatibility with old clients and servers; SCRAM-SHA-256 (protocol/scram.h) is
// the default. All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace pgtenant::protocol {

// Lowercase hex MD5 of `data` (32 characters).
std::string Md5Hex(std::string_view data);

// PostgreSQL's stored form of an MD5 password: "md5" + md5hex(password + user).
std::string Md5PasswordHash(std::string_view password, std::string_view user);

// True for a string of PostgreSQL's stored MD5 form: "md5" followed by 32 lowercase hex digits.
bool IsMd5PasswordHash(std::string_view text);

// The PasswordMessage a client sends for AuthenticationMD5Password:
// "md5" + md5hex(md5hex(password + user) + salt), where md5hex(password + user) is `stored_md5_hash`
// without its "md5" prefix. REQUIRES: IsMd5PasswordHash(stored_md5_hash).
std::string Md5SaltedResponse(std::string_view stored_md5_hash, std::span<const uint8_t, 4> salt);

// True when `response` is the correct salted response. Constant time in the response content.
// False (never a match) when `stored_md5_hash` is not of the stored MD5 form.
bool VerifyMd5Response(std::string_view stored_md5_hash, std::span<const uint8_t, 4> salt, std::string_view response);

}  // namespace pgtenant::protocol
