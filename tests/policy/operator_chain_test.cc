// OperatorChainLength (policy/operator_chain.h), and ParseSql's refusal of chains libpg_query's
// recursive output could not take: it answers 54001 without parsing.
#include <catch2/catch.hpp>

#include <string>

#include "policy/operator_chain.h"
#include "policy/policy_engine.h"
#include "policy/sql_parser.h"
#include "tests/policy/policy_fixture.h"

namespace pgtenant::policy {
namespace {

std::string Repeat(const std::string& unit, size_t n) {
  std::string out;
  out.reserve(unit.size() * n);
  for (size_t i = 0; i < n; ++i) out += unit;
  return out;
}

TEST_CASE("an operator chain counts each operator of one expression", "[policy][parser]") {
  CHECK(OperatorChainLength("SELECT 1") == 0);
  CHECK(OperatorChainLength("SELECT 1+1+1") == 2);
  CHECK(OperatorChainLength("SELECT x::int::text") == 2);
  CHECK(OperatorChainLength("SELECT 'a' || 'b' || 'c' COLLATE \"C\"") == 3);
  // Lists, AND/OR runs and statements end an expression; brackets and CASE add a level.
  CHECK(OperatorChainLength("SELECT 1+1, 2+2, 3+3; SELECT 4+4") == 1);
  CHECK(OperatorChainLength("SELECT a FROM t WHERE a = 1 OR a = 2 OR a = 3 AND b = 4") == 1);
  CHECK(OperatorChainLength("SELECT 1 + (2 + (3 + 4))") == 5);
  CHECK(OperatorChainLength("SELECT 1 + CASE WHEN a = 1 THEN 2 ELSE 3 END + 4") == 3);
  // What the scanner skips: strings, quoted names, dollar quotes, comments.
  CHECK(OperatorChainLength("SELECT '+++', E'\\'+++', \"a+b\", $q$ + + $q$ -- + + +\n /* + /* + */ + */ 1") == 0);
  CHECK(OperatorChainLength("SELECT $1 + $2") == 1);
  // A CASE in a chain does not restart it.
  CHECK(OperatorChainLength("SELECT " + Repeat("CASE WHEN x THEN 1 ELSE 2 END + ", 100) + "1") == 100);
}

TEST_CASE("a text with a longer operator chain than libpg_query can take gets 54001, unparsed", "[policy][parser]") {
  for (const std::string& unit : {std::string("1+"), std::string("'a'||"), std::string("CASE WHEN true THEN 1 END+")}) {
    INFO(unit);
    const ParsedSql refused = ParseSql("SELECT " + Repeat(unit, 200000) + "1");
    REQUIRE(refused.error.has_value());
    CHECK(refused.error->sqlstate == "54001");
    CHECK(refused.error->message == "stack depth limit exceeded");
    const ParsedSql at_limit = ParseSql("SELECT " + Repeat(unit, kMaxOperatorChain) + "1");
    CHECK_FALSE(at_limit.error.has_value());
  }
  // Deep brackets: refused past the limit (libpg_query's grammar alone stops at about 5,000).
  const ParsedSql arrays = ParseSql("SELECT " + Repeat("ARRAY[", 4500) + "1" + Repeat("]", 4500));
  REQUIRE(arrays.error.has_value());
  CHECK(arrays.error->sqlstate == "54001");
  // A long flat list is no chain: a 100,000-row VALUES and a 20,000-term OR parse.
  CHECK_FALSE(ParseSql("INSERT INTO t VALUES " + Repeat("(1, 'x'), ", 100000) + "(1, 'x')").error.has_value());
  CHECK_FALSE(ParseSql("SELECT * FROM t WHERE " + Repeat("a = 1 OR ", 20000) + "a = 2").error.has_value());
}

TEST_CASE("a 70,000-term chain reaches the policy engine as 54001, and the engine stays usable", "[policy][parser]") {
  // pg_query_parse_protobuf itself overflows an 8 MB stack at 20,000-30,000 terms: only the chain
  // guard stands between such a text and the parser.
  auto config = testing::LoadTestConfig(testing::BaseYaml());
  const SessionPolicy member = testing::Session(*config, "acme", config::TenantRole::kMember, true);
  PolicyEngine engine;
  VerdictMemo memo;
  for (const std::string& unit : {std::string("1+"), std::string("'a'||")}) {
    INFO(unit);
    const SharedVerdict verdict =
        engine.Inspect(memo, member, "SELECT " + Repeat(unit, 70000) + "1", StatementSource::kSimpleQuery);
    CHECK_FALSE(verdict->allowed);
    CHECK(verdict->rule_id == "parse.error");
    REQUIRE(verdict->syntax_error != nullptr);
    CHECK(verdict->syntax_error->sqlstate == "54001");
  }
  CHECK(engine.Inspect(memo, member, "SELECT " + Repeat("1+", 100) + "1", StatementSource::kSimpleQuery)->allowed);
}

}  // namespace
}  // namespace pgtenant::policy
