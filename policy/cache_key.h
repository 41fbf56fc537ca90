// CacheKey: the verdict-cache key of a statement text — the text with numeric literals folded.
//
// Statements that differ only in the values of numeric literals (`WHERE aid = 12345`) get the
// same verdict: no rule looks at a number's value. String literals, identifiers, comments and
// parameters are kept byte for byte, because a string can name another tenant's schema
// ('org_globex.t'::regclass). The scanner follows PostgreSQL's lexer for what is a number:
// outside quotes, identifiers, dollar-quoted strings and comments.
#pragma once

#include <string>
#include <string_view>

namespace pgtenant::policy {

// `sql` with every numeric literal replaced by "0".
std::string FoldNumericLiterals(std::string_view sql);
// The same into `out` (cleared first), so a caller can reuse its capacity.
void FoldNumericLiterals(std::string_view sql, std::string& out);

}  // namespace pgtenant::policy
