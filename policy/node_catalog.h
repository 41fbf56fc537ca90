// NodeCatalog: what the policy does with each node type of libpg_query's parse tree.
//
// Every node case of the libpg_query version pgtenant is built with has a role here. A node whose
// role is kUnknown (a libpg_query upgrade added it) or kAbsent (it should never be in a raw parse
// tree) makes the statement blocked with rule parse.unknown_node: the inspector does not judge what
// it does not know. tests/policy/node_catalog_test.cc walks every node case of the library in use
// (pg_query__node__descriptor), so an upgrade that adds one fails the tests, not the tenants.
// Thread-safety: pure functions.
#pragma once

#include <pg_query/pg_query.pb-c.h>

#include <string>

namespace pgtenant::policy {

enum class NodeRole {
  kUnknown,    // not in the catalog: blocked (parse.unknown_node)
  kAbsent,     // made by parse analysis or the planner, never by the raw parser: blocked if met
  kWalked,     // no rule reads it by itself; its children are inspected
  kChecked,    // a rule reads it (names, literals, options); its children are inspected
  kStatement,  // a statement: statement_rules.cc judges it; its children are inspected
};

NodeRole RoleOf(PgQuery__Node__NodeCase node_case);

// The node type's name as PostgreSQL spells it ("RangeVar", "SelectStmt"), from libpg_query's
// descriptor; "node <number>" for a case the descriptor does not know.
std::string NodeTypeName(PgQuery__Node__NodeCase node_case);

// The message inside a Node (its oneof member), or nullptr when the node is empty or its case is not
// in the descriptor.
const ProtobufCMessage* NodeMessage(const PgQuery__Node& node);

}  // namespace pgtenant::policy
