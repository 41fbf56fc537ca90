// Stock PostgreSQL client programs (psql, pgbench) run by a test: their environment and what pgbench
// reports.
#pragma once

#include <map>
#include <string>

#include "tests/integration/harness/process.h"

namespace pgtenant::integration {

// The environment of psql/pgbench connecting to the proxy with `password` (PG* variables of the test's
// own environment are never inherited: see SpawnOptions). sslmode stays libpq's default (prefer).
std::map<std::string, std::string> ClientEnv(const std::string& password);

// What a pgbench run printed at its end; -1 for a line it did not print.
struct PgbenchReport {
  long failed_transactions = -1;     // "number of failed transactions: N"
  long processed_transactions = -1;  // "number of transactions actually processed: N"
};
PgbenchReport ParsePgbench(const std::string& output);

// Checks (Catch2 assertions, with pgbench's output as context) that pgbench exited 0, reported no
// failed transaction, and processed more than `more_than` transactions.
void CheckPgbenchClean(const CommandResult& ran, long more_than = 0);

}  // namespace pgtenant::integration
