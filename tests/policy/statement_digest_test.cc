// StatementDigest: the normalized text holds no literal of any kind in any statement, and the
// fingerprint tells statement shapes apart but not their literals.
#include <catch2/catch.hpp>

#include <string>

#include "policy/sql_parser.h"
#include "policy/statement_digest.h"

namespace pgtenant::policy {
namespace {

StatementDigest Digest(const std::string& sql) {
  ParsedSql parsed = ParseSql(sql);
  INFO(sql);
  REQUIRE(parsed.tree.ok());
  return DigestStatement(parsed.tree.result(), sql);
}

TEST_CASE("every literal of a statement becomes $n, numbered after the statement's own parameters",
          "[policy][digest]") {
  CHECK(Digest("SELECT set_config('app.current_organization_id', 'secret-uuid', false)").normalized ==
        "SELECT set_config($1, $2, $3)");
  CHECK(Digest("SELECT a FROM t WHERE b = $2 AND c = 'x' AND d = -12.5e3 AND e IS NOT NULL AND f = NULL").normalized ==
        "SELECT a FROM t WHERE b = $2 AND c = $3 AND d = $4 AND e IS NOT NULL AND f = $5");
  CHECK(Digest("SELECT E'it\\'s', B'101', X'1F', N'n', U&'d\\0061t\\+000061', $tag$body 'x'$tag$, TRUE").normalized ==
        "SELECT $1, $2, $3, $4, $5, $6, $7");
  CHECK(Digest("SELECT 'a'\n'b', interval '1 hour', DATE '2024-01-01'").normalized ==
        "SELECT $1\n$2, interval $3, DATE $4");
}

TEST_CASE("names and keywords are kept, comments dropped; digits inside names are not literals", "[policy][digest]") {
  CHECK(Digest("SELECT \"col 'x' 1\", t1.a2, $1 FROM s1.t1 /* 'gone' 42 */ -- 'also gone'\n").normalized ==
        "SELECT \"col 'x' 1\", t1.a2, $1 FROM s1.t1");
  CHECK(Digest("SELECT e, b, x, n, u FROM t").normalized == "SELECT e, b, x, n, u FROM t");
}

TEST_CASE("literals outside expressions are normalized too (files, comments, passwords, bodies, SET values)",
          "[policy][digest]") {
  CHECK(Digest("COPY t FROM '/etc/passwd'").normalized == "COPY t FROM $1");
  CHECK(Digest("COMMENT ON TABLE t IS 'secret'").normalized == "COMMENT ON TABLE t IS $1");
  CHECK(Digest("CREATE ROLE r PASSWORD 'hunter2'").normalized == "CREATE ROLE r PASSWORD $1");
  CHECK(Digest("ALTER ROLE r SET app.current_organization_id = '7c9e6679'").normalized ==
        "ALTER ROLE r SET app.current_organization_id = $1");
  CHECK(Digest("PREPARE p AS SELECT 'x'").normalized == "PREPARE p AS SELECT $1");
  CHECK(Digest("CREATE TABLE c AS SELECT 42").normalized == "CREATE TABLE c AS SELECT $1");
  CHECK(Digest("DO $$BEGIN PERFORM 1; END$$").normalized == "DO $1");
  CHECK(Digest("NOTIFY ch, 'payload'").normalized == "NOTIFY ch, $1");
  CHECK(Digest("PREPARE TRANSACTION 'gid-1'").normalized == "PREPARE TRANSACTION $1");
}

TEST_CASE("the fingerprint is the same for other literals and differs for another shape", "[policy][digest]") {
  const std::string base = Digest("SELECT a FROM t WHERE b = 1 AND c = 'x'").fingerprint;
  CHECK(base.size() == 16);
  CHECK(Digest("select a from t where b = 2 and c = 'y'").fingerprint == base);
  CHECK(Digest("SELECT a FROM t WHERE b = $1 AND c = $2").fingerprint == base);
  CHECK(Digest("SELECT a FROM u WHERE b = 1 AND c = 'x'").fingerprint != base);
  CHECK(Digest("SELECT a FROM t WHERE b = 1 OR c = 'x'").fingerprint != base);
  CHECK(Digest("COPY t FROM '/etc/passwd'").fingerprint == Digest("COPY t FROM '/tmp/x'").fingerprint);
  CHECK(Digest("CREATE ROLE r PASSWORD 'a'").fingerprint == Digest("CREATE ROLE r PASSWORD 'b'").fingerprint);
}

}  // namespace
}  // namespace pgtenant::policy
