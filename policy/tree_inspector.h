// TreeInspector: the policy rules, applied to one libpg_query parse tree.
//
// The tree is walked generically, in document order (pre-order), so a rule finds what it looks for
// in any expression position: a select list, WHERE, FROM, VALUES, a CTE, a subquery, a DEFAULT,
// CALL arguments, arguments of other functions, EXPLAIN, PREPARE, CREATE TABLE AS ... Nodes are
// recognized by their JSON key when libpg_query wraps them ({"FuncCall": {...}}) and by their shape
// where a typed field holds them unwrapped (a RangeVar has "relname", a FuncCall "funcname" and
// "funcformat", a TypeName "names").
//
// The first finding of an enabled rule wins; findings of rules switched off are ignored and the walk
// goes on. Rule ids are those of config/policy_rules.h.
// Thread-safety: one inspector per call; it only reads the context and the tree.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "policy/channel_namespace.h"
#include "policy/effective_policy.h"
#include "policy/json_tree.h"
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

  // REQUIRES: `tree` is pg_query_parse's document ({"version": N, "stmts": [...]}).
  // The first enabled rule that blocks, or nullopt when the whole text is allowed.
  std::optional<RuleHit> Inspect(const JsonValue& tree);
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
  };

  // tree_inspector.cc: the walk and the rules on names, relations, functions and literals.
  void Visit(const JsonValue& value, std::string_view key, Walk walk);
  void VisitNode(std::string_view type, const JsonValue& body, Walk walk);
  void VisitStruct(const JsonValue& body, Walk walk);
  void CheckQualifiedName(const JsonValue& items);
  void CheckColumnRef(const JsonValue& body);
  void CheckRangeVar(const JsonValue& body);
  void CheckFunctionCall(const JsonValue& body);
  void CheckLiteral(std::string_view text);
  bool IsOtherTenantSchema(std::string_view name) const;

  // statement_rules.cc: rules on statements.
  void CheckStatement(std::string_view type, const JsonValue& body, bool top_level);
  bool CheckQueryStatement(std::string_view type, const JsonValue& body, bool top_level);
  void CheckVariableSet(const JsonValue& body, bool top_level);
  void CheckSearchPath(const JsonValue& body);
  // RESET ALL or DISCARD ALL (`what`) reset the tenant context of a shared server connection, which
  // the relay sets again once the text has run: false (and reported) when statements follow it.
  bool CheckSharedContextReset(std::string_view what);
  // SET/RESET of a session parameter; false when `name` is not one (the other rules then apply).
  bool CheckSessionParameter(const JsonValue& body, std::string_view kind, const std::string& name, bool is_local);
  // set_config(name, value, is_local) with the rule context.set_config switched off.
  void CheckSetConfig(const JsonValue* args);
  void AddEffect(protocol::SessionEffect::Kind kind, std::string name = {}, std::string value = {});
  void CheckUtilityStatement(std::string_view type, const JsonValue& body);

  // shared_catalog_rules.cc: what a database shares between its tenants (prepared transactions,
  // statistics, activity counters, information_schema), for tenants that share a database. They take
  // names only: `schema` may be "" (unqualified), `lower_name` is lowercase.
  bool SharesDatabase() const;
  void CheckSharedCatalogRelation(std::string_view schema, std::string_view relation);
  void CheckSharedCatalogFunction(std::string_view lower_name);
  void CheckTwoPhaseCommit(std::string_view transaction_kind);  // TransactionStmt's kind, "TRANS_STMT_..."
  void CheckSearchPathSchema(std::string_view schema);

  // channel_rules.cc: LISTEN, UNLISTEN, NOTIFY and pg_notify() in the tenant's channel namespace.
  void CheckChannelStatement(std::string_view type, const JsonValue& body, bool top_level);
  void CheckNotifyCall(const JsonValue& body);

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

// Helpers shared by the two halves of the inspector.
// body[key] as a string, or "" when absent or not a string.
std::string_view StringField(const JsonValue& body, std::string_view key);
// The sval of a {"String": {"sval": ...}} node, or nullopt.
std::optional<std::string_view> StringNodeValue(const JsonValue& node);

}  // namespace pgtenant::policy
