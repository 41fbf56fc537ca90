// SqlParser: pg_query_parse and its error reporting.
#include "policy/sql_parser.h"

#include <pg_query.h>

#include "protocol/sqlstate.h"

namespace pgtenant::policy {

Result<ParsedSql> ParseSql(std::string_view sql) {
  std::string text(sql);  // libpg_query wants a NUL-terminated string
  PgQueryParseResult result = pg_query_parse(text.c_str());
  if (result.error != nullptr) {
    std::string message = std::string(result.error->message ? result.error->message : "syntax error") +
                          " at position " + std::to_string(result.error->cursorpos);
    pg_query_free_parse_result(result);
    return Status::Error(sqlstate::kSyntaxError, message);
  }
  ParsedSql parsed;
  parsed.tree_json = result.parse_tree ? result.parse_tree : "";
  pg_query_free_parse_result(result);
  return parsed;
}

}  // namespace pgtenant::policy
