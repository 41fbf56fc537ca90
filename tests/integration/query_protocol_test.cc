// Through pgtenant, the simple and extended query protocols behave as they do against PostgreSQL itself.
#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <cstring>
#include <random>
#include <string>

#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

TEST_CASE("a simple query runs on the backend's database as the backend's role", "[query]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("simple");
  ProxyProcess proxy(StandardConfig(db));
  PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app");

  PgResult result = MustExec(conn.get(), "SELECT 1 AS one, 'two'::text AS two, NULL::int AS three");
  REQUIRE(PQntuples(result.get()) == 1);
  REQUIRE(PQnfields(result.get()) == 3);
  CHECK(std::string(PQfname(result.get(), 1)) == "two");
  CHECK(std::string(PQgetvalue(result.get(), 0, 0)) == "1");
  CHECK(std::string(PQgetvalue(result.get(), 0, 1)) == "two");
  CHECK(PQgetisnull(result.get(), 0, 2) == 1);

  CHECK(QueryValue(conn.get(), "SELECT current_user") == db.role);
  CHECK(QueryValue(conn.get(), "SELECT current_database()") == db.database);
}

TEST_CASE("errors, transactions and multi-statement queries pass through and the session stays usable",
          "[query]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("simple");
  ProxyProcess proxy(StandardConfig(db));
  PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app");

  PgResult error = Exec(conn.get(), "SELEC 1");
  CHECK(PQresultStatus(error.get()) == PGRES_FATAL_ERROR);
  CHECK(Sqlstate(error.get()) == "42601");
  CHECK(QueryValue(conn.get(), "SELECT 2") == "2");

  MustExec(conn.get(), "CREATE TABLE t (x int)");
  MustExec(conn.get(), "BEGIN");
  CHECK(PQtransactionStatus(conn.get()) == PQTRANS_INTRANS);
  MustExec(conn.get(), "INSERT INTO t VALUES (1)");
  PgResult failed = Exec(conn.get(), "SELECT 1/0");
  CHECK(Sqlstate(failed.get()) == "22012");
  CHECK(PQtransactionStatus(conn.get()) == PQTRANS_INERROR);
  MustExec(conn.get(), "ROLLBACK");
  CHECK(PQtransactionStatus(conn.get()) == PQTRANS_IDLE);
  CHECK(QueryValue(conn.get(), "SELECT count(*) FROM t") == "0");

  // Several statements in one Query message: libpq keeps the last result.
  PgResult last = MustExec(conn.get(), "INSERT INTO t VALUES (1); INSERT INTO t VALUES (2); SELECT sum(x) FROM t");
  CHECK(std::string(PQgetvalue(last.get(), 0, 0)) == "3");
}

TEST_CASE("PQexecParams sends parameters and returns text and binary results", "[query]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("params");
  ProxyProcess proxy(StandardConfig(db));
  PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app");

  const char* values[3] = {"40", "2", nullptr};
  PgResult text(PQexecParams(conn.get(), "SELECT $1::int + $2::int, $3::text IS NULL", 3, nullptr, values, nullptr,
                             nullptr, 0));
  REQUIRE(PQresultStatus(text.get()) == PGRES_TUPLES_OK);
  CHECK(std::string(PQgetvalue(text.get(), 0, 0)) == "42");
  CHECK(std::string(PQgetvalue(text.get(), 0, 1)) == "t");

  PgResult binary(PQexecParams(conn.get(), "SELECT $1::int4 * 1000", 1, nullptr, values, nullptr, nullptr, 1));
  REQUIRE(PQresultStatus(binary.get()) == PGRES_TUPLES_OK);
  REQUIRE(PQgetlength(binary.get(), 0, 0) == 4);
  uint32_t network_order = 0;
  std::memcpy(&network_order, PQgetvalue(binary.get(), 0, 0), 4);
  CHECK(ntohl(network_order) == 40000u);

  PgResult null_parameter(PQexecParams(conn.get(), "SELECT $1::int", 1, nullptr, values + 2, nullptr, nullptr, 0));
  REQUIRE(PQresultStatus(null_parameter.get()) == PGRES_TUPLES_OK);
  CHECK(PQgetisnull(null_parameter.get(), 0, 0) == 1);
  const char* not_a_number[1] = {"forty"};
  PgResult error(PQexecParams(conn.get(), "SELECT $1::int", 1, nullptr, not_a_number, nullptr, nullptr, 0));
  CHECK(Sqlstate(error.get()) == "22P02");
  CHECK(QueryValue(conn.get(), "SELECT 'still usable'") == "still usable");
}

TEST_CASE("a prepared statement is described and executed many times", "[query]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("prepared");
  ProxyProcess proxy(StandardConfig(db));
  PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app");

  PgResult prepared(PQprepare(conn.get(), "shout", "SELECT upper($1::text) || '!' AS shouted", 1, nullptr));
  REQUIRE(PQresultStatus(prepared.get()) == PGRES_COMMAND_OK);

  PgResult described(PQdescribePrepared(conn.get(), "shout"));
  REQUIRE(PQresultStatus(described.get()) == PGRES_COMMAND_OK);
  CHECK(PQnparams(described.get()) == 1);
  CHECK(std::string(PQfname(described.get(), 0)) == "shouted");

  for (const std::string word : {"hello", "tenant", "proxy"}) {
    const char* values[1] = {word.c_str()};
    PgResult result(PQexecPrepared(conn.get(), "shout", 1, values, nullptr, nullptr, 0));
    REQUIRE(PQresultStatus(result.get()) == PGRES_TUPLES_OK);
    std::string expected = word;
    for (char& c : expected) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(std::string(PQgetvalue(result.get(), 0, 0)) == expected + "!");
  }
  CHECK(QueryValue(conn.get(), "SELECT count(*) FROM pg_prepared_statements WHERE name = 'shout'") == "1");
}

TEST_CASE("libpq pipeline mode: results in order, an error aborts the rest until the sync", "[query]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("pipeline");
  ProxyProcess proxy(StandardConfig(db));
  PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  PGconn* c = conn.get();

  REQUIRE(PQenterPipelineMode(c) == 1);
  const char* one[1] = {"1"};
  REQUIRE(PQsendQueryParams(c, "SELECT $1::int", 1, nullptr, one, nullptr, nullptr, 0) == 1);
  REQUIRE(PQsendQueryParams(c, "SELECT 2", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1);
  REQUIRE(PQsendQueryParams(c, "SELECT 1/0", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1);
  REQUIRE(PQsendQueryParams(c, "SELECT 4", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1);
  REQUIRE(PQpipelineSync(c) == 1);
  REQUIRE(PQsendQueryParams(c, "SELECT 5", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1);
  REQUIRE(PQpipelineSync(c) == 1);

  // Every query's results end with a null PGresult; every sync yields PGRES_PIPELINE_SYNC.
  auto next_query = [&](ExecStatusType expected_status) {
    PgResult result(PQgetResult(c));
    REQUIRE(result != nullptr);
    CHECK(PQresultStatus(result.get()) == expected_status);
    PgResult end(PQgetResult(c));
    CHECK(end == nullptr);
    return result;
  };
  CHECK(std::string(PQgetvalue(next_query(PGRES_TUPLES_OK).get(), 0, 0)) == "1");
  CHECK(std::string(PQgetvalue(next_query(PGRES_TUPLES_OK).get(), 0, 0)) == "2");
  CHECK(Sqlstate(next_query(PGRES_FATAL_ERROR).get()) == "22012");
  next_query(PGRES_PIPELINE_ABORTED);
  PgResult sync(PQgetResult(c));
  REQUIRE(sync != nullptr);
  CHECK(PQresultStatus(sync.get()) == PGRES_PIPELINE_SYNC);
  CHECK(std::string(PQgetvalue(next_query(PGRES_TUPLES_OK).get(), 0, 0)) == "5");
  PgResult sync2(PQgetResult(c));
  REQUIRE(sync2 != nullptr);
  CHECK(PQresultStatus(sync2.get()) == PGRES_PIPELINE_SYNC);

  REQUIRE(PQexitPipelineMode(c) == 1);
  CHECK(QueryValue(c, "SELECT 'after pipeline'") == "after pipeline");
}

TEST_CASE("a 10 MB text parameter makes the round trip byte for byte", "[query]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("large");
  ProxyConfig config = StandardConfig(db);
  config.max_query_size = "1MB";  // a Bind value is not a query
  ProxyProcess proxy(config);
  PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app");

  std::mt19937 random(20240601);
  std::string value(10 * 1024 * 1024, '\0');
  for (char& c : value) c = static_cast<char>('!' + random() % 90);
  const char* values[1] = {value.c_str()};
  PgResult result(PQexecParams(conn.get(), "SELECT $1::text, length($1::text), md5($1::text)", 1, nullptr, values,
                               nullptr, nullptr, 0));
  REQUIRE(PQresultStatus(result.get()) == PGRES_TUPLES_OK);
  CHECK(std::string(PQgetvalue(result.get(), 0, 1)) == std::to_string(value.size()));
  REQUIRE(static_cast<size_t>(PQgetlength(result.get(), 0, 0)) == value.size());
  const bool identical = std::memcmp(PQgetvalue(result.get(), 0, 0), value.data(), value.size()) == 0;
  CHECK(identical);
  CHECK(QueryValue(conn.get(), "SELECT 1") == "1");
}

TEST_CASE("a simple query just under max_query_size is accepted", "[query][limits]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("nearlimit");
  ProxyConfig config = StandardConfig(db);
  config.max_query_size = "1MB";
  ProxyProcess proxy(config);
  PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app");

  const std::string literal(900 * 1024, 'x');
  CHECK(QueryValue(conn.get(), "SELECT length('" + literal + "')") == std::to_string(literal.size()));
}

}  // namespace
}  // namespace pgtenant::integration
