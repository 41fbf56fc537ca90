// NodeCatalog and the fail-closed inspector: every node type of the libpg_query in use has a role,
// the structs the rules read have the fields the rules know, and what the inspector does not know
// blocks the statement with parse.unknown_node. A libpg_query upgrade that adds a node, a field or an
// enum value the rules compare fails these tests before it reaches a tenant.
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "policy/node_catalog.h"
#include "policy/policy_engine.h"
#include "policy/sql_parser.h"
#include "policy/tree_inspector.h"
#include "tests/policy/policy_fixture.h"
#include "tests/support/marker_statements.h"

namespace pgtenant::policy {
namespace {

using testing::BaseYaml;
using testing::LoadTestConfig;

std::string FieldNames(const ProtobufCMessageDescriptor& message) {
  std::string names;
  for (unsigned i = 0; i < message.n_fields; ++i) names += (names.empty() ? "" : " ") + std::string(message.fields[i].name);
  return names;
}

TEST_CASE("every node type of the libpg_query in use has a role in the catalog", "[policy][catalog]") {
  const ProtobufCMessageDescriptor& node = pg_query__node__descriptor;
  REQUIRE(node.magic == PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC);
  std::vector<std::string> unclassified;
  size_t statements = 0;
  for (unsigned i = 0; i < node.n_fields; ++i) {
    const auto node_case = static_cast<PgQuery__Node__NodeCase>(node.fields[i].id);
    const NodeRole role = RoleOf(node_case);
    if (role == NodeRole::kUnknown) unclassified.push_back(NodeTypeName(node_case));
    if (role == NodeRole::kStatement) ++statements;
    // The catalog names the node by libpg_query's descriptor, which knows every case.
    CHECK(NodeTypeName(node_case).rfind("node ", 0) == std::string::npos);
  }
  INFO("node types without a role in policy/node_catalog.cc (decide what the inspector does with each):");
  for (const std::string& name : unclassified) INFO(name);
  CHECK(unclassified.empty());
  CHECK(node.n_fields == 238);  // libpg_query 15-4.0; another number: review the catalog, then this line
  CHECK(statements == 116);
  CHECK(RoleOf(PG_QUERY__NODE__NODE__NOT_SET) == NodeRole::kUnknown);
  CHECK(RoleOf(static_cast<PgQuery__Node__NodeCase>(node.n_fields + 1)) == NodeRole::kUnknown);
}

TEST_CASE("the structs the rules read have exactly the fields the rules know", "[policy][catalog]") {
  struct Expected {
    const ProtobufCMessageDescriptor* message;
    const char* fields;
  };
  const Expected expected[] = {
      {&pg_query__range_var__descriptor, "catalogname schemaname relname inh relpersistence alias location"},
      {&pg_query__func_call__descriptor,
       "funcname args agg_order agg_filter over agg_within_group agg_star agg_distinct func_variadic funcformat "
       "location"},
      {&pg_query__column_ref__descriptor, "fields location"},
      {&pg_query__a__const__descriptor, "ival fval boolval sval bsval isnull location"},
      {&pg_query__string__descriptor, "sval"},
      {&pg_query__integer__descriptor, "ival"},
      {&pg_query__boolean__descriptor, "boolval"},
      {&pg_query__float__descriptor, "fval"},
      {&pg_query__list__descriptor, "items"},
      {&pg_query__def_elem__descriptor, "defnamespace defname arg defaction location"},
      {&pg_query__variable_set_stmt__descriptor, "kind name args is_local"},
      {&pg_query__transaction_stmt__descriptor, "kind options savepoint_name gid chain"},
      {&pg_query__copy_stmt__descriptor, "relation query attlist is_from is_program filename options where_clause"},
      {&pg_query__explain_stmt__descriptor, "query options"},
      {&pg_query__select_stmt__descriptor,
       "distinct_clause into_clause target_list from_clause where_clause group_clause group_distinct having_clause "
       "window_clause values_lists sort_clause limit_offset limit_count limit_option locking_clause with_clause op "
       "all larg rarg"},
      {&pg_query__into_clause__descriptor,
       "rel col_names access_method options on_commit table_space_name view_query skip_data"},
      {&pg_query__insert_stmt__descriptor,
       "relation cols select_stmt on_conflict_clause returning_list with_clause override"},
      {&pg_query__update_stmt__descriptor, "relation target_list where_clause from_clause returning_list with_clause"},
      {&pg_query__delete_stmt__descriptor, "relation using_clause where_clause returning_list with_clause"},
      {&pg_query__merge_stmt__descriptor, "relation source_relation join_condition merge_when_clauses with_clause"},
      {&pg_query__lock_stmt__descriptor, "relations mode nowait"},
      {&pg_query__deallocate_stmt__descriptor, "name"},
      {&pg_query__declare_cursor_stmt__descriptor, "portalname options query"},
      {&pg_query__discard_stmt__descriptor, "target"},
      {&pg_query__alter_table_stmt__descriptor, "relation cmds objtype missing_ok"},
      {&pg_query__alter_table_cmd__descriptor, "subtype name num newowner def behavior missing_ok recurse"},
      {&pg_query__drop_stmt__descriptor, "objects remove_type behavior missing_ok concurrent"},
      {&pg_query__rename_stmt__descriptor,
       "rename_type relation_type relation object subname newname behavior missing_ok"},
      {&pg_query__define_stmt__descriptor, "kind oldstyle defnames args definition if_not_exists replace"},
      {&pg_query__create_stmt__descriptor,
       "relation table_elts inh_relations partbound partspec of_typename constraints options oncommit "
       "tablespacename access_method if_not_exists"},
      {&pg_query__view_stmt__descriptor, "view aliases query replace options with_check_option"},
      {&pg_query__create_seq_stmt__descriptor, "sequence options owner_id for_identity if_not_exists"},
      {&pg_query__create_table_as_stmt__descriptor, "query into objtype is_select_into if_not_exists"},
      {&pg_query__create_schema_stmt__descriptor, "schemaname authrole schema_elts if_not_exists"},
      {&pg_query__alter_object_schema_stmt__descriptor, "object_type relation object newschema missing_ok"},
      {&pg_query__import_foreign_schema_stmt__descriptor,
       "server_name remote_schema local_schema list_type table_list options"},
      {&pg_query__parse_result__descriptor, "version stmts"},
      {&pg_query__raw_stmt__descriptor, "stmt stmt_location stmt_len"},
  };
  for (const Expected& want : expected) {
    INFO(want.message->short_name);
    CHECK(FieldNames(*want.message) == want.fields);
  }
  // Enums whose values the rules compare: a new value (a new ALTER TABLE command, object type, SET
  // form, transaction command) must be judged by a person first.
  CHECK(pg_query__object_type__descriptor.n_values == 53);
  CHECK(pg_query__alter_table_type__descriptor.n_values == 72);
  CHECK(pg_query__variable_set_kind__descriptor.n_values == 7);
  CHECK(pg_query__transaction_stmt_kind__descriptor.n_values == 11);
  CHECK(pg_query__discard_mode__descriptor.n_values == 5);
}

// Every message a parse tree can hold, from the top.
void Reachable(const ProtobufCMessageDescriptor* message, std::set<const ProtobufCMessageDescriptor*>& seen) {
  if (!seen.insert(message).second) return;
  for (unsigned i = 0; i < message->n_fields; ++i) {
    if (message->fields[i].type == PROTOBUF_C_TYPE_MESSAGE) {
      Reachable(static_cast<const ProtobufCMessageDescriptor*>(message->fields[i].descriptor), seen);
    }
  }
}

TEST_CASE("every field of every struct of a parse tree has a type the walk reads", "[policy][catalog]") {
  std::set<const ProtobufCMessageDescriptor*> messages;
  Reachable(&pg_query__parse_result__descriptor, messages);
  CHECK(messages.size() > 238);
  for (const ProtobufCMessageDescriptor* message : messages) {
    for (unsigned i = 0; i < message->n_fields; ++i) {
      const ProtobufCFieldDescriptor& field = message->fields[i];
      INFO(message->short_name << "." << field.name);
      CHECK(field.type <= PROTOBUF_C_TYPE_MESSAGE);
      // Only the Node and A_Const oneofs: the walk reads a oneof through its case field.
      if ((field.flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0) {
        CHECK((message == &pg_query__node__descriptor || message == &pg_query__a__const__descriptor));
      }
    }
  }
}

// A parse tree of one statement, built by hand: what no parser of this version makes.
struct HandMadeTree {
  PgQuery__Node node = PG_QUERY__NODE__INIT;
  PgQuery__RawStmt raw = PG_QUERY__RAW_STMT__INIT;
  PgQuery__RawStmt* raws[1] = {&raw};
  PgQuery__ParseResult result = PG_QUERY__PARSE_RESULT__INIT;
  HandMadeTree() {
    raw.stmt = &node;
    result.n_stmts = 1;
    result.stmts = raws;
  }
};

std::optional<RuleHit> InspectTree(const PgQuery__ParseResult& tree) {
  auto config = LoadTestConfig(BaseYaml());
  InspectionContext context;
  context.config = config.get();
  context.tenant = config->FindTenant("acme");
  context.policy = ResolveEffectivePolicy(*config, context.tenant, config::TenantRole::kAdmin);
  TreeInspector inspector(context);
  return inspector.Inspect(tree);
}

TEST_CASE("a node type the inspector does not know blocks the statement with parse.unknown_node", "[policy][catalog]") {
  SECTION("a node case past the catalog (a newer libpg_query)") {
    HandMadeTree tree;
    PgQuery__SelectStmt select = PG_QUERY__SELECT_STMT__INIT;
    tree.node.node_case = static_cast<PgQuery__Node__NodeCase>(pg_query__node__descriptor.n_fields + 1);
    tree.node.select_stmt = &select;
    const std::optional<RuleHit> hit = InspectTree(tree.result);
    REQUIRE(hit.has_value());
    CHECK(hit->rule_id == "parse.unknown_node");
    CHECK(hit->reason.find("node 239") != std::string::npos);
  }
  SECTION("a node of analysed trees, which the raw parser never makes") {
    HandMadeTree tree;
    PgQuery__Var var = PG_QUERY__VAR__INIT;
    tree.node.node_case = PG_QUERY__NODE__NODE_VAR;
    tree.node.var = &var;
    const std::optional<RuleHit> hit = InspectTree(tree.result);
    REQUIRE(hit.has_value());
    CHECK(hit->rule_id == "parse.unknown_node");
    CHECK(hit->reason.find("(Var)") != std::string::npos);
  }
  SECTION("a field the library's descriptor does not know") {
    HandMadeTree tree;
    PgQuery__SelectStmt select = PG_QUERY__SELECT_STMT__INIT;
    ProtobufCMessageUnknownField unknown{};
    select.base.n_unknown_fields = 1;
    select.base.unknown_fields = &unknown;
    tree.node.node_case = PG_QUERY__NODE__NODE_SELECT_STMT;
    tree.node.select_stmt = &select;
    const std::optional<RuleHit> hit = InspectTree(tree.result);
    REQUIRE(hit.has_value());
    CHECK(hit->rule_id == "parse.unknown_node");
    CHECK(hit->reason.find("SelectStmt") != std::string::npos);
  }
  SECTION("the same tree without them is allowed") {
    HandMadeTree tree;
    PgQuery__SelectStmt select = PG_QUERY__SELECT_STMT__INIT;
    tree.node.node_case = PG_QUERY__NODE__NODE_SELECT_STMT;
    tree.node.select_stmt = &select;
    CHECK_FALSE(InspectTree(tree.result).has_value());
  }
}

// parse.unknown_node has no marker statement (tests/support/marker_statements.h): no text the parser in
// use reads makes a node or field the catalog does not know (the tests above). Its audit event holds
// what every blocked statement's does (the normalized text of statement_digest.h, whatever the rule);
// its reason, tested here, names node types and fields, never a value of the tree.
TEST_CASE("parse.unknown_node's reason names what is unknown, never a literal of the statement", "[policy][catalog][audit]") {
  const std::string marker_string(pgtenant::testing::kMarkerString);
  const std::string marker_number(pgtenant::testing::kMarkerNumber);
  // SELECT 'mk_...', 918... as libpg_query would give it, then made unknown three ways.
  PgQuery__String text = PG_QUERY__STRING__INIT;
  text.sval = const_cast<char*>(marker_string.c_str());
  PgQuery__AConst string_const = PG_QUERY__A__CONST__INIT;
  string_const.val_case = PG_QUERY__A__CONST__VAL_SVAL;
  string_const.sval = &text;
  PgQuery__Node string_node = PG_QUERY__NODE__INIT;
  string_node.node_case = PG_QUERY__NODE__NODE_A_CONST;
  string_node.a_const = &string_const;
  PgQuery__Integer number = PG_QUERY__INTEGER__INIT;
  number.ival = std::stoi(marker_number);
  PgQuery__AConst number_const = PG_QUERY__A__CONST__INIT;
  number_const.val_case = PG_QUERY__A__CONST__VAL_IVAL;
  number_const.ival = &number;
  PgQuery__Node number_node = PG_QUERY__NODE__INIT;
  number_node.node_case = PG_QUERY__NODE__NODE_A_CONST;
  number_node.a_const = &number_const;
  PgQuery__ResTarget targets[2] = {PG_QUERY__RES_TARGET__INIT, PG_QUERY__RES_TARGET__INIT};
  targets[0].val = &string_node;
  targets[1].val = &number_node;
  targets[1].name = const_cast<char*>(marker_string.c_str());
  PgQuery__Node target_nodes[2] = {PG_QUERY__NODE__INIT, PG_QUERY__NODE__INIT};
  PgQuery__Node* target_list[2] = {&target_nodes[0], &target_nodes[1]};
  for (int i = 0; i < 2; ++i) {
    target_nodes[i].node_case = PG_QUERY__NODE__NODE_RES_TARGET;
    target_nodes[i].res_target = &targets[i];
  }
  PgQuery__SelectStmt select = PG_QUERY__SELECT_STMT__INIT;
  select.n_target_list = 2;
  select.target_list = target_list;
  const auto holds_marker = [&](const std::string& reason) {
    return reason.find(marker_string) != std::string::npos || reason.find(marker_number) != std::string::npos;
  };

  SECTION("a statement of a node case past the catalog") {
    HandMadeTree tree;
    tree.node.node_case = static_cast<PgQuery__Node__NodeCase>(pg_query__node__descriptor.n_fields + 1);
    tree.node.select_stmt = &select;
    const std::optional<RuleHit> hit = InspectTree(tree.result);
    REQUIRE(hit.has_value());
    CHECK(hit->rule_id == "parse.unknown_node");
    CHECK_FALSE(holds_marker(hit->reason));
  }
  SECTION("a constant inside a node of a case past the catalog") {
    number_node.node_case = static_cast<PgQuery__Node__NodeCase>(pg_query__node__descriptor.n_fields + 1);
    HandMadeTree tree;
    tree.node.node_case = PG_QUERY__NODE__NODE_SELECT_STMT;
    tree.node.select_stmt = &select;
    const std::optional<RuleHit> hit = InspectTree(tree.result);
    REQUIRE(hit.has_value());
    CHECK(hit->rule_id == "parse.unknown_node");
    CHECK_FALSE(holds_marker(hit->reason));
  }
  SECTION("a constant with a field the descriptor does not know") {
    ProtobufCMessageUnknownField unknown{};
    unknown.tag = 9;
    unknown.len = marker_string.size();
    unknown.data = reinterpret_cast<uint8_t*>(const_cast<char*>(marker_string.data()));
    string_const.base.n_unknown_fields = 1;
    string_const.base.unknown_fields = &unknown;
    HandMadeTree tree;
    tree.node.node_case = PG_QUERY__NODE__NODE_SELECT_STMT;
    tree.node.select_stmt = &select;
    const std::optional<RuleHit> hit = InspectTree(tree.result);
    REQUIRE(hit.has_value());
    CHECK(hit->rule_id == "parse.unknown_node");
    CHECK_THAT(hit->reason, Catch::Contains("AConst"));
    CHECK_FALSE(holds_marker(hit->reason));
  }
}

TEST_CASE("parse.unknown_node cannot be switched off", "[policy][catalog]") {
  auto result = config::LoadConfigString(BaseYaml("policy: { rules: { parse.unknown_node: off } }\n"), "policy.yaml",
                                         [](std::string_view) { return std::nullopt; });
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().message().find("parse.unknown_node cannot be switched off") != std::string::npos);
}

TEST_CASE("the inspector walks every node the parser makes for the policy corpus without an unknown one",
          "[policy][catalog]") {
  // Statements with many node types: none is refused as unknown (all are in the catalog as made by
  // the raw parser).
  const char* statements[] = {
      "SELECT DISTINCT a, count(*) FILTER (WHERE b > 1) OVER w FROM t TABLESAMPLE SYSTEM (10) "
      "WINDOW w AS (PARTITION BY c) ORDER BY 1 NULLS LAST LIMIT 3 FOR UPDATE",
      "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SEARCH DEPTH FIRST BY n SET o "
      "CYCLE n SET c USING p SELECT * FROM r",
      "INSERT INTO t (a) VALUES (DEFAULT), (1) ON CONFLICT (a) DO UPDATE SET a = EXCLUDED.a RETURNING *",
      "MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN UPDATE SET b = s.b WHEN NOT MATCHED THEN INSERT VALUES "
      "(s.a)",
      "SELECT CASE WHEN a IS NULL THEN COALESCE(b, GREATEST(1, 2)) END, a IS TRUE, ROW(1, 2), (ARRAY[1, 2])[1:2], "
      "CURRENT_DATE, XMLELEMENT(NAME x), XMLSERIALIZE(CONTENT '<a/>' AS text), 'x' COLLATE \"C\", $1::int, "
      "EXISTS (SELECT 1), a IN (SELECT 1), GROUPING(a) FROM t GROUP BY ROLLUP (a, b), CUBE (c)",
      "SELECT * FROM XMLTABLE('/a' PASSING '<a/>' COLUMNS x int PATH 'x'), LATERAL f(1) WITH ORDINALITY AS g(x, y)",
      "UPDATE t SET (a, b) = (SELECT 1, 2) WHERE CURRENT OF c",
      "CREATE TABLE p (a int PRIMARY KEY, b text COLLATE \"C\" DEFAULT 'x', LIKE q INCLUDING ALL) PARTITION BY "
      "RANGE (a)",
      "CREATE TABLE c PARTITION OF p FOR VALUES FROM (MINVALUE) TO (10)",
      "ALTER TABLE p ATTACH PARTITION c FOR VALUES FROM (1) TO (2)",
      "CREATE INDEX ON t (lower(a) DESC)",
      "CREATE STATISTICS s ON a, (b + 1) FROM t",
      "CREATE PUBLICATION pub FOR TABLES IN SCHEMA s, TABLE t (a)",
      "CREATE FUNCTION f(a int DEFAULT 1, OUT b int) RETURNS int LANGUAGE sql AS 'SELECT 1'",
      "CREATE TRIGGER tr AFTER INSERT ON t REFERENCING NEW TABLE AS n FOR EACH STATEMENT EXECUTE FUNCTION f()",
      "GRANT SELECT (a) ON t TO r",
      "CREATE OPERATOR CLASS oc FOR TYPE int USING btree AS OPERATOR 1 <",
      "VACUUM (ANALYZE) t (a)",
      "SELECT f(a => 1), -2, NULL, true, B'101', X'1F', 1.5e3",
  };
  auto config = LoadTestConfig(BaseYaml());
  for (const char* sql : statements) {
    INFO(sql);
    ParsedSql parsed = ParseSql(sql);
    REQUIRE(parsed.tree.ok());
    InspectionContext context;
    context.config = config.get();
    context.tenant = config->FindTenant("acme");
    context.policy = ResolveEffectivePolicy(*config, context.tenant, config::TenantRole::kAdmin);
    TreeInspector inspector(context);
    const std::optional<RuleHit> hit = inspector.Inspect(parsed.tree.result());
    CHECK((!hit.has_value() || hit->rule_id != "parse.unknown_node"));
  }
}

}  // namespace
}  // namespace pgtenant::policy
