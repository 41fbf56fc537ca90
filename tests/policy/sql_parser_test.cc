// SqlParser: text the parser refuses is reported as PostgreSQL reports it (message, SQLSTATE, hint,
// Position in characters of the whole text), and the policy engine hands that error to the session.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "policy/policy_engine.h"
#include "policy/sql_parser.h"

#include <pg_query.h>
#include "tests/policy/policy_fixture.h"

namespace pgtenant::policy {
namespace {

SyntaxError MustFail(const std::string& sql) {
  ParsedSql parsed = ParseSql(sql);
  REQUIRE(parsed.error.has_value());
  CHECK_FALSE(parsed.tree.ok());
  return *parsed.error;
}

TEST_CASE("a syntax error is PostgreSQL's message, 42601 and the 1-based position of the token", "[policy][parser]") {
  const SyntaxError error = MustFail("SELECT 1 FROM WHERE");
  CHECK(error.message == "syntax error at or near \"WHERE\"");
  CHECK(error.sqlstate == "42601");
  CHECK(error.hint.empty());
  CHECK(error.position == 15);
}

TEST_CASE("text that parses has a tree and no error", "[policy][parser]") {
  ParsedSql parsed = ParseSql("SELECT 1; SELECT 2");
  CHECK_FALSE(parsed.error.has_value());
  REQUIRE(parsed.tree.ok());
  const PgQuery__ParseResult& tree = parsed.tree.result();
  REQUIRE(tree.n_stmts == 2);
  CHECK(tree.stmts[0]->stmt->node_case == PG_QUERY__NODE__NODE_SELECT_STMT);
  CHECK(tree.stmts[1]->stmt->node_case == PG_QUERY__NODE__NODE_SELECT_STMT);
}

TEST_CASE("the position counts from the start of the whole text, over every statement", "[policy][parser]") {
  const SyntaxError error = MustFail("SELECT 1; SELECT 2; SELEC 3");
  CHECK(error.message == "syntax error at or near \"SELEC\"");
  CHECK(error.position == 21);
}

TEST_CASE("the position counts characters, not bytes, as PostgreSQL does", "[policy][parser]") {
  // 'é' and 'ü' are two bytes each in UTF-8: PostgreSQL's Position of WHERE is 24 either way.
  CHECK(MustFail("SELECT 'ab', 'cd' FROM WHERE").position == 24);
  CHECK(MustFail("SELECT '\xC3\xA9\xC3\xA9', '\xC3\xBC\xC3\xBC' FROM WHERE").position == 24);
  // A four-byte character (U+1F600) is one character too.
  CHECK(MustFail("SELECT '\xF0\x9F\x98\x80' FROM WHERE").position == 17);
}

TEST_CASE("an error at the end of the text points one past its last character", "[policy][parser]") {
  const SyntaxError error = MustFail("SELECT 1 +");
  CHECK(error.message == "syntax error at end of input");
  CHECK(error.position == 11);
}

TEST_CASE("scanner errors keep their own message and position", "[policy][parser]") {
  const SyntaxError error = MustFail("SELECT 'unterminated");
  CHECK(error.message == "unterminated quoted string at or near \"'unterminated\"");
  CHECK(error.sqlstate == "42601");
  CHECK(error.position == 8);
}

TEST_CASE("parser messages with another SQLSTATE or a hint get them back", "[policy][parser]") {
  SECTION("a window frame error is 42P20") {
    const SyntaxError error = MustFail("SELECT sum(1) OVER (ROWS UNBOUNDED FOLLOWING)");
    CHECK(error.message == "frame start cannot be UNBOUNDED FOLLOWING");
    CHECK(error.sqlstate == "42P20");
  }
  SECTION("a reserved role name is 42939, whatever the name") {
    CHECK(MustFail("CREATE ROLE none").sqlstate == "42939");
    CHECK(MustFail("CREATE ROLE current_user").sqlstate == "42939");
  }
  SECTION("a subquery without alias has PostgreSQL's hint") {
    const SyntaxError error = MustFail("SELECT * FROM (SELECT 1)");
    CHECK(error.sqlstate == "42601");
    CHECK(error.hint == "For example, FROM (SELECT ...) [AS] foo.");
  }
  SECTION("the same message from two places has the hint of the place that raised it") {
    const SyntaxError scanner = MustFail("SELECT E'\\u12'");
    CHECK(scanner.sqlstate == "22025");
    CHECK(scanner.hint == "Unicode escapes must be \\uXXXX or \\UXXXXXXXX.");
    CHECK(MustFail("SELECT U&'\\12'").sqlstate == "42601");
    CHECK(MustFail("SELECT U&'\\12'").hint == "Unicode escapes must be \\XXXX or \\+XXXXXX.");
  }
}

TEST_CASE("ClassifyParserMessage matches a pattern's fixed parts around %s, and nothing else", "[policy][parser]") {
  SyntaxError error;
  ClassifyParserMessage("CHECK constraints cannot be marked DEFERRABLE", "gram.y", error);
  CHECK(error.sqlstate == "0A000");
  ClassifyParserMessage("syntax error at or near \"constraints cannot be marked DEFERRABLE\"", "scan.l", error);
  CHECK(error.sqlstate == "42601");
  ClassifyParserMessage("missing argument", "gram.y", error);
  CHECK(error.hint == "Use NONE to denote the missing argument of a unary operator.");
  ClassifyParserMessage("something new in a later release", "gram.y", error);
  CHECK(error.sqlstate == "42601");
  CHECK(error.hint.empty());
}

TEST_CASE("a verdict on text that does not parse carries the parser's error; its reason omits the text",
          "[policy][parser]") {
  const auto config = testing::LoadTestConfig(testing::BaseYaml());
  const SessionPolicy member = testing::Session(*config, "acme", config::TenantRole::kMember);
  PolicyEngine engine;
  VerdictMemo memo;
  const SharedVerdict verdict =
      engine.Inspect(memo, member, "SELECT 'x' FROM secret_table WHERE", StatementSource::kSimpleQuery);
  CHECK_FALSE(verdict->allowed);
  CHECK(verdict->rule_id == "parse.error");
  REQUIRE(verdict->syntax_error != nullptr);
  CHECK(verdict->syntax_error->message == "syntax error at end of input");
  CHECK(verdict->syntax_error->position == 35);

  const SharedVerdict quoting =
      engine.Inspect(memo, member, "SELECT 'secret' 'value' x", StatementSource::kParse);
  REQUIRE(quoting->syntax_error != nullptr);
  CHECK(quoting->syntax_error->message.find("secret") == std::string::npos);  // quotes only the token it stops at
  CHECK(quoting->reason.find("'value'") == std::string::npos);

  // A verdict of text that parses has none.
  CHECK(engine.Inspect(memo, member, "SELECT 1", StatementSource::kSimpleQuery)->syntax_error == nullptr);
}

TEST_CASE("the parser reads PostgreSQL 15's grammar; a server of another major version gets a DETAIL saying so",
          "[policy][parser]") {
  CHECK(ParserMajorVersion() == "15");
  CHECK(ParserVersionDetail("15.4 (Debian 15.4-1.pgdg120+1)").empty());
  CHECK(ParserVersionDetail("15").empty());
  CHECK(ParserVersionDetail("").empty());
  CHECK(ParserVersionDetail("unknown").empty());
  const std::string newer = ParserVersionDetail("17devel");
  CHECK_THAT(newer, Catch::Contains("PostgreSQL 15") && Catch::Contains("PostgreSQL 17") &&
                        Catch::Contains("rule parse.error"));
  CHECK_THAT(ParserVersionDetail("16.2"), Catch::Contains("PostgreSQL 16"));
  CHECK_THAT(ParserVersionDetail("9.6.24"), Catch::Contains("PostgreSQL 9"));
}


TEST_CASE("a tree nested deeper than the inspector reads is measured, not unpacked", "[policy][parser]") {
  // 3000 chained additions: within the operator chain ParseSql hands to libpg_query
  // (kMaxOperatorChain), but 6000 levels of messages, three times what the policy walks.
  static_assert(3000 <= kMaxOperatorChain && 2 * 3000 > kMaxTreeDepth);
  std::string sql = "SELECT 1";
  for (int i = 0; i < 3000; ++i) sql += "+1";
  ParsedSql deep = ParseSql(sql);
  REQUIRE_FALSE(deep.error.has_value());
  CHECK(deep.tree.state() == ParseTree::State::kTooDeep);

  ParsedSql shallow = ParseSql("SELECT 1+1+1");
  CHECK(shallow.tree.state() == ParseTree::State::kTree);
}

TEST_CASE("serialized bytes that are not a parse tree are refused, not guessed at", "[policy][parser]") {
  const uint8_t truncated[] = {0x12, 0x05, 0x0a};  // stmts: 5 bytes announced, 1 present
  CHECK(ParseTree::Unpack(truncated, sizeof truncated, 100).state() == ParseTree::State::kUnreadable);
  const uint8_t bad_wire_type[] = {0x0f};
  CHECK(ParseTree::Unpack(bad_wire_type, sizeof bad_wire_type, 100).state() == ParseTree::State::kUnreadable);
  const uint8_t unknown_field[] = {0x48, 0x01};  // field 9, which ParseResult does not have
  CHECK(ParseTree::Unpack(unknown_field, sizeof unknown_field, 100).state() == ParseTree::State::kUnreadable);
  const uint8_t version_only[] = {0x08, 0x96, 0x01};  // version: 150
  const ParseTree tree = ParseTree::Unpack(version_only, sizeof version_only, 100);
  REQUIRE(tree.ok());
  CHECK(tree.result().version == 150);
  CHECK(tree.result().n_stmts == 0);
}

TEST_CASE("the decoded tree holds what protobuf-c's own unpacking holds", "[policy][parser]") {
  const std::string sql = "SELECT a, -2, 'x' FROM s.t WHERE b IN (1, 2) AND c IS NULL; SET x = 1";
  PgQueryProtobufParseResult raw = pg_query_parse_protobuf(sql.c_str());
  REQUIRE(raw.error == nullptr);
  PgQuery__ParseResult* reference = pg_query__parse_result__unpack(
      nullptr, raw.parse_tree.len, reinterpret_cast<const uint8_t*>(raw.parse_tree.data));
  REQUIRE(reference != nullptr);
  const ParseTree tree = ParseTree::Unpack(raw.parse_tree.data, raw.parse_tree.len, kMaxTreeDepth);
  REQUIRE(tree.ok());
  // Packing both again gives the same bytes: every field was decoded to the same value.
  const size_t size = pg_query__parse_result__get_packed_size(reference);
  CHECK(pg_query__parse_result__get_packed_size(&tree.result()) == size);
  std::string mine(size, '\0');
  std::string theirs(size, '\0');
  pg_query__parse_result__pack(&tree.result(), reinterpret_cast<uint8_t*>(mine.data()));
  pg_query__parse_result__pack(reference, reinterpret_cast<uint8_t*>(theirs.data()));
  CHECK(mine == theirs);
  CHECK(mine == std::string(raw.parse_tree.data, raw.parse_tree.len));
  pg_query__parse_result__free_unpacked(reference, nullptr);
  pg_query_free_protobuf_parse_result(raw);
}

}  // namespace
}  // namespace pgtenant::policy
