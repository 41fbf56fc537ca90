// The integration harness itself, against PostgreSQL only (no proxy): if these fail, nothing else can pass.
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <stdexcept>

#include "tests/integration/harness/net.h"
#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/process.h"

namespace pgtenant::integration {
namespace {

TEST_CASE("the shared PostgreSQL is a fresh PostgreSQL 15 of our own on a free loopback port", "[harness]") {
  PostgresServer& server = PostgresServer::Shared();
  REQUIRE(server.port() > 0);
  CHECK(server.port() != 5432);

  auto rows = server.Exec("SELECT current_setting('server_version_num')::int / 10000, current_setting('data_directory'),"
                          " current_setting('listen_addresses'), current_setting('max_connections')");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0][0] == "15");
  CHECK((rows[0][1].starts_with("/tmp/pgtenant-it-") || rows[0][1].starts_with("/dev/shm/pgtenant-it-")));
  CHECK(std::filesystem::exists(rows[0][1]));
  CHECK(rows[0][2] == "127.0.0.1");
  CHECK(rows[0][3] == "200");
}

TEST_CASE("Exec reports the server's error message", "[harness]") {
  PostgresServer& server = PostgresServer::Shared();
  CHECK_THROWS_WITH(server.Exec("SELECT * FROM no_such_table"), Catch::Contains("no_such_table"));
}

TEST_CASE("a test role logs in over TCP with SCRAM and owns its database", "[harness]") {
  PostgresServer& server = PostgresServer::Shared();
  TestDatabase db = server.CreateTestDatabase("harness");

  PgConn conn = Connect(server.ConnString(db.role, db.password, db.database));
  REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
  CHECK(QueryValue(conn.get(), "SELECT current_user") == db.role);
  CHECK(QueryValue(conn.get(), "SELECT current_database()") == db.database);
  MustExec(conn.get(), "CREATE TABLE t(x int); INSERT INTO t VALUES (1), (2)");
  CHECK(QueryValue(conn.get(), "SELECT sum(x) FROM t") == "3");
  auto stored = server.Exec("SELECT rolpassword FROM pg_authid WHERE rolname = '" + db.role + "'");
  REQUIRE(stored.size() == 1);
  CHECK(stored[0][0].starts_with("SCRAM-SHA-256$4096:"));
}

TEST_CASE("a refused login shows its SQLSTATE even though libpq has no result for it", "[harness]") {
  PostgresServer& server = PostgresServer::Shared();
  TestDatabase db = server.CreateTestDatabase("harness");

  PgConn wrong = Connect(server.ConnString(db.role, "wrong-password", db.database));
  REQUIRE(PQstatus(wrong.get()) == CONNECTION_BAD);
  CHECK(StartupSqlstate(wrong.get()) == "28P01");
  CHECK_THAT(PrimaryMessageOf(PQerrorMessage(wrong.get())), Catch::StartsWith("password authentication failed"));

  PgConn no_db = Connect(server.ConnString(db.role, db.password, "no_such_database"));
  REQUIRE(PQstatus(no_db.get()) == CONNECTION_BAD);
  CHECK(StartupSqlstate(no_db.get()) == "3D000");
}

TEST_CASE("the raw client logs in with SCRAM and reads ErrorResponses", "[harness]") {
  PostgresServer& server = PostgresServer::Shared();
  TestDatabase db = server.CreateTestDatabase("harness");

  RawClient good(server.port());
  CHECK(good.Login(db.role, db.password, db.database).empty());
  // A query whose syntax error comes back as an ErrorResponse, then ReadyForQuery.
  REQUIRE(good.Send(Message('Q', std::string("SELEC 1") + '\0')));
  auto error = good.ReadError(std::chrono::seconds(5));
  REQUIRE(error.has_value());
  CHECK((*error)['C'] == "42601");

  RawClient bad(server.port());
  auto refused = bad.Login(db.role, "wrong-password", db.database);
  CHECK(refused['C'] == "28P01");
  CHECK(bad.WaitForClose(std::chrono::seconds(5)));

  // PostgreSQL's own answer to a startup packet with an impossible length: what pgtenant must match.
  RawClient malformed(server.port());
  REQUIRE(malformed.Send(Int32(3)));
  auto fields = malformed.ReadError(std::chrono::seconds(5));
  // PostgreSQL closes without an ErrorResponse here ("invalid length of startup packet" is only logged).
  CHECK(!fields.has_value());
  CHECK(malformed.WaitForClose(std::chrono::seconds(5)));
}

TEST_CASE("ExecWithTimeout tells a slow statement from a finished one", "[harness]") {
  PostgresServer& server = PostgresServer::Shared();
  PgConn conn = Connect(server.ConnString("postgres", server.superuser_password(), "postgres"));
  REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
  auto done = ExecWithTimeout(conn.get(), "SELECT 1; SELECT 2", std::chrono::seconds(5));
  REQUIRE(done.has_value());
  REQUIRE(done->size() == 2);
  CHECK(std::string(PQgetvalue((*done)[1].get(), 0, 0)) == "2");

  auto slow = ExecWithTimeout(conn.get(), "SELECT pg_sleep(5)", std::chrono::milliseconds(300));
  CHECK_FALSE(slow.has_value());
}

TEST_CASE("RunCommand runs psql against the shared server and returns its output and exit code", "[harness]") {
  PostgresServer& server = PostgresServer::Shared();
  CommandResult ok = RunCommand({server.bindir() + "/psql", "-X", "-At", "-c", "SELECT 40 + 2",
                                 server.ConnString("postgres", server.superuser_password(), "postgres")});
  CHECK(ok.exit_code == 0);
  CHECK(ok.output == "42\n");

  CommandResult failed = RunCommand({server.bindir() + "/psql", "-X", "-v", "ON_ERROR_STOP=1", "-c", "SELEC 1",
                                     server.ConnString("postgres", server.superuser_password(), "postgres")});
  CHECK(failed.exit_code != 0);
  CHECK_THAT(failed.output, Catch::Contains("syntax error"));

  CommandResult with_stdin = RunCommand({"/bin/cat"}, {}, "piped text");
  CHECK(with_stdin.output == "piped text");
}

TEST_CASE("a restarted server keeps its port and its data, and cuts existing sessions", "[harness]") {
  std::unique_ptr<PostgresServer> own = PostgresServer::StartPrivate();
  PostgresServer& server = *own;
  TestDatabase db = server.CreateTestDatabase("harness");
  const int port = server.port();
  PgConn before = Connect(server.ConnString(db.role, db.password, db.database));
  REQUIRE(PQstatus(before.get()) == CONNECTION_OK);
  MustExec(before.get(), "CREATE TABLE kept(x int); INSERT INTO kept VALUES (7)");

  server.Restart();

  CHECK(server.port() == port);
  auto cut = ExecWithTimeout(before.get(), "SELECT 1", std::chrono::seconds(5));
  REQUIRE(cut.has_value());
  CHECK(PQstatus(before.get()) == CONNECTION_BAD);
  PgConn after = Connect(server.ConnString(db.role, db.password, db.database));
  REQUIRE(PQstatus(after.get()) == CONNECTION_OK);
  CHECK(QueryValue(after.get(), "SELECT x FROM kept") == "7");
}

TEST_CASE("free ports are free, and never handed out twice while leased", "[harness]") {
  const int port = FreePort();
  CHECK(port > 1024);
  CHECK_FALSE(CanConnect(port));
  CHECK(CanConnect(PostgresServer::Shared().port()));
  std::set<int> ports{port};
  for (int i = 0; i < 50; ++i) CHECK(ports.insert(FreePort()).second);
  // Below the ephemeral range: no outgoing connection takes them meanwhile.
  int ephemeral_low = 0;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> ephemeral_low;
  for (int p : ports) CHECK(p < ephemeral_low);
}

TEST_CASE("the shared PostgreSQL cannot be stopped by a test: a private one can", "[harness]") {
  PostgresServer& shared = PostgresServer::Shared();
  CHECK_THROWS_AS(shared.Restart(), std::logic_error);
  CHECK_THROWS_AS(shared.Stop(), std::logic_error);
  CHECK(CanConnect(shared.port()));
  std::unique_ptr<PostgresServer> own = PostgresServer::StartPrivate();
  CHECK(own->port() != shared.port());
  own->Stop();
  CHECK_FALSE(CanConnect(own->port()));
}

}  // namespace
}  // namespace pgtenant::integration
