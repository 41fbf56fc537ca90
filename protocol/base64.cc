// Base64 encoding and strict decoding (RFC 4648 section 4).
#include "protocol/base64.h"

#include <array>

#include "protocol/sqlstate.h"

namespace pgtenant::protocol {
namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> MakeDecodeTable() {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (size_t i = 0; i < kAlphabet.size(); ++i) table[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
  return table;
}
constexpr std::array<int8_t, 256> kDecodeTable = MakeDecodeTable();

Status InvalidBase64() { return Status::Error(sqlstate::kProtocolViolation, "invalid base64 encoding"); }

}  // namespace

// Both directions size the output once and write it by index: a handshake encodes and decodes a few
// dozen bytes per connection, and appending character by character cost more than the arithmetic.
std::string Base64Encode(std::span<const uint8_t> data) {
  std::string out((data.size() + 2) / 3 * 4, '=');
  char* o = out.data();
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3, o += 4) {
    const uint32_t n = (uint32_t(data[i]) << 16) | (uint32_t(data[i + 1]) << 8) | data[i + 2];
    o[0] = kAlphabet[(n >> 18) & 63];
    o[1] = kAlphabet[(n >> 12) & 63];
    o[2] = kAlphabet[(n >> 6) & 63];
    o[3] = kAlphabet[n & 63];
  }
  const size_t left = data.size() - i;  // 0, 1 or 2; the '=' padding is already in place
  if (left > 0) {
    const uint32_t n = (uint32_t(data[i]) << 16) | (left == 2 ? uint32_t(data[i + 1]) << 8 : 0);
    o[0] = kAlphabet[(n >> 18) & 63];
    o[1] = kAlphabet[(n >> 12) & 63];
    if (left == 2) o[2] = kAlphabet[(n >> 6) & 63];
  }
  return out;
}

std::string Base64Encode(std::string_view data) {
  return Base64Encode(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

Result<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return InvalidBase64();
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') padding = (text.size() >= 2 && text[text.size() - 2] == '=') ? 2 : 1;
  std::string out(text.size() / 4 * 3 - padding, '\0');
  char* o = out.data();
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    uint32_t n = 0;
    for (size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      int8_t v;
      if (c == '=') {
        if (!last || j < 4 - padding) return InvalidBase64();
        v = 0;
      } else {
        v = kDecodeTable[static_cast<uint8_t>(c)];
        if (v < 0) return InvalidBase64();
      }
      n = (n << 6) | uint32_t(v);
    }
    *o++ = static_cast<char>((n >> 16) & 0xff);
    if (!last || padding < 2) *o++ = static_cast<char>((n >> 8) & 0xff);
    if (!last || padding < 1) *o++ = static_cast<char>(n & 0xff);
  }
  return out;
}

}  // namespace pgtenant::protocol
