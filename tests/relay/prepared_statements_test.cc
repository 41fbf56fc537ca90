// ClientStatements and ServerStatementCache: a client's names and what exists on one server.
#include "relay/prepared_statements.h"

#include <catch2/catch.hpp>

#include <string>

namespace pgtenant::relay {
namespace {

std::span<const uint8_t> Body(std::string_view s) {
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

TEST_CASE("a statement's server name depends on its text and types only", "[prepared_statements]") {
  const std::string a = ServerStatementName(Body(std::string("select 1\0\0\0", 11)));
  CHECK(a.size() == 36);
  CHECK(a.rfind("pgt_", 0) == 0);
  CHECK(a == ServerStatementName(Body(std::string("select 1\0\0\0", 11))));
  CHECK(a != ServerStatementName(Body(std::string("select 2\0\0\0", 11))));
}

TEST_CASE("ClientStatements defines, redefines, finds and removes names", "[prepared_statements]") {
  ClientStatements statements;
  const auto* s1 = statements.Define("S_1", Body("select 1"));
  REQUIRE(s1 != nullptr);
  CHECK(s1->query_and_types == "select 1");
  CHECK(statements.Find("S_1") == s1);
  const auto* again = statements.Define("S_1", Body("select 2"));
  CHECK(again->server_name == ServerStatementName(Body("select 2")));
  CHECK(statements.size() == 1);
  statements.Remove("S_1");
  CHECK(statements.Find("S_1") == nullptr);
  CHECK(statements.empty());
}

TEST_CASE("ClientStatements refuses a name past its limit, but not a redefinition", "[prepared_statements]") {
  ClientStatements statements;
  for (size_t i = 0; i < ClientStatements::kMaxStatements; ++i)
    REQUIRE(statements.Define("s" + std::to_string(i), Body("x")) != nullptr);
  CHECK(statements.Define("one more", Body("x")) == nullptr);
  CHECK(statements.Define("s0", Body("y")) != nullptr);
}

TEST_CASE("ServerStatementCache: a statement is ready once prepared, or in the segment that prepares it",
          "[prepared_statements]") {
  ServerStatementCache cache;
  CHECK_FALSE(cache.Ready("a"));
  CHECK(cache.Preparing("a") == std::nullopt);
  CHECK(cache.Ready("a"));  // same segment: an error before it would skip its users too
  cache.EndSegment();
  CHECK_FALSE(cache.Ready("a"));  // not confirmed yet
  cache.Prepared("a");
  CHECK(cache.Ready("a"));
}

TEST_CASE("ServerStatementCache: a failed Parse leaves the statement to prepare again", "[prepared_statements]") {
  ServerStatementCache cache;
  REQUIRE(cache.Preparing("a") == std::nullopt);
  cache.NotPrepared("a");
  cache.EndSegment();
  CHECK_FALSE(cache.Ready("a"));
  REQUIRE(cache.Preparing("a") == std::nullopt);
  cache.Prepared("a");
  CHECK(cache.Ready("a"));
}

TEST_CASE("ServerStatementCache evicts the least recently used name", "[prepared_statements]") {
  ServerStatementCache cache(2);
  REQUIRE(cache.Preparing("a") == std::nullopt);
  REQUIRE(cache.Preparing("b") == std::nullopt);
  cache.Prepared("a");
  cache.Prepared("b");
  CHECK(cache.Ready("a"));  // a is now the most recently used
  CHECK(cache.Preparing("c") == std::optional<std::string>("b"));
  CHECK(cache.size() == 2);
  cache.Clear();
  CHECK(cache.size() == 0);
}

}  // namespace
}  // namespace pgtenant::relay
