// No session parameter crosses from one client to another (issue 23): clients that ask for different
// TimeZone / application_name / extra_float_digits, each the way drivers do it (startup parameters as libpq
// sends PGTZ and application_name, `options=-c ...` as PGOPTIONS, SET as pgjdbc and Django do, nothing at
// all), take turns on a pool of ONE server connection; each must always see its own values, in its queries
// (simple and extended protocol) and in the ParameterStatus messages it was sent, and RESET must bring back
// its own startup value.
//
// Tagged [drivers][leak]. Before pgtenant kept each client's session state (issue 23), a client that set
// nothing inherited the last client's TimeZone and application_name in transaction pooling, session-level
// SET was refused there, and `options=-c` was refused in both modes.
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/drivers/driver_workload.h"
#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/tenant_world.h"
#include "tests/integration/harness/test_watch.h"

namespace pgtenant::integration {
namespace {

// PostgreSQL's default of extra_float_digits; the database's TimeZone is kDriverDatabaseTimezone.
constexpr char kDefaultExtraFloatDigits[] = "1";
constexpr int kRounds = 4;

struct Settings {
  std::string timezone;
  std::string application_name;
  std::string extra_float_digits;
};

// A client and what it asks for; `expected` is what it must see after `after_connect`.
struct LeakClient {
  std::string name;
  std::string login;
  std::string pgtz;            // PGTZ while libpq connects: the TimeZone startup parameter ("" none)
  std::string conninfo;        // appended to the connection string (application_name=..., options=...)
  std::vector<std::string> after_connect;  // session-level SET statements, as drivers send them
  Settings expected;
};

const Settings kDatabaseDefaults{kDriverDatabaseTimezone, "", kDefaultExtraFloatDigits};

LeakClient Plain() { return {"plain (asks for nothing)", "bob.acme", "", "", {}, kDatabaseDefaults}; }

LeakClient Startup() {
  return {"startup (PGTZ, application_name)", "alice.acme", "Asia/Tokyo", "application_name=leaky", {},
          {"Asia/Tokyo", "leaky", kDefaultExtraFloatDigits}};
}

LeakClient Setter() {
  return {"SET (as pgjdbc and Django)",
          "bob.acme",
          "",
          "",
          {"SET extra_float_digits = 3", "SET application_name = 'PostgreSQL JDBC Driver'", "SET TIME ZONE 'UTC'"},
          {"UTC", "PostgreSQL JDBC Driver", "3"}};
}

LeakClient Options() {
  return {"options=-c (as PGOPTIONS)",
          "alice.acme",
          "",
          "options='-c TimeZone=Europe/Lisbon -c application_name=from-options -c extra_float_digits=0'",
          {},
          {"Europe/Lisbon", "from-options", "0"}};
}

// A TenantWorld whose shared database has a TimeZone no client asks for, behind a pgtenant with one
// server connection per tenant.
struct LeakWorld {
  TenantWorld world = TenantWorld::Create();
  LeakWorld() {
    // The clients below are libpq connections of this process: a developer's shell must not give the
    // one that asks for nothing a TimeZone, an application_name or options.
    for (const char* variable : {"PGTZ", "PGAPPNAME", "PGOPTIONS", "PGDATESTYLE"}) unsetenv(variable);
  }
  ProxyConfig Config(const std::string& pool_mode) {
    PostgresServer::Shared().Exec("ALTER DATABASE " + world.shared.database + " SET timezone = '" +
                                  kDriverDatabaseTimezone + "'");
    ProxyConfig config = world.Config();
    config.pool_mode = pool_mode;
    config.pool_size = 1;
    config.pool_wait_timeout = "30s";
    return config;
  }
};

PgConn ConnectClient(const ProxyProcess& proxy, const LeakClient& client) {
  // libpq reads PGTZ while it builds the startup packet, inside the connect below.
  if (client.pgtz.empty()) {
    unsetenv("PGTZ");
  } else {
    setenv("PGTZ", client.pgtz.c_str(), 1);
  }
  PgConn conn = MustConnectAs(proxy, client.login, "app", client.conninfo);
  unsetenv("PGTZ");
  for (const std::string& sql : client.after_connect) MustExec(conn.get(), sql);
  return conn;
}

// Checks with Catch2 that `conn` sees `expected`; returns its server's backend pid.
std::string CheckSees(PGconn* conn, const std::string& who, const Settings& expected) {
  INFO(who);
  PgResult simple = MustExec(conn, "SELECT current_setting('TimeZone'), current_setting('application_name'), "
                                   "current_setting('extra_float_digits'), pg_backend_pid()");
  CHECK(std::string(PQgetvalue(simple.get(), 0, 0)) == expected.timezone);
  CHECK(std::string(PQgetvalue(simple.get(), 0, 1)) == expected.application_name);
  CHECK(std::string(PQgetvalue(simple.get(), 0, 2)) == expected.extra_float_digits);
  // The extended protocol, in a transaction block of its own.
  MustExec(conn, "BEGIN");
  const char* name = "TimeZone";
  PgResult extended(PQexecParams(conn, "SELECT current_setting($1)", 1, nullptr, &name, nullptr, nullptr, 0));
  REQUIRE(PQresultStatus(extended.get()) == PGRES_TUPLES_OK);
  CHECK(std::string(PQgetvalue(extended.get(), 0, 0)) == expected.timezone);
  CHECK(QueryValue(conn, "SHOW extra_float_digits") == expected.extra_float_digits);
  MustExec(conn, "COMMIT");
  // What the client was told in ParameterStatus messages (both are reported parameters).
  const char* timezone = PQparameterStatus(conn, "TimeZone");
  const char* application_name = PQparameterStatus(conn, "application_name");
  CHECK(std::string(timezone == nullptr ? "(none)" : timezone) == expected.timezone);
  CHECK(std::string(application_name == nullptr ? "(none)" : application_name) == expected.application_name);
  return PQgetvalue(simple.get(), 0, 3);
}

// Transaction pooling: every client connected at once, taking turns, round after round, on the tenant's
// one server connection.
void AlternateConnected(const std::vector<LeakClient>& clients) {
  LeakWorld leak;
  ProxyProcess proxy(leak.Config("transaction"));
  std::vector<PgConn> conns;
  for (const LeakClient& client : clients) conns.push_back(ConnectClient(proxy, client));
  std::set<std::string> server_pids;
  // After a round with a failure, the next rounds would only repeat it.
  for (int round = 0; round < kRounds && !CurrentTestCaseFailed(); ++round) {
    for (size_t i = 0; i < clients.size(); ++i) {
      server_pids.insert(CheckSees(conns[i].get(), clients[i].name + ", round " + std::to_string(round),
                                   clients[i].expected));
    }
  }
  CHECK(server_pids.size() == 1);  // they did share the one server connection
}

// Session pooling: the clients one after another, each a session of its own on the tenant's one server
// connection, round after round.
void AlternateSessions(const std::vector<LeakClient>& clients) {
  LeakWorld leak;
  ProxyProcess proxy(leak.Config("session"));
  for (int round = 0; round < kRounds && !CurrentTestCaseFailed(); ++round) {
    for (const LeakClient& client : clients) {
      PgConn conn = ConnectClient(proxy, client);
      CheckSees(conn.get(), client.name + ", round " + std::to_string(round), client.expected);
    }
  }
}

TEST_CASE("transaction pooling, one server connection: a client that asks for no TimeZone or application_name "
          "never sees another client's",
          "[drivers][leak][transaction]") {
  AlternateConnected({Plain(), Startup(), Plain(), Startup()});
}

TEST_CASE("transaction pooling, one server connection: TimeZone, application_name and extra_float_digits set "
          "with SET, in options or at startup stay with their client",
          "[drivers][leak][transaction]") {
  AlternateConnected({Setter(), Plain(), Startup(), Options()});
}

TEST_CASE("session pooling, one server connection: sessions one after another never see their predecessor's "
          "TimeZone, application_name or extra_float_digits",
          "[drivers][leak][session]") {
  AlternateSessions({Setter(), Plain(), Startup(), Plain()});
}

TEST_CASE("session pooling: TimeZone, application_name and extra_float_digits in options are accepted at startup "
          "and stay with their client",
          "[drivers][leak][session]") {
  AlternateSessions({Options(), Plain(), Options(), Startup()});
}

// RESET returns to the client's startup value, as in PostgreSQL, not to the server's default.
void CheckResetReturnsToStartup(const std::string& pool_mode) {
  LeakWorld leak;
  ProxyProcess proxy(leak.Config(pool_mode));
  const LeakClient startup = Startup();
  PgConn conn = ConnectClient(proxy, startup);
  // Another client between the statements, where the pool lets one in.
  PgConn other = pool_mode == "transaction" ? ConnectClient(proxy, Setter()) : PgConn();
  auto other_turn = [&] {
    if (other) CheckSees(other.get(), "the other client", Setter().expected);
  };
  MustExec(conn.get(), "SET TIME ZONE 'Pacific/Auckland'");
  MustExec(conn.get(), "SET application_name = 'renamed'");
  MustExec(conn.get(), "SET extra_float_digits = 2");
  other_turn();
  CheckSees(conn.get(), "after SET", {"Pacific/Auckland", "renamed", "2"});
  MustExec(conn.get(), "RESET TimeZone");
  MustExec(conn.get(), "RESET application_name");
  other_turn();
  CheckSees(conn.get(), "after RESET TimeZone and application_name", {"Asia/Tokyo", "leaky", "2"});
  MustExec(conn.get(), "SET TIME ZONE 'Pacific/Auckland'");
  MustExec(conn.get(), "RESET ALL");
  other_turn();
  CheckSees(conn.get(), "after RESET ALL", startup.expected);
  MustExec(conn.get(), "SET TIME ZONE DEFAULT");
  other_turn();
  CheckSees(conn.get(), "after SET TIME ZONE DEFAULT", startup.expected);
}

TEST_CASE("transaction pooling: RESET and RESET ALL return a client to its own startup values",
          "[drivers][leak][transaction]") {
  CheckResetReturnsToStartup("transaction");
}

TEST_CASE("session pooling: RESET and RESET ALL return a client to its own startup values",
          "[drivers][leak][session]") {
  CheckResetReturnsToStartup("session");
}

}  // namespace
}  // namespace pgtenant::integration
