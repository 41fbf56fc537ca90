// COPY through pgtenant: 100,000 rows in with COPY FROM STDIN and out with COPY TO STDOUT, byte-identical.
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <algorithm>
#include <string>

#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

constexpr int kRows = 100000;

// COPY text format in canonical form (what COPY TO emits): escaped tab and backslash, \N for NULL, UTF-8.
std::string CopyText() {
  std::string text;
  for (int i = 1; i <= kRows; ++i) {
    text += std::to_string(i);
    text += "\tlabel-";
    text += std::to_string(i * 7919 % 100003);
    text += '\t';
    if (i % 1000 == 0) {
      text += "\\N";
    } else {
      text += "note \\t with an escaped tab, a backslash \\\\ and caf\xc3\xa9 #" + std::to_string(i);
    }
    text += '\n';
  }
  return text;
}

size_t FirstDifference(const std::string& a, const std::string& b) {
  const auto [ia, ib] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  return static_cast<size_t>(ia - a.begin());
}

TEST_CASE("COPY FROM STDIN then COPY TO STDOUT of 100,000 rows returns exactly the bytes sent", "[copy]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("copy");
  ProxyProcess proxy(StandardConfig(db));
  PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  MustExec(conn.get(), "CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL, note text)");

  const std::string sent = CopyText();
  PgResult copy_in = Exec(conn.get(), "COPY items FROM STDIN");
  REQUIRE(PQresultStatus(copy_in.get()) == PGRES_COPY_IN);
  constexpr size_t kChunk = 64 * 1024;
  for (size_t at = 0; at < sent.size(); at += kChunk) {
    const size_t size = std::min(kChunk, sent.size() - at);
    REQUIRE(PQputCopyData(conn.get(), sent.data() + at, static_cast<int>(size)) == 1);
  }
  REQUIRE(PQputCopyEnd(conn.get(), nullptr) == 1);
  PgResult copied(PQgetResult(conn.get()));
  REQUIRE(PQresultStatus(copied.get()) == PGRES_COMMAND_OK);
  CHECK(std::string(PQcmdTuples(copied.get())) == std::to_string(kRows));
  PgResult end(PQgetResult(conn.get()));
  CHECK(end == nullptr);
  CHECK(QueryValue(conn.get(), "SELECT count(*) FROM items WHERE note IS NULL") == std::to_string(kRows / 1000));

  PgResult copy_out = Exec(conn.get(), "COPY (SELECT * FROM items ORDER BY id) TO STDOUT");
  REQUIRE(PQresultStatus(copy_out.get()) == PGRES_COPY_OUT);
  std::string received;
  for (;;) {
    char* row = nullptr;
    const int n = PQgetCopyData(conn.get(), &row, 0);
    if (n < 0) break;
    received.append(row, static_cast<size_t>(n));
    PQfreemem(row);
  }
  PgResult done(PQgetResult(conn.get()));
  REQUIRE(PQresultStatus(done.get()) == PGRES_COMMAND_OK);
  CHECK(std::string(PQcmdTuples(done.get())) == std::to_string(kRows));

  CHECK(received.size() == sent.size());
  INFO("first difference at byte " << FirstDifference(sent, received));
  const bool identical = received == sent;
  CHECK(identical);
}

TEST_CASE("a COPY FROM STDIN with bad data fails with the server's error and the session goes on", "[copy]") {
  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("copy");
  ProxyProcess proxy(StandardConfig(db));
  PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app");
  MustExec(conn.get(), "CREATE TABLE numbers (n int)");

  PgResult copy_in = Exec(conn.get(), "COPY numbers FROM STDIN");
  REQUIRE(PQresultStatus(copy_in.get()) == PGRES_COPY_IN);
  const std::string rows = "1\n2\nthree\n4\n";
  REQUIRE(PQputCopyData(conn.get(), rows.data(), static_cast<int>(rows.size())) == 1);
  REQUIRE(PQputCopyEnd(conn.get(), nullptr) == 1);
  PgResult failed(PQgetResult(conn.get()));
  CHECK(PQresultStatus(failed.get()) == PGRES_FATAL_ERROR);
  CHECK(Sqlstate(failed.get()) == "22P02");
  while (PgResult rest{PQgetResult(conn.get())}) {
  }
  CHECK(QueryValue(conn.get(), "SELECT count(*) FROM numbers") == "0");

  // A client can also abort its own COPY (CopyFail).
  PgResult again = Exec(conn.get(), "COPY numbers FROM STDIN");
  REQUIRE(PQresultStatus(again.get()) == PGRES_COPY_IN);
  REQUIRE(PQputCopyEnd(conn.get(), "client changed its mind") == 1);
  PgResult aborted(PQgetResult(conn.get()));
  CHECK(Sqlstate(aborted.get()) == "57014");
  CHECK_THAT(ErrorMessage(aborted.get()), Catch::Contains("client changed its mind"));
  while (PgResult rest{PQgetResult(conn.get())}) {
  }
  CHECK(QueryValue(conn.get(), "SELECT 'usable'") == "usable");
}

}  // namespace
}  // namespace pgtenant::integration
