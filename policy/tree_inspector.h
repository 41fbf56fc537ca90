// TreeInspector: the policy rules, applied to one libpg_query parse tree (its typed protobuf structs).
//
// The tree is walked generically, in document order (pre-order), through protobuf-c's descriptors,
// so a rule finds what it looks for in any expression position: a select list, WHERE, FROM, VALUES,
// a CTE, a subquery, a DEFAULT, CALL arguments, arguments of other functions, EXPLAIN, PREPARE,
// CREATE TABLE AS ... The nodes the rules care about are read as their own structs (RangeVar,
// FuncCall, ColumnRef, A_Const, VariableSetStmt, TransactionStmt ...), found by their descriptor.
//
// Fail closed: a node type the catalog (node_catalog.h) does not know or does not expect, a field
// the library's descriptor does not know (unknown_fields) or of a type the walk cannot read, blocks
// the statement with rule parse.unknown_node; a tree nested deeper than kMaxNodeDepth with
// parse.error (ParseTree refuses deeper trees before they are unpacked).
//
// The first finding of an enabled rule wins; findings of rules switched off are ignored and the walk
// goes on. Rule ids are those of config/policy_rules.h.
// Thread-safety: one inspector per call; it only reads the context and the tree.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "policy/channel_namespace.h"
#include "policy/effective_policy.h"
#include "policy/parse_tree.h"
#include "protocol/session_effect.h"

namespace pgtenant::policy {

// What the rules know about the session.
struct InspectionContext {
  const config::Config* config = nullptr;        // never null
  const config::TenantConfig* tenant = nullptr;  // may be null (then every schema tenant is "other")
  config::TenantRole role = config::TenantRole::kMember;
  bool session_state_matters = false;  // transaction pooling or a shared pool: nothing may outlive a txn
  bool shared_pool = false;            // the tenant context is set with SET on shared server connections
  std::string_view text;               // the statement text the tree was parsed from
  // The tenant's LISTEN/NOTIFY namespace (channel_namespace.h); "" when channels are left as they are.
  std::string_view channel_namespace;
  EffectivePolicy policy;
};

struct RuleHit {
  std::string rule_id;
  std::string reason;
};

class TreeInspector {
 public:
  // REQUIRES: `context` outlives the inspector.
  explicit TreeInspector(const InspectionContext& context) : context_(context) {}

  // The first enabled rule that blocks, or nullopt when the whole text is allowed.
  std::optional<RuleHit> Inspect(const PgQuery__ParseResult& tree);
  // What the text does to the session (meaningful when Inspect found nothing): SET and RESET of the
  // config's session_parameters, RESET ALL, DISCARD ALL, DEALLOCATE ALL, ROLLBACK, in text order.
  const protocol::SessionEffects& effects() const { return effects_; }
  // The changes that put the text's channels in the tenant's namespace (meaningful when Inspect
  // found nothing); empty when there are none or the context has no namespace.
  const std::vector<TextEdit>& edits() const { return edits_; }

 private:
  struct Walk {
    bool top_level = false;       // the node is a statement of the text, not nested in one
    bool schema_objects = false;  // inside a statement about schemas: plain names are schema names
    size_t depth = 0;             // Node levels above this one
  };

  // tree_inspector.cc: the walk and the rules on names, relations, functions and literals.
  void VisitNode(const PgQuery__Node& node, Walk walk);
  void VisitMessage(const ProtobufCMessage& message, Walk walk);
  void VisitField(const ProtobufCMessage& message, const ProtobufCFieldDescriptor& field, Walk walk);
  void VisitList(const ProtobufCMessage& message, const ProtobufCFieldDescriptor& field, Walk walk);
  void CheckQualifiedName(PgQuery__Node* const* items, size_t count);
  void CheckColumnRef(const PgQuery__ColumnRef& ref);
  void CheckRangeVar(const PgQuery__RangeVar& relation);
  void CheckFunctionCall(const PgQuery__FuncCall& call);
  void CheckLiteral(std::string_view text);
  bool IsOtherTenantSchema(std::string_view name) const;

  // statement_rules.cc: rules on statements.
  void CheckStatement(const PgQuery__Node& node, bool top_level);
  bool CheckQueryStatement(const PgQuery__Node& node, bool top_level);
  void CheckVariableSet(const PgQuery__VariableSetStmt& set, bool top_level);
  void CheckSearchPath(const PgQuery__VariableSetStmt& set);
  // RESET ALL or DISCARD ALL (`what`) reset the tenant context of a shared server connection, which
  // the relay sets again once the text has run: false (and reported) when statements follow it.
  bool CheckSharedContextReset(std::string_view what);
  // SET/RESET of a session parameter; false when `name` is not one (the other rules then apply).
  bool CheckSessionParameter(const PgQuery__VariableSetStmt& set, const std::string& name);
  // set_config(name, value, is_local) with the rule context.set_config switched off.
  void CheckSetConfig(const PgQuery__FuncCall& call);
  void AddEffect(protocol::SessionEffect::Kind kind, std::string name = {}, std::string value = {});
  void CheckUtilityStatement(const PgQuery__Node& node);

  // shared_catalog_rules.cc: what a database shares between its tenants (prepared transactions,
  // statistics, activity counters, information_schema), for tenants that share a database. They take
  // names (and TransactionStmt's kind) only: `schema` may be "" (unqualified), `lower_name` is lowercase.
  bool SharesDatabase() const;
  void CheckSharedCatalogRelation(std::string_view schema, std::string_view relation);
  void CheckSharedCatalogFunction(std::string_view lower_name);
  void CheckTwoPhaseCommit(PgQuery__TransactionStmtKind kind);
  void CheckSearchPathSchema(std::string_view schema);

  // channel_rules.cc: LISTEN, UNLISTEN, NOTIFY and pg_notify() in the tenant's channel namespace.
  // `channel` "" is UNLISTEN *; `payload` "" is none.
  enum class ChannelStatement { kListen, kUnlisten, kNotify };
  void CheckChannelStatement(ChannelStatement kind, std::string_view channel, std::string_view payload,
                             bool top_level);
  void CheckNotifyCall(const PgQuery__FuncCall& call);

  // Records the finding if `rule_id` is enabled and nothing was found yet.
  void Report(std::string_view rule_id, std::string reason);
  bool done() const { return hit_.has_value(); }

  const InspectionContext& context_;
  std::optional<RuleHit> hit_;
  protocol::SessionEffects effects_;
  std::vector<TextEdit> edits_;
  size_t statements_ = 0;  // statements in the text
  size_t statement_ = 0;   // the index of the statement being walked
  size_t statement_begin_ = 0;  // where the statement being walked starts in the text
  size_t statement_end_ = 0;    // and where it ends (before its semicolon)
};

// A guard of the walk's own recursion; ParseTree refuses deeper trees (kMaxTreeDepth) before this.
inline constexpr size_t kMaxNodeDepth = kMaxTreeDepth;

// Helpers shared by the two halves of the inspector.
// A string field of a libpg_query struct ("" for protobuf-c's empty string or null).
inline std::string_view Text(const char* text) { return text == nullptr ? std::string_view() : std::string_view(text); }
// The sval of a String node, or nullopt.
std::optional<std::string_view> StringNodeValue(const PgQuery__Node* node);

}  // namespace pgtenant::policy
