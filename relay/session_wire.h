// Wire-level pieces the ClientSession files share: startup parameter names compared as PostgreSQL
// compares GUC names, message tags as error messages show them, and passing over a streamed message.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pgtenant::relay {

// ASCII case folding, as PostgreSQL's pg_strcasecmp does for GUC names (no locale call per character).
inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  constexpr auto fold = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return x == y || fold(x) == fold(y); });
}

// 'Q' for a printable tag, the number otherwise.
inline std::string TagName(uint8_t tag) {
  if (std::isprint(tag)) return std::string("'") + static_cast<char>(tag) + "'";
  return std::to_string(tag);
}

// A message is streamed in pieces as reads bring them: `remaining` bytes of it are still to go. Moves
// `pos` over what of them lies in a read of `size` bytes; false when no message is being streamed.
// (A message's length is an int32: what is left of one fits in 32 bits.)
inline bool PassStreamed(uint32_t& remaining, size_t size, size_t& pos) {
  if (remaining == 0) return false;
  const uint32_t n = static_cast<uint32_t>(std::min<size_t>(remaining, size - pos));
  pos += n;
  remaining -= n;
  return true;
}

}  // namespace pgtenant::relay
