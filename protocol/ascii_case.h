// SqlNames: case-insensitive comparisons of SQL identifiers and setting names (ASCII folding, as
// PostgreSQL folds unquoted identifiers and compares setting names).
#pragma once

#include <string>
#include <string_view>

namespace pgtenant::policy {

std::string AsciiLower(std::string_view text);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix);

}  // namespace pgtenant::policy
