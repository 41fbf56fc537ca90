// CacheKey: numeric literals fold, everything that can name something stays.
#include "policy/cache_key.h"

#include <catch2/catch.hpp>

namespace pgtenant::policy {
namespace {

TEST_CASE("numeric literals fold to 0") {
  CHECK(FoldNumericLiterals("SELECT abalance FROM pgbench_accounts WHERE aid = 12345;") ==
        "SELECT abalance FROM pgbench_accounts WHERE aid = 0;");
  CHECK(FoldNumericLiterals("select 1.5, .25, 3e10, 2.5E-3, 7") == "select 0, 0, 0, 0, 0");
  CHECK(FoldNumericLiterals("UPDATE t SET v = v + -42 WHERE id=9") == "UPDATE t SET v = v + -0 WHERE id=0");
}

TEST_CASE("identifiers, parameters, strings, quoted names and comments are kept") {
  CHECK(FoldNumericLiterals("select t1.c2 from t1 where x = $1") == "select t1.c2 from t1 where x = $1");
  CHECK(FoldNumericLiterals("select 'org_globex.t1'::regclass, '123'") == "select 'org_globex.t1'::regclass, '123'");
  CHECK(FoldNumericLiterals("select \"col 1\", 5 -- 42\n") == "select \"col 1\", 0 -- 42\n");
  CHECK(FoldNumericLiterals("/* 1 /* 2 */ 3 */ select 4") == "/* 1 /* 2 */ 3 */ select 0");
  CHECK(FoldNumericLiterals("select $$ 12 $$, $tag$ 'x' 3 $tag$, 9") == "select $$ 12 $$, $tag$ 'x' 3 $tag$, 0");
  CHECK(FoldNumericLiterals("select E'it\\'s 5', 'a''b 6', 7") == "select E'it\\'s 5', 'a''b 6', 0");
}

TEST_CASE("texts that differ in a string never share a key") {
  CHECK(FoldNumericLiterals("select 'org_acme.t'::regclass") != FoldNumericLiterals("select 'org_globex.t'::regclass"));
  CHECK(FoldNumericLiterals("select pg_sleep(1)") == FoldNumericLiterals("select pg_sleep(2)"));
}

TEST_CASE("an unterminated string or quote keeps the rest verbatim") {
  CHECK(FoldNumericLiterals("select 'abc 12") == "select 'abc 12");
  CHECK(FoldNumericLiterals("select \"abc 12") == "select \"abc 12");
  CHECK(FoldNumericLiterals("select $x$ 12") == "select $x$ 12");
}

TEST_CASE("a number is folded only where it cannot merge with its neighbour") {
  // ".5" after a name or a parameter keeps its point: folded whole, "t.5" would read "t0" and
  // "$1.5" "$10".
  CHECK(FoldNumericLiterals("select t.5, $1.5, 2.5") == "select t.0, $1.0, 0");
  CHECK(FoldNumericLiterals("select t.5") != FoldNumericLiterals("select t0"));
  // Digits glued to a name belong to it.
  CHECK(FoldNumericLiterals("select a$1, x12, 12abc") == "select a$1, x12, 12abc");
}

TEST_CASE("a dollar-quoted string right after another one is still a string") {
  // PostgreSQL reads $a$x$a$ and then $b$ ... $b$: the digits of the second string are kept.
  CHECK(FoldNumericLiterals("select $a$x$a$$b$ 1-2 $b$") == "select $a$x$a$$b$ 1-2 $b$");
  CHECK(FoldNumericLiterals("select $a$$a$$b$00000000-0000-4000-8000-000000000001$b$") !=
        FoldNumericLiterals("select $a$$a$$b$00000000-0000-4000-8000-000000000002$b$"));
}

TEST_CASE("where an E may or may not open an escape string, the rest stays verbatim") {
  // After a dollar-quoted string E'\' 1 ' is one string; read without escapes it would end early
  // and fold the 1 inside it.
  CHECK(FoldNumericLiterals("select $$x$$E'\\' 1 ', 2") == "select $$x$$E'\\' 1 ', 2");
  // Where both readings end the string in the same place, folding goes on.
  CHECK(FoldNumericLiterals("select typE'abc', 2") == "select typE'abc', 0");
  CHECK(FoldNumericLiterals("select E'\\' 1 ', 2") == "select E'\\' 1 ', 0");
}

}  // namespace
}  // namespace pgtenant::policy
