// Base64 encoding and strict decoding (RFC 4648 sections 4 and 5).
#include "protocol/base64.h"

#include <algorithm>
#include <array>

#include "protocol/sqlstate.h"

namespace pgtenant::protocol {
namespace {

struct Alphabet {
  std::string_view chars;
  std::array<int8_t, 256> values;  // -1: not in the alphabet
};

constexpr Alphabet MakeAlphabet(std::string_view chars) {
  Alphabet a{chars, {}};
  for (auto& v : a.values) v = -1;
  for (size_t i = 0; i < chars.size(); ++i) a.values[static_cast<uint8_t>(chars[i])] = static_cast<int8_t>(i);
  return a;
}
constexpr Alphabet kStandard = MakeAlphabet("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
constexpr Alphabet kUrl = MakeAlphabet("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

Status InvalidBase64() { return Status::Error(sqlstate::kProtocolViolation, "invalid base64 encoding"); }

// Both directions size the output once and write it by index: a handshake encodes and decodes a few
// dozen bytes per connection, and appending character by character cost more than the arithmetic.
std::string Encode(std::span<const uint8_t> data, const Alphabet& a, bool pad) {
  const size_t left = data.size() % 3;  // 0, 1 or 2 bytes after the last whole group
  const size_t tail = left == 0 ? 0 : pad ? 4 : left + 1;
  std::string out(data.size() / 3 * 4 + tail, '=');  // the '=' padding is in place where it is wanted
  char* o = out.data();
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3, o += 4) {
    const uint32_t n = (uint32_t(data[i]) << 16) | (uint32_t(data[i + 1]) << 8) | data[i + 2];
    o[0] = a.chars[(n >> 18) & 63];
    o[1] = a.chars[(n >> 12) & 63];
    o[2] = a.chars[(n >> 6) & 63];
    o[3] = a.chars[n & 63];
  }
  if (left > 0) {
    const uint32_t n = (uint32_t(data[i]) << 16) | (left == 2 ? uint32_t(data[i + 1]) << 8 : 0);
    o[0] = a.chars[(n >> 18) & 63];
    o[1] = a.chars[(n >> 12) & 63];
    if (left == 2) o[2] = a.chars[(n >> 6) & 63];
  }
  return out;
}

// `text` without padding: groups of four characters and a last group of two or three.
Result<std::string> Decode(std::string_view text, const Alphabet& a) {
  const size_t left = text.size() % 4;
  if (left == 1) return InvalidBase64();
  std::string out(text.size() / 4 * 3 + (left == 0 ? 0 : left - 1), '\0');
  char* o = out.data();
  for (size_t i = 0; i < text.size(); i += 4) {
    const size_t group = std::min<size_t>(4, text.size() - i);
    uint32_t n = 0;
    for (size_t j = 0; j < 4; ++j) {
      int8_t v = 0;
      if (j < group) {
        v = a.values[static_cast<uint8_t>(text[i + j])];
        if (v < 0) return InvalidBase64();
      }
      n = (n << 6) | uint32_t(v);
    }
    *o++ = static_cast<char>((n >> 16) & 0xff);
    if (group > 2) *o++ = static_cast<char>((n >> 8) & 0xff);
    if (group > 3) *o++ = static_cast<char>(n & 0xff);
  }
  return out;
}

}  // namespace

std::string Base64Encode(std::span<const uint8_t> data) { return Encode(data, kStandard, true); }

std::string Base64Encode(std::string_view data) {
  return Base64Encode(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

Result<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return InvalidBase64();
  size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  // An '=' left over (three of them, or one inside) is not in the alphabet: Decode refuses it.
  return Decode(text.substr(0, text.size() - padding), kStandard);
}

std::string Base64UrlEncode(std::string_view data) {
  return Encode(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()), kUrl, false);
}

Result<std::string> Base64UrlDecode(std::string_view text) { return Decode(text, kUrl); }

}  // namespace pgtenant::protocol
