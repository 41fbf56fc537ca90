// SqlParser: pg_query_parse_protobuf, and its errors completed with what libpg_query leaves out (SQLSTATE, hint).
#include "policy/sql_parser.h"

#include <pg_query.h>

#include "policy/operator_chain.h"
#include "protocol/sqlstate.h"

namespace pgtenant::policy {

namespace {

// Messages of PostgreSQL's raw parser whose SQLSTATE is not 42601 or that carry a hint (PostgreSQL
// 15: scan.l, gram.y, parser.c). libpg_query keeps the message and drops both, so they are restored
// here; tests/integration/parse_error_test.cc checks every entry against the server's own answer.
// `pattern` may hold one "%s", standing for any text; `file` (empty: any) tells apart a message
// raised in two places.
struct ParserMessage {
  std::string_view pattern;
  std::string_view file;
  std::string_view sqlstate;
  std::string_view hint;
};

constexpr ParserMessage kParserMessages[] = {
    {"frame start cannot be UNBOUNDED FOLLOWING", "", "42P20", ""},
    {"frame end cannot be UNBOUNDED PRECEDING", "", "42P20", ""},
    {"frame starting from current row cannot have preceding rows", "", "42P20", ""},
    {"frame starting from following row cannot have preceding rows", "", "42P20", ""},
    {"frame starting from following row cannot end with current row", "", "42P20", ""},
    {"precision for type float must be at least 1 bit", "", "22023", ""},
    {"precision for type float must be less than 54 bits", "", "22023", ""},
    {"%s constraints cannot be marked DEFERRABLE", "", "0A000", ""},
    {"%s constraints cannot be marked NOT VALID", "", "0A000", ""},
    {"%s constraints cannot be marked NO INHERIT", "", "0A000", ""},
    {"WITH CHECK OPTION not supported on recursive views", "", "0A000", ""},
    {"CREATE ASSERTION is not yet implemented", "", "0A000", ""},
    {"UNIQUE predicate is not yet implemented", "", "0A000", ""},
    {"aggregates cannot have output arguments", "", "0A000", ""},
    {"%s cannot be used as a role name here", "", "42939", ""},
    {"role name %s is reserved", "", "42939", ""},
    {"unrecognized row security option %s", "", "42601", "Only PERMISSIVE or RESTRICTIVE policies are supported currently."},
    {"subquery in FROM must have an alias", "", "42601", "For example, FROM (SELECT ...) [AS] foo."},
    {"VALUES in FROM must have an alias", "", "42601", "For example, FROM (VALUES ...) [AS] foo."},
    {"LIMIT #,# syntax is not supported", "", "42601", "Use separate LIMIT and OFFSET clauses."},
    {"missing argument", "", "42601", "Use NONE to denote the missing argument of a unary operator."},
    {"invalid Unicode escape", "scan.l", "22025", "Unicode escapes must be \\uXXXX or \\UXXXXXXXX."},
    {"invalid Unicode escape", "parser.c", "42601", "Unicode escapes must be \\XXXX or \\+XXXXXX."},
    {"stack depth limit exceeded", "", "54001", ""},
};

bool Matches(std::string_view pattern, std::string_view message) {
  const size_t any = pattern.find("%s");
  if (any == std::string_view::npos) return pattern == message;
  const std::string_view head = pattern.substr(0, any);
  const std::string_view tail = pattern.substr(any + 2);
  return message.size() >= head.size() + tail.size() && message.substr(0, head.size()) == head &&
         message.substr(message.size() - tail.size()) == tail;
}

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

}  // namespace

void ClassifyParserMessage(std::string_view message, std::string_view source_file, SyntaxError& error) {
  error.sqlstate = std::string(sqlstate::kSyntaxError);
  error.hint.clear();
  for (const ParserMessage& known : kParserMessages) {
    if (!Matches(known.pattern, message)) continue;
    if (!known.file.empty() && !EndsWith(source_file, known.file)) continue;
    error.sqlstate = std::string(known.sqlstate);
    error.hint = std::string(known.hint);
    return;
  }
}

ParsedSql ParseSql(const std::string& sql) {
  ParsedSql parsed;
  // Each operator takes at least two characters ("+1"): a shorter text cannot hold a longer chain.
  if (sql.size() > 2 * kMaxOperatorChain) {
    if (const size_t chain = OperatorChainLength(sql); chain > kMaxOperatorChain) {
      // What PostgreSQL answers for expressions deeper than max_stack_depth allows.
      SyntaxError error;
      error.sqlstate = std::string(sqlstate::kStatementTooComplex);
      error.message = "stack depth limit exceeded";
      error.hint = "pgtenant reads expressions of up to " + std::to_string(kMaxOperatorChain) +
                   " chained operators; this text has " + std::to_string(chain) +
                   ". Split the expression, or send the values as parameters.";
      parsed.error = std::move(error);
      return parsed;
    }
  }
  PgQueryProtobufParseResult result = pg_query_parse_protobuf(sql.c_str());
  if (result.error != nullptr) {
    const PgQueryError& failure = *result.error;
    SyntaxError error;
    error.message = failure.message != nullptr ? failure.message : "syntax error";
    ClassifyParserMessage(error.message, failure.filename != nullptr ? failure.filename : "", error);
    // libpg_query's parser, like the server's, counts the position in characters (its encoding is
    // UTF-8) and from the start of the whole text, 1-based; 0 when the message has none.
    error.position = failure.cursorpos > 0 ? static_cast<uint32_t>(failure.cursorpos) : 0;
    parsed.error = std::move(error);
  } else {
    parsed.tree = ParseTree::Unpack(result.parse_tree.data, result.parse_tree.len, kMaxTreeDepth);
  }
  pg_query_free_protobuf_parse_result(result);
  return parsed;
}

std::string_view ParserMajorVersion() { return PG_MAJORVERSION; }

std::string ParserVersionDetail(std::string_view server_version) {
  // "15.4 (Debian 15.4-1.pgdg120+1)", "16beta2", "17devel": the major version is the leading digits.
  size_t digits = 0;
  while (digits < server_version.size() && server_version[digits] >= '0' && server_version[digits] <= '9') ++digits;
  const std::string_view server_major = server_version.substr(0, digits);
  if (server_major.empty() || server_major == ParserMajorVersion()) return std::string();
  return "pgtenant's SQL parser reads the grammar of PostgreSQL " + std::string(ParserMajorVersion()) +
         ", the server is PostgreSQL " + std::string(server_major) +
         "; pgtenant forwards only SQL it can inspect (rule parse.error).";
}

}  // namespace pgtenant::policy
