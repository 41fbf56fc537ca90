// SqlParser: PostgreSQL's own parser (libpg_query) behind a Status-returning facade.
//
// The policy engine judges statements on the parse tree this returns; SQL that does not parse
// is refused (fail closed). Thread-safe: libpg_query keeps its memory contexts per thread.
#pragma once

#include <string>
#include <string_view>

#include "protocol/status.h"

namespace pgtenant::policy {

struct ParsedSql {
  std::string tree_json;  // the parse tree as libpg_query's JSON
};

// Parses `sql` (one or several statements). Syntax errors are 42601 with the parser's message
// and the cursor position.
Result<ParsedSql> ParseSql(std::string_view sql);

}  // namespace pgtenant::policy
