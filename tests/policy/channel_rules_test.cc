// LISTEN/NOTIFY channels in the tenant's namespace (policy/channel_rules.cc): what the server gets in
// place of what a client of a shared database sends, what is refused (rule notify.channel), and that a
// tenant with a database of its own keeps its channels as they are. The namespaces below are
// 't' || left(md5(id), 16) || '.' of the fixture's tenant ids, worked out with md5sum.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "policy/channel_namespace.h"
#include "tests/policy/policy_fixture.h"

namespace pgtenant::policy {
namespace {

using config::TenantRole;
using testing::BaseYaml;
using testing::LoadTestConfig;
using testing::Session;

constexpr const char* kAcme = "t04e92dfec7a6939d.";
constexpr const char* kGlobex = "t11ba19eb62646ca1.";

struct Case {
  std::string sql;
  std::string rewritten;  // with "@" for the tenant's namespace; "" when the text goes as it is
};

std::string WithNamespace(std::string text, const std::string& ns) {
  for (size_t at = text.find('@'); at != std::string::npos; at = text.find('@', at + ns.size()))
    text.replace(at, 1, ns);
  return text;
}

const std::vector<Case> kCases = {
    {"LISTEN orders", " LISTEN \"@orders\""},
    {"LISTEN \"Orders\"", " LISTEN \"@Orders\""},
    {"listen ORDERS", " LISTEN \"@orders\""},  // folded as PostgreSQL folds it
    {"UNLISTEN orders", " UNLISTEN \"@orders\""},
    {"UNLISTEN *", ""},
    {"NOTIFY orders", " NOTIFY \"@orders\""},
    {"NOTIFY orders, 'it''s here'", " NOTIFY \"@orders\", 'it''s here'"},
    {"NOTIFY orders, E'a\\\\b'", " NOTIFY \"@orders\", E'a\\\\b'"},
    {"NOTIFY \"a\"\"b\"", " NOTIFY \"@a\"\"b\""},
    {"LISTEN a; SELECT 1; NOTIFY b, 'x'", " LISTEN \"@a\"; SELECT 1; NOTIFY \"@b\", 'x'"},
    {"SELECT pg_notify('orders', 'x')", "SELECT pg_notify('@' || 'orders', 'x')"},
    {"SELECT pg_catalog.pg_notify('orders', 'x')", "SELECT pg_catalog.pg_notify('@' || 'orders', 'x')"},
    {"SELECT pg_notify($1, $2)", "SELECT pg_notify('@' || $1, $2)"},
    {"SELECT pg_notify($1::text, $2)", "SELECT pg_notify('@' || $1::text, $2)"},
    {"SELECT pg_notify(CAST($1 AS text), $2)", "SELECT pg_notify('@' || CAST($1 AS text), $2)"},
    {"SELECT pg_notify(($1), 'x')", "SELECT pg_notify(('@' || $1), 'x')"},  // parentheses are not a node
    {"SELECT pg_notify(text 'orders', 'x')", "SELECT pg_notify('@' || text 'orders', 'x')"},
    {"SELECT 1, pg_notify('a', 'x'), pg_notify('b', 'y')", "SELECT 1, pg_notify('@' || 'a', 'x'), pg_notify('@' || 'b', 'y')"},
    {"SELECT pg_notify('orders', name) FROM projects", "SELECT pg_notify('@' || 'orders', name) FROM projects"},
    {"SELECT 1", ""},
};

TEST_CASE("LISTEN, UNLISTEN, NOTIFY and pg_notify reach the server in the tenant's channel namespace",
          "[policy][rules][notify]") {
  auto config = LoadTestConfig(BaseYaml());
  PolicyEngine engine;
  VerdictMemo memo;
  const SessionPolicy acme = Session(*config, "acme", TenantRole::kMember);
  const SessionPolicy globex = Session(*config, "globex", TenantRole::kMember);
  const SessionPolicy initech = Session(*config, "initech", TenantRole::kMember);
  REQUIRE(ChannelNamespace(*acme.tenant) == kAcme);
  REQUIRE(ChannelNamespace(*globex.tenant) == kGlobex);
  for (const Case& c : kCases) {
    INFO(c.sql);
    for (int round = 0; round < 2; ++round) {  // the second time from the cache, if it were cached
      const PolicyVerdict rls = *engine.Inspect(memo, acme, c.sql, StatementSource::kSimpleQuery);
      INFO(rls.rule_id << ": " << rls.reason);
      REQUIRE(rls.allowed);
      CHECK(rls.rewritten == WithNamespace(c.rewritten, kAcme));
      const PolicyVerdict schema = *engine.Inspect(memo, globex, c.sql, StatementSource::kSimpleQuery);
      REQUIRE(schema.allowed);
      CHECK(schema.rewritten == WithNamespace(c.rewritten, kGlobex));
      const PolicyVerdict dedicated = *engine.Inspect(memo, initech, c.sql, StatementSource::kSimpleQuery);
      REQUIRE(dedicated.allowed);
      CHECK(dedicated.rewritten.empty());
    }
  }
}

TEST_CASE("a rewritten verdict holds for its own text only: texts that differ in numbers get their own",
          "[policy][rules][notify]") {
  // The cache folds numeric literals: a cached rewrite would put the namespace at the wrong place.
  auto config = LoadTestConfig(BaseYaml());
  PolicyEngine engine;
  VerdictMemo memo;
  const SessionPolicy acme = Session(*config, "acme", TenantRole::kMember);
  CHECK(engine.Inspect(memo, acme, "SELECT 1, pg_notify('a', 'x')", StatementSource::kSimpleQuery)->rewritten ==
        std::string("SELECT 1, pg_notify('") + kAcme + "' || 'a', 'x')");
  CHECK(engine.Inspect(memo, acme, "SELECT 12345, pg_notify('a', 'x')", StatementSource::kSimpleQuery)->rewritten ==
        std::string("SELECT 12345, pg_notify('") + kAcme + "' || 'a', 'x')");
}

TEST_CASE("channels pgtenant cannot keep in the namespace are refused with notify.channel", "[policy][rules][notify]") {
  auto config = LoadTestConfig(BaseYaml());
  PolicyEngine engine;
  VerdictMemo memo;
  const SessionPolicy acme = Session(*config, "acme", TenantRole::kMember);
  const SessionPolicy initech = Session(*config, "initech", TenantRole::kMember);
  const std::string longest(kMaxClientChannelLength, 'c');
  for (const std::string& sql :
       {std::string("SELECT pg_notify(lower('ORDERS'), 'x')"), std::string("SELECT pg_notify('a' || 'b', 'x')"),
        std::string("SELECT pg_notify(name, 'x') FROM projects"), std::string("SELECT pg_notify($1::text::text, 'x')"),
        "LISTEN " + longest + "c", "NOTIFY " + longest + "c"}) {
    INFO(sql);
    const PolicyVerdict verdict = *engine.Inspect(memo, acme, sql, StatementSource::kSimpleQuery);
    CHECK_FALSE(verdict.allowed);
    CHECK(verdict.rule_id == "notify.channel");
    CHECK(engine.Inspect(memo, initech, sql, StatementSource::kSimpleQuery)->allowed);
  }
  CHECK(engine.Inspect(memo, acme, "LISTEN " + longest, StatementSource::kSimpleQuery)->allowed);
}

TEST_CASE("in transaction pooling LISTEN stays refused and NOTIFY is rewritten", "[policy][rules][notify]") {
  auto config = LoadTestConfig(BaseYaml());
  PolicyEngine engine;
  VerdictMemo memo;
  const SessionPolicy acme = Session(*config, "acme", TenantRole::kMember, /*transaction_pooling=*/true);
  CHECK(engine.Inspect(memo, acme, "LISTEN orders", StatementSource::kSimpleQuery)->rule_id == "pooling.session_state");
  CHECK(engine.Inspect(memo, acme, "NOTIFY orders", StatementSource::kSimpleQuery)->rewritten ==
        std::string(" NOTIFY \"") + kAcme + "orders\"");
}

TEST_CASE("a notification's channel loses the namespace; one outside it is not the client's", "[policy][notify]") {
  CHECK(ClientChannel("t04e92dfec7a6939d.orders", kAcme) == std::optional<std::string_view>("orders"));
  CHECK_FALSE(ClientChannel("orders", kAcme).has_value());
  CHECK_FALSE(ClientChannel("t11ba19eb62646ca1.orders", kAcme).has_value());
  CHECK_FALSE(ClientChannel(kAcme, kAcme).has_value());
}

}  // namespace
}  // namespace pgtenant::policy
