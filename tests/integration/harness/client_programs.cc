// Stock PostgreSQL client programs run by a test: their environment and what pgbench reports.
#include "tests/integration/harness/client_programs.h"

#include <catch2/catch.hpp>

#include <regex>

namespace pgtenant::integration {

std::map<std::string, std::string> ClientEnv(const std::string& password) {
  return {{"PGPASSWORD", password}, {"PGCONNECT_TIMEOUT", "10"}, {"PGGSSENCMODE", "disable"}};
}

PgbenchReport ParsePgbench(const std::string& output) {
  PgbenchReport report;
  std::smatch match;
  if (std::regex_search(output, match, std::regex("number of failed transactions: (\\d+)"))) {
    report.failed_transactions = std::stol(match[1]);
  }
  if (std::regex_search(output, match, std::regex("number of transactions actually processed: (\\d+)"))) {
    report.processed_transactions = std::stol(match[1]);
  }
  return report;
}

void CheckPgbenchClean(const CommandResult& ran, long more_than) {
  INFO(ran.output);
  REQUIRE(ran.exit_code == 0);
  const PgbenchReport report = ParsePgbench(ran.output);
  CHECK(report.failed_transactions == 0);
  CHECK(report.processed_transactions > more_than);
}

}  // namespace pgtenant::integration
