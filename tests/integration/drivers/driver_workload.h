// The driver and ORM suite's common run: a real client library's workload program (pgjdbc, asyncpg,
// psycopg 3, Django, SQLAlchemy, node-postgres, postgres.js) driven against pgtenant, and what it saw.
//
// Every program in this folder takes the same arguments (see workload_common.py for the format) and runs
// the same workload with its library's defaults: two tenants at once (acme and umbrella of a TenantWorld,
// RLS on one shared table), two applications per tenant, each with its own TimeZone and application_name
// where the library lets a client choose them, and more workers than server connections. Each transaction
// checks that it sees only its tenant's rows and context and its own TimeZone and application_name, and
// writes rows named "<driver> <tenant> ..."; the program prints one RESULT line with its counts and one
// FAILURE line per error it met (the library's own message, SQLSTATE first where it has one).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tests/integration/harness/process.h"

namespace pgtenant::integration {

// The workload programs and the interpreters that run them.
enum class Driver {
  kPgjdbc,        // PgjdbcWorkload.java (compiled at test time) on Debian's libpostgresql-jdbc-java
  kAsyncpg,       // asyncpg_workload.py
  kPsycopg,       // psycopg_workload.py (psycopg 3)
  kDjango,        // django_workload.py (over psycopg2)
  kSqlalchemy,    // sqlalchemy_workload.py (over psycopg2)
  kNodePostgres,  // node_postgres_workload.js (npm pg)
  kPostgresJs,    // postgresjs_workload.js (npm postgres)
};

// What a workload program reported; -1 for a count it did not print (it died before its RESULT line).
struct WorkloadReport {
  long transactions = -1;            // committed
  long rows_written = -1;            // committed rows named "<driver> ..."
  long foreign_rows = -1;            // rows of another organization seen
  long wrong_tenant = -1;            // app.current_organization_id not the client's tenant
  long wrong_timezone = -1;          // SHOW timezone not the client's own
  long wrong_application_name = -1;  // current_setting('application_name') not the client's own
  long failures = -1;                // errors raised by the library (FAILURE lines)
};
WorkloadReport ParseWorkloadReport(const std::string& output);

// Runs `driver`'s workload against a fresh TenantWorld (TimeZone of its shared database set to
// kDriverDatabaseTimezone, which no client asks for) behind a pgtenant in `pool_mode` ("session" or
// "transaction") with two server connections per tenant, then checks with Catch2 assertions: the program
// ran to its end with no failure, every count of wrong things is 0, the transactions all committed, and
// the shared table holds exactly the rows the program wrote, each in its writer's organization.
// `shared_pool`: the RLS tenants' backend has shared_pool on (the two tenants take turns on the same
// server connections, and pgtenant sets the tenant context on each switch).
void CheckDriverWorkload(Driver driver, const std::string& pool_mode, bool shared_pool = false);

// The TimeZone of the test database: not UTC, so that Django's `SET TIME ZONE 'UTC'` is needed, and not
// what any client asks for, so that a client given the server's default instead of its own is seen.
inline constexpr char kDriverDatabaseTimezone[] = "America/Sao_Paulo";

// Where a driver program is: tests/integration/drivers/<file> in the source tree.
std::string DriverProgramPath(const std::string& file);

// PgjdbcWorkload.java compiled with javac into <build>/tests/integration/drivers/pgjdbc, once per build
// tree (compile_pgjdbc_workload; concurrent callers wait for one compile). Returns that class directory;
// throws std::runtime_error with javac's output when the compile fails.
std::string CompiledPgjdbcWorkload();

// The npm packages of the node programs (package.json and package-lock.json of this folder), installed
// by `npm ci` into a cache outside the repository on first use and reused after: $PGTENANT_NODE_DRIVERS
// if set, else $XDG_CACHE_HOME/pgtenant/node-drivers, else $HOME/.cache/pgtenant/node-drivers. Returns
// the node_modules directory; throws std::runtime_error with npm's output when the install fails.
// Concurrent callers (tests running side by side) wait for one install (flock).
std::string NodeDriverModules();

}  // namespace pgtenant::integration
