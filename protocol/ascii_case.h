// AsciiCase: case folding of ASCII letters only, as PostgreSQL folds unquoted identifiers and compares
// setting, option and encoding names (pg_strcasecmp, downcase_identifier), and as DNS compares host
// names. No locale call per character. The one case-insensitive compare of pgtenant.
#pragma once

#include <string>
#include <string_view>

namespace pgtenant::protocol {

inline constexpr char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
inline constexpr char AsciiUpper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }
std::string AsciiLower(std::string_view text);
std::string AsciiUpper(std::string_view text);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix);
bool EndsWithIgnoreCase(std::string_view text, std::string_view suffix);

}  // namespace pgtenant::protocol
