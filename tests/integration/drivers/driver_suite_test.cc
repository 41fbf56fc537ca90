// The driver and ORM suite (issue 23): real client libraries, each with its defaults, run a workload of
// two tenants through pgtenant in session and in transaction pooling (see driver_workload.h).
//
// Tagged [drivers] (ctest label `drivers`). What these drivers send by themselves and pgtenant answers
// from each client's own session state: pgjdbc's `SET extra_float_digits`, Django's `SET TIME ZONE`,
// psycopg's `DEALLOCATE ALL` and asyncpg's reset query (relay/session_settings.h).
#include <catch2/catch.hpp>

#include "tests/integration/drivers/driver_workload.h"

namespace pgtenant::integration {
namespace {

TEST_CASE("pgjdbc in session pooling: statements reused past prepareThreshold, batches, two tenants",
          "[drivers][pgjdbc][session]") {
  CheckDriverWorkload(Driver::kPgjdbc, "session");
}

TEST_CASE("pgjdbc in transaction pooling: statements reused past prepareThreshold, batches, two tenants",
          "[drivers][pgjdbc][transaction]") {
  CheckDriverWorkload(Driver::kPgjdbc, "transaction");
}

TEST_CASE("asyncpg.Pool in session pooling: acquire, release and its reset query, two tenants",
          "[drivers][asyncpg][session]") {
  CheckDriverWorkload(Driver::kAsyncpg, "session");
}

TEST_CASE("asyncpg.Pool in transaction pooling: acquire, release and its reset query, two tenants",
          "[drivers][asyncpg][transaction]") {
  CheckDriverWorkload(Driver::kAsyncpg, "transaction");
}

TEST_CASE("asyncpg.Pool in transaction pooling on a shared pool: its reset query keeps each tenant's context",
          "[drivers][asyncpg][transaction][shared_pool]") {
  CheckDriverWorkload(Driver::kAsyncpg, "transaction", /*shared_pool=*/true);
}

TEST_CASE("psycopg 3 in session pooling: prepare_threshold 5 and 0, rollbacks, two tenants",
          "[drivers][psycopg][session]") {
  CheckDriverWorkload(Driver::kPsycopg, "session");
}

TEST_CASE("psycopg 3 in transaction pooling: prepare_threshold 5 and 0, rollbacks, two tenants",
          "[drivers][psycopg][transaction]") {
  CheckDriverWorkload(Driver::kPsycopg, "transaction");
}

TEST_CASE("Django ORM with USE_TZ in session pooling, database TimeZone not UTC, two tenants",
          "[drivers][django][session]") {
  CheckDriverWorkload(Driver::kDjango, "session");
}

TEST_CASE("Django ORM with USE_TZ in transaction pooling, database TimeZone not UTC, two tenants",
          "[drivers][django][transaction]") {
  CheckDriverWorkload(Driver::kDjango, "transaction");
}

TEST_CASE("SQLAlchemy ORM over psycopg2 in session pooling, two tenants", "[drivers][sqlalchemy][session]") {
  CheckDriverWorkload(Driver::kSqlalchemy, "session");
}

TEST_CASE("SQLAlchemy ORM over psycopg2 in transaction pooling, two tenants", "[drivers][sqlalchemy][transaction]") {
  CheckDriverWorkload(Driver::kSqlalchemy, "transaction");
}

TEST_CASE("node-postgres pg.Pool with named statements in session pooling, two tenants",
          "[drivers][node-postgres][session]") {
  CheckDriverWorkload(Driver::kNodePostgres, "session");
}

TEST_CASE("node-postgres pg.Pool with named statements in transaction pooling, two tenants",
          "[drivers][node-postgres][transaction]") {
  CheckDriverWorkload(Driver::kNodePostgres, "transaction");
}

TEST_CASE("postgres.js in session pooling, two tenants", "[drivers][postgresjs][session]") {
  CheckDriverWorkload(Driver::kPostgresJs, "session");
}

TEST_CASE("postgres.js in transaction pooling, two tenants", "[drivers][postgresjs][transaction]") {
  CheckDriverWorkload(Driver::kPostgresJs, "transaction");
}

}  // namespace
}  // namespace pgtenant::integration
