// Environment expansion: ${VAR}, ${VAR:-default} and $$ in configuration scalars.
#include "config/env_expansion.h"

#include <catch2/catch.hpp>
#include <map>

namespace pgtenant::config {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

const EnvLookup kEnv = FakeEnv({{"PORT", "5433"}, {"HOST", "db"}, {"EMPTY", ""}});

std::string Expand(std::string_view text) {
  Result<std::string> result = ExpandEnvironment(text, kEnv);
  REQUIRE(result.ok());
  return *result;
}

std::string ErrorOf(std::string_view text) {
  Result<std::string> result = ExpandEnvironment(text, kEnv);
  REQUIRE_FALSE(result.ok());
  return result.status().message();
}

TEST_CASE("${VAR} is replaced anywhere in a value", "[env_expansion]") {
  CHECK(Expand("${PORT}") == "5433");
  CHECK(Expand("postgres://${HOST}:${PORT}/app") == "postgres://db:5433/app");
  CHECK(Expand("no variables") == "no variables");
  CHECK(Expand("${EMPTY}") == "");
}

TEST_CASE("an unset variable is an error naming it", "[env_expansion]") {
  CHECK(ErrorOf("x${NOPE}y") == "environment variable NOPE is not set (use ${NOPE:-default} to give a default)");
}

TEST_CASE("${VAR:-default} uses the default when VAR is unset or empty", "[env_expansion]") {
  CHECK(Expand("${NOPE:-6432}") == "6432");
  CHECK(Expand("${EMPTY:-fallback}") == "fallback");
  CHECK(Expand("${PORT:-6432}") == "5433");
  CHECK(Expand("${NOPE:-}") == "");
  CHECK(Expand("${NOPE:-a:-b $x}") == "a:-b $x");  // the default is literal
}

TEST_CASE("$$ is a literal dollar and a lone $ stays as is", "[env_expansion]") {
  CHECK(Expand("$${PORT}") == "${PORT}");
  CHECK(Expand("cost: 5$") == "cost: 5$");
  CHECK(Expand("SCRAM-SHA-256$4096:c2FsdA==$a:b") == "SCRAM-SHA-256$4096:c2FsdA==$a:b");
  CHECK(Expand("$$$$") == "$$");
}

TEST_CASE("malformed references are errors", "[env_expansion]") {
  CHECK(ErrorOf("${PORT") == "unterminated ${ (write $$ for a literal dollar sign)");
  CHECK(ErrorOf("${}") ==
        "invalid environment variable reference ${}; expected ${NAME} or ${NAME:-default} with NAME made of "
        "letters, digits and _");
  CHECK_FALSE(ExpandEnvironment("${1PORT}", kEnv).ok());
  CHECK_FALSE(ExpandEnvironment("${PO RT}", kEnv).ok());
}

TEST_CASE("a missing lookup function means every variable is unset", "[env_expansion]") {
  CHECK_FALSE(ExpandEnvironment("${PORT}", EnvLookup()).ok());
  CHECK(*ExpandEnvironment("${PORT:-1}", EnvLookup()) == "1");
}

}  // namespace
}  // namespace pgtenant::config
