// No false positives: realistic application SQL (tests/policy/corpus/*.sql) passes for a tenant member
// in transaction pooling, in both protocols.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/policy/policy_fixture.h"

namespace pgtenant::policy {
namespace {

namespace fs = std::filesystem;

const fs::path kCorpus = fs::path(__FILE__).parent_path() / "corpus";

// Blocks separated by lines holding only "--;"; blocks that hold nothing but comments are skipped.
std::vector<std::string> ReadStatements(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> statements;
  std::string block, line;
  bool has_sql = false;
  auto flush = [&]() {
    if (has_sql) statements.push_back(block);
    block.clear();
    has_sql = false;
  };
  while (std::getline(in, line)) {
    if (line == "--;") {
      flush();
      continue;
    }
    if (line.rfind("--", 0) != 0 && line.find_first_not_of(" \t") != std::string::npos) has_sql = true;
    block += line + "\n";
  }
  flush();
  return statements;
}

TEST_CASE("realistic application SQL passes for a member in transaction pooling", "[policy][corpus]") {
  auto config = testing::LoadTestConfig(testing::BaseYaml());
  PolicyEngine engine;
  VerdictMemo memo;
  const SessionPolicy member = testing::Session(*config, "acme", config::TenantRole::kMember, true);
  size_t count = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(kCorpus)) {
    if (entry.path().extension() != ".sql") continue;
    for (const std::string& sql : ReadStatements(entry.path())) {
      ++count;
      for (StatementSource source : {StatementSource::kSimpleQuery, StatementSource::kParse}) {
        const PolicyVerdict verdict = *engine.Inspect(memo, member, sql, source);
        INFO(entry.path().filename().string() << ": " << sql);
        INFO("blocked by " << verdict.rule_id << ": " << verdict.reason);
        CHECK(verdict.allowed);
        CHECK_FALSE(verdict.fingerprint.empty());
      }
    }
  }
  CHECK(count >= 60);
}

TEST_CASE("the corpus also passes for a schema tenant, except what needs a session", "[policy][corpus]") {
  auto config = testing::LoadTestConfig(testing::BaseYaml());
  PolicyEngine engine;
  VerdictMemo memo;
  const SessionPolicy member = testing::Session(*config, "globex", config::TenantRole::kMember, false);
  for (const std::string& sql : ReadStatements(kCorpus / "application.sql")) {
    const PolicyVerdict verdict = *engine.Inspect(memo, member, sql, StatementSource::kParse);
    INFO(sql);
    INFO("blocked by " << verdict.rule_id << ": " << verdict.reason);
    CHECK(verdict.allowed);
  }
}

}  // namespace
}  // namespace pgtenant::policy
