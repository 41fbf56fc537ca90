// Text helpers the ClientSession files share: startup parameter names compared as PostgreSQL compares
// GUC names, and message tags as error messages show them.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

namespace pgtenant::proxy {

inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// 'Q' for a printable tag, the number otherwise.
inline std::string TagName(uint8_t tag) {
  if (std::isprint(tag)) return std::string("'") + static_cast<char>(tag) + "'";
  return std::to_string(tag);
}

}  // namespace pgtenant::proxy
