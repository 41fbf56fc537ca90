// SQL text pgtenant writes itself: string literals and identifiers quoted as PostgreSQL reads them
// whatever standard_conforming_strings says (E'...' when a value holds a backslash).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace pgtenant::protocol {

// `value` as a SQL string literal: 'it''s', or E'a\\b' when it holds a backslash.
std::string QuoteLiteral(std::string_view value);
// `name` as a quoted identifier: "Orders", "a""b". The name is kept as written (no case folding).
std::string QuoteIdentifier(std::string_view name);

}  // namespace pgtenant::protocol
