// Size limits that do not end sessions: with the default limits a multi-megabyte batch INSERT and a
// 4 MB lo_write pass; a Query, Parse or FunctionCall over its limit gets ERROR 54000 and the session
// goes on, in both pool modes; only a length PostgreSQL itself could not frame (1 GB) is FATAL.
#include <catch2/catch.hpp>
#include <libpq-fe.h>
#include <libpq/libpq-fs.h>

#include <chrono>
#include <random>
#include <string>

#include "tests/integration/harness/net.h"
#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

constexpr auto kAnswerTimeout = std::chrono::seconds(30);

ProxyConfig ConfigFor(const TestDatabase& db, const std::string& mode) {
  ProxyConfig config = StandardConfig(db);
  config.pool_mode = mode;
  return config;
}

// INSERT INTO batch VALUES (1, '...'), (2, '...'), ... of about `bytes` bytes, as ORMs write batches.
std::string BatchInsert(size_t bytes, int& rows) {
  std::string sql = "INSERT INTO batch (id, note) VALUES ";
  rows = 0;
  const std::string note(90, 'n');
  while (sql.size() < bytes) {
    if (rows > 0) sql += ",";
    sql += "(" + std::to_string(++rows) + ",'" + note + "')";
  }
  return sql;
}

TEST_CASE("a 5 MB batch INSERT passes through libpq with the default limits", "[limits]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("batch");
  const std::string mode = GENERATE(std::string("session"), std::string("transaction"));
  INFO("pool mode " << mode);
  ProxyProcess proxy(ConfigFor(db, mode));
  PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  MustExec(conn.get(), "CREATE TABLE batch (id int, note text)");
  int rows = 0;
  const std::string sql = BatchInsert(5 * 1024 * 1024, rows);
  const auto started = std::chrono::steady_clock::now();
  auto results = ExecWithTimeout(conn.get(), sql, kAnswerTimeout);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  REQUIRE(results.has_value());
  REQUIRE(results->size() == 1);
  INFO(ErrorMessage(results->front().get()));
  CHECK(PQresultStatus(results->front().get()) == PGRES_COMMAND_OK);
  CHECK(QueryValue(conn.get(), "SELECT count(*) FROM batch") == std::to_string(rows));
  WARN("5 MB INSERT of " << rows << " rows through pgtenant: "
                         << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms");
}

TEST_CASE("an oversize Query gets ERROR 54000 and the next query on the same connection works", "[limits]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("oversize");
  const std::string mode = GENERATE(std::string("session"), std::string("transaction"));
  INFO("pool mode " << mode);
  ProxyConfig config = ConfigFor(db, mode);
  config.max_query_size = "1MB";
  ProxyProcess proxy(config);
  PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  const std::string oversize = "SELECT length('" + std::string(2 * 1024 * 1024, 'x') + "')";

  auto results = ExecWithTimeout(conn.get(), oversize, kAnswerTimeout);
  REQUIRE(results.has_value());
  REQUIRE(results->size() == 1);
  CHECK(PQresultStatus(results->front().get()) == PGRES_FATAL_ERROR);
  CHECK(Sqlstate(results->front().get()) == "54000");
  const std::string message = ErrorMessage(results->front().get());
  CHECK(message.find("limits.max_query_size") != std::string::npos);
  CHECK(std::string(PQresultErrorField(results->front().get(), PG_DIAG_SEVERITY)) == "ERROR");
  CHECK(PQresultErrorField(results->front().get(), PG_DIAG_MESSAGE_HINT) != nullptr);
  CHECK(PQstatus(conn.get()) == CONNECTION_OK);
  CHECK(QueryValue(conn.get(), "SELECT 'after'") == "after");

  // The extended protocol: the Parse is refused, the rest of the request skipped up to Sync.
  const char* values[1] = {"1"};
  PgResult params(PQexecParams(conn.get(), (oversize + " + $1::int").c_str(), 1, nullptr, values, nullptr, nullptr, 0));
  CHECK(Sqlstate(params.get()) == "54000");
  CHECK(QueryValue(conn.get(), "SELECT 'after parse'") == "after parse");

  // Inside a transaction it fails the transaction, as any error does; ROLLBACK ends it.
  MustExec(conn.get(), "BEGIN");
  PgResult in_transaction = Exec(conn.get(), oversize);
  CHECK(Sqlstate(in_transaction.get()) == "54000");
  CHECK(PQtransactionStatus(conn.get()) == PQTRANS_INERROR);
  MustExec(conn.get(), "ROLLBACK");
  CHECK(QueryValue(conn.get(), "SELECT 'after rollback'") == "after rollback");
}

TEST_CASE("an oversize Query is answered when its header arrives and skipped as the rest comes", "[limits]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("oversize");
  const std::string mode = GENERATE(std::string("session"), std::string("transaction"));
  INFO("pool mode " << mode);
  ProxyConfig config = ConfigFor(db, mode);
  config.max_query_size = "1MB";
  ProxyProcess proxy(config);
  RawClient raw(proxy.port());
  REQUIRE(raw.Login("bob", kBobPassword, "app").empty());

  const std::string body = "SELECT '" + std::string(2 * 1024 * 1024, 'x') + "'" + std::string(1, '\0');
  const std::string query = std::string("Q") + Int32(static_cast<uint32_t>(body.size() + 4)) + body;
  REQUIRE(raw.Send(query.substr(0, 1000)));
  auto error = raw.ReadError(kAnswerTimeout);
  REQUIRE(error.has_value());
  CHECK((*error)['S'] == "ERROR");
  CHECK((*error)['C'] == "54000");
  auto ready = raw.Read(kAnswerTimeout);
  REQUIRE(ready.has_value());
  CHECK(ready->type == 'Z');
  CHECK(ready->body == "I");

  REQUIRE(raw.Send(query.substr(1000)));
  REQUIRE(raw.Send(Message('Q', std::string("SELECT 'still here'") + std::string(1, '\0'))));
  std::string tags;
  for (;;) {
    auto message = raw.Read(kAnswerTimeout);
    REQUIRE(message.has_value());
    tags += message->type;
    if (message->type == 'D') CHECK(message->body.find("still here") != std::string::npos);
    if (message->type == 'Z') break;
  }
  CHECK(tags == "TDCZ");
}

TEST_CASE("a message length beyond PostgreSQL's 1 GB limit still gets FATAL 08P01", "[limits][malformed]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("oversize");
  ProxyProcess proxy(StandardConfig(db));
  PgConn bystander = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  RawClient raw(proxy.port());
  REQUIRE(raw.Login("bob", kBobPassword, "app").empty());
  REQUIRE(raw.Send(std::string("Q") + Int32(0x40000000u + 4) + "SELECT 1"));
  auto error = raw.ReadError(kAnswerTimeout);
  REQUIRE(error.has_value());
  CHECK((*error)['S'] == "FATAL");
  CHECK((*error)['C'] == "08P01");
  CHECK(raw.WaitForClose(kAnswerTimeout));
  CHECK(QueryValue(bystander.get(), "SELECT 'bystander fine'") == "bystander fine");
}

// libpq's large-object API calls lo_creat, lo_open, lowrite, ... with FunctionCall messages.
ProxyConfig LargeObjectConfig(const TestDatabase& db, const std::string& mode) {
  ProxyConfig config = ConfigFor(db, mode);
  config.extra_yaml =
      "policy: { rules: { ddl.schema_change: off, rls.bypass: off, protocol.function_call: off, "
      "server.large_objects: off } }\n";
  return config;
}

std::string RandomBytes(size_t size, uint32_t seed) {
  std::mt19937 random(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(random());
  return bytes;
}

TEST_CASE("a 4 MB lo_write passes through libpq's large-object API with the default limits", "[limits]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("lobject");
  const std::string mode = GENERATE(std::string("session"), std::string("transaction"));
  INFO("pool mode " << mode);
  ProxyProcess proxy(LargeObjectConfig(db, mode));
  PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  const std::string data = RandomBytes(4 * 1024 * 1024, 20261205);

  MustExec(conn.get(), "BEGIN");
  const Oid oid = lo_creat(conn.get(), INV_READ | INV_WRITE);
  REQUIRE(oid != InvalidOid);
  int fd = lo_open(conn.get(), oid, INV_WRITE);
  REQUIRE(fd >= 0);
  CHECK(lo_write(conn.get(), fd, data.data(), data.size()) == static_cast<int>(data.size()));
  CHECK(lo_close(conn.get(), fd) == 0);
  MustExec(conn.get(), "COMMIT");

  MustExec(conn.get(), "BEGIN");
  fd = lo_open(conn.get(), oid, INV_READ);
  REQUIRE(fd >= 0);
  std::string back(data.size(), '\0');
  CHECK(lo_read(conn.get(), fd, back.data(), back.size()) == static_cast<int>(data.size()));
  const bool same = back == data;
  CHECK(same);
  CHECK(lo_close(conn.get(), fd) == 0);
  CHECK(lo_unlink(conn.get(), oid) == 1);
  MustExec(conn.get(), "COMMIT");
}

TEST_CASE("an lo_write over limits.max_function_call_size gets ERROR 54000; the session goes on", "[limits]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("lobject");
  const std::string mode = GENERATE(std::string("session"), std::string("transaction"));
  INFO("pool mode " << mode);
  ProxyConfig config = LargeObjectConfig(db, mode);
  config.limits_extra = "max_function_call_size: 1MB";
  ProxyProcess proxy(config);
  PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  const std::string data = RandomBytes(2 * 1024 * 1024, 7);

  MustExec(conn.get(), "BEGIN");
  const Oid oid = lo_creat(conn.get(), INV_READ | INV_WRITE);
  REQUIRE(oid != InvalidOid);
  const int fd = lo_open(conn.get(), oid, INV_WRITE);
  REQUIRE(fd >= 0);
  CHECK(lo_write(conn.get(), fd, data.data(), data.size()) < 0);
  const std::string error = PQerrorMessage(conn.get());
  INFO(error);
  CHECK(error.find("54000") != std::string::npos);
  CHECK(error.find("limits.max_function_call_size") != std::string::npos);
  CHECK(PQtransactionStatus(conn.get()) == PQTRANS_INERROR);
  MustExec(conn.get(), "ROLLBACK");
  CHECK(QueryValue(conn.get(), "SELECT 'after'") == "after");
}

}  // namespace
}  // namespace pgtenant::integration
