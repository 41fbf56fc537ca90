// SqlParser: PostgreSQL's own parser (libpg_query) behind a small facade, and its refusals as
// PostgreSQL itself reports them.
//
// The policy engine judges statements on the parse tree this returns; SQL that does not parse is
// refused (fail closed), and the client gets the error the server would have sent for the same text:
// its message, SQLSTATE, hint and Position. Thread-safe: libpg_query keeps its memory contexts per
// thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "policy/parse_tree.h"

namespace pgtenant::policy {

// What PostgreSQL's parser says about a text it cannot read, field for field as the server sends it
// in an ErrorResponse. The message may quote the text (`syntax error at or near "..."`): it is for
// the client who sent that text, never for audit events, logs or caches.
struct SyntaxError {
  std::string sqlstate;   // 42601 for syntax errors; the parser's other codes where it uses them
  std::string message;    // PostgreSQL's primary message, e.g. `syntax error at or near "COLLATE"`
  std::string hint;       // PostgreSQL's hint for this message, if it has one
  uint32_t position = 0;  // 1-based, in characters of the whole text (as PostgreSQL counts); 0: none
};

struct ParsedSql {
  ParseTree tree;                    // libpg_query's typed tree (see its state()); empty when `error` is set
  std::optional<SyntaxError> error;  // set when the parser refused the text
};

// The longest chain of operators ParseSql hands to libpg_query (policy/operator_chain.h).
// pg_query_parse_protobuf's recursive output overflows a 2 MB stack between 4,000 and 6,000 `1+`
// (8 MB: between 20,000 and 30,000); a text with a longer chain gets PostgreSQL's 54001 "stack depth
// limit exceeded" without being parsed.
inline constexpr size_t kMaxOperatorChain = 4000;

// Parses `sql` (one or several statements; NUL-terminated, as libpg_query wants it): one run of the
// parser, whose tree is all the policy reads (rules, fingerprint, normalized text).
ParsedSql ParseSql(const std::string& sql);

// The SQLSTATE and hint PostgreSQL sends with a parser message (libpg_query reports neither):
// 42601 and no hint for every message not known to differ. `source_file` is the parser's source file
// that raised it (scan.l, gram.y, parser.c): a few messages are raised in two places with two hints.
// For tests.
void ClassifyParserMessage(std::string_view message, std::string_view source_file, SyntaxError& error);

// The major version of PostgreSQL whose grammar the parser reads ("15"). A server of another major
// version may accept (or refuse) text differently.
std::string_view ParserMajorVersion();

// The DETAIL that goes with the parser's refusals when `server_version` (the server's ParameterStatus,
// e.g. "16.2 (Debian 16.2-1)") names another major version than the parser's: it says that pgtenant
// refused the text, which that server might have read. Empty when the versions agree (the client then
// gets exactly PostgreSQL's error) or the version is not a number.
std::string ParserVersionDetail(std::string_view server_version);

}  // namespace pgtenant::policy
