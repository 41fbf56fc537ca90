// TreeInspector, second half: rules on statements (SET, transaction control, DML, utility and DDL).
#include <array>
#include <optional>
#include <span>
#include <string>

#include "policy/tree_inspector.h"
#include "protocol/ascii_case.h"

namespace pgtenant::policy {

namespace {

using NodeCase = PgQuery__Node__NodeCase;

template <typename T>
bool OneOf(T value, std::span<const T> set) {
  for (T candidate : set) {
    if (candidate == value) return true;
  }
  return false;
}

bool OneOfNames(std::string_view word, std::span<const std::string_view> set) {
  for (std::string_view candidate : set) {
    if (candidate == word) return true;
  }
  return false;
}

constexpr std::string_view kReadOnlyReason = "this session is read-only (viewer role or read-only tenant)";
constexpr int kCursorOptHold = 0x0020;         // CURSOR_OPT_HOLD, nodes/parsenodes.h
constexpr int32_t kRowExclusiveLock = 3;       // LOCK modes above it are refused in read-only transactions

constexpr std::array<NodeCase, 9> kEscalationStatements = {
    PG_QUERY__NODE__NODE_CREATE_ROLE_STMT,  PG_QUERY__NODE__NODE_ALTER_ROLE_STMT,
    PG_QUERY__NODE__NODE_DROP_ROLE_STMT,    PG_QUERY__NODE__NODE_GRANT_STMT,
    PG_QUERY__NODE__NODE_GRANT_ROLE_STMT,   PG_QUERY__NODE__NODE_ALTER_DEFAULT_PRIVILEGES_STMT,
    PG_QUERY__NODE__NODE_SEC_LABEL_STMT,    PG_QUERY__NODE__NODE_REASSIGN_OWNED_STMT,
    PG_QUERY__NODE__NODE_DROP_OWNED_STMT};
constexpr std::array<NodeCase, 8> kRlsStatements = {
    PG_QUERY__NODE__NODE_CREATE_POLICY_STMT,     PG_QUERY__NODE__NODE_ALTER_POLICY_STMT,
    PG_QUERY__NODE__NODE_TRUNCATE_STMT,          PG_QUERY__NODE__NODE_CREATE_TRIG_STMT,
    PG_QUERY__NODE__NODE_CREATE_EVENT_TRIG_STMT, PG_QUERY__NODE__NODE_ALTER_EVENT_TRIG_STMT,
    PG_QUERY__NODE__NODE_RULE_STMT,              PG_QUERY__NODE__NODE_ALTER_OWNER_STMT};
constexpr std::array<NodeCase, 5> kFunctionStatements = {
    PG_QUERY__NODE__NODE_CREATE_FUNCTION_STMT, PG_QUERY__NODE__NODE_ALTER_FUNCTION_STMT,
    PG_QUERY__NODE__NODE_CREATE_CAST_STMT, PG_QUERY__NODE__NODE_CREATE_PLANG_STMT,
    PG_QUERY__NODE__NODE_CREATE_TRANSFORM_STMT};
constexpr std::array<NodeCase, 15> kForeignStatements = {
    PG_QUERY__NODE__NODE_CREATE_FOREIGN_SERVER_STMT, PG_QUERY__NODE__NODE_ALTER_FOREIGN_SERVER_STMT,
    PG_QUERY__NODE__NODE_CREATE_FDW_STMT,            PG_QUERY__NODE__NODE_ALTER_FDW_STMT,
    PG_QUERY__NODE__NODE_CREATE_FOREIGN_TABLE_STMT,  PG_QUERY__NODE__NODE_CREATE_USER_MAPPING_STMT,
    PG_QUERY__NODE__NODE_ALTER_USER_MAPPING_STMT,    PG_QUERY__NODE__NODE_DROP_USER_MAPPING_STMT,
    PG_QUERY__NODE__NODE_IMPORT_FOREIGN_SCHEMA_STMT, PG_QUERY__NODE__NODE_CREATE_EXTENSION_STMT,
    PG_QUERY__NODE__NODE_ALTER_EXTENSION_STMT,       PG_QUERY__NODE__NODE_ALTER_EXTENSION_CONTENTS_STMT,
    PG_QUERY__NODE__NODE_CREATE_SUBSCRIPTION_STMT,   PG_QUERY__NODE__NODE_ALTER_SUBSCRIPTION_STMT,
    PG_QUERY__NODE__NODE_DROP_SUBSCRIPTION_STMT};
constexpr std::array<NodeCase, 3> kPersistentStatements = {PG_QUERY__NODE__NODE_ALTER_ROLE_SET_STMT,
                                                           PG_QUERY__NODE__NODE_ALTER_DATABASE_SET_STMT,
                                                           PG_QUERY__NODE__NODE_ALTER_SYSTEM_STMT};
constexpr std::array<PgQuery__ObjectType, 4> kRlsObjectTypes = {
    PG_QUERY__OBJECT_TYPE__OBJECT_POLICY, PG_QUERY__OBJECT_TYPE__OBJECT_TRIGGER, PG_QUERY__OBJECT_TYPE__OBJECT_RULE,
    PG_QUERY__OBJECT_TYPE__OBJECT_EVENT_TRIGGER};
constexpr std::array<PgQuery__ObjectType, 4> kForeignObjectTypes = {
    PG_QUERY__OBJECT_TYPE__OBJECT_FOREIGN_SERVER, PG_QUERY__OBJECT_TYPE__OBJECT_FDW,
    PG_QUERY__OBJECT_TYPE__OBJECT_FOREIGN_TABLE, PG_QUERY__OBJECT_TYPE__OBJECT_EXTENSION};
// ALTER TABLE commands that change row-level security, triggers, rules or the owner.
constexpr std::array<PgQuery__AlterTableType, 17> kRlsTableCommands = {
    PG_QUERY__ALTER_TABLE_TYPE__AT_ChangeOwner,         PG_QUERY__ALTER_TABLE_TYPE__AT_EnableTrig,
    PG_QUERY__ALTER_TABLE_TYPE__AT_EnableAlwaysTrig,    PG_QUERY__ALTER_TABLE_TYPE__AT_EnableReplicaTrig,
    PG_QUERY__ALTER_TABLE_TYPE__AT_DisableTrig,         PG_QUERY__ALTER_TABLE_TYPE__AT_EnableTrigAll,
    PG_QUERY__ALTER_TABLE_TYPE__AT_DisableTrigAll,      PG_QUERY__ALTER_TABLE_TYPE__AT_EnableTrigUser,
    PG_QUERY__ALTER_TABLE_TYPE__AT_DisableTrigUser,     PG_QUERY__ALTER_TABLE_TYPE__AT_EnableRule,
    PG_QUERY__ALTER_TABLE_TYPE__AT_EnableAlwaysRule,    PG_QUERY__ALTER_TABLE_TYPE__AT_EnableReplicaRule,
    PG_QUERY__ALTER_TABLE_TYPE__AT_DisableRule,         PG_QUERY__ALTER_TABLE_TYPE__AT_EnableRowSecurity,
    PG_QUERY__ALTER_TABLE_TYPE__AT_DisableRowSecurity,  PG_QUERY__ALTER_TABLE_TYPE__AT_ForceRowSecurity,
    PG_QUERY__ALTER_TABLE_TYPE__AT_NoForceRowSecurity};
constexpr std::array<std::string_view, 3> kEncodingSettings = {"client_encoding", "standard_conforming_strings",
                                                               "backslash_quote"};
constexpr std::array<std::string_view, 2> kReadOnlySettings = {"transaction_read_only",
                                                               "default_transaction_read_only"};

// The constant of an A_Const node, or nullptr.
const PgQuery__AConst* Constant(const PgQuery__Node* node) {
  return node != nullptr && node->node_case == PG_QUERY__NODE__NODE_A_CONST ? node->a_const : nullptr;
}

// The integer of an A_Const or Integer node.
std::optional<int64_t> IntegerValue(const PgQuery__Node* node) {
  if (node != nullptr && node->node_case == PG_QUERY__NODE__NODE_INTEGER && node->integer != nullptr) {
    return node->integer->ival;
  }
  const PgQuery__AConst* constant = Constant(node);
  if (constant == nullptr || constant->val_case != PG_QUERY__A__CONST__VAL_IVAL || constant->ival == nullptr) {
    return std::nullopt;
  }
  return constant->ival->ival;
}

// The DefElems of an options list.
std::vector<const PgQuery__DefElem*> DefElems(PgQuery__Node* const* options, size_t count) {
  std::vector<const PgQuery__DefElem*> out;
  for (size_t i = 0; i < count; ++i) {
    if (options[i] != nullptr && options[i]->node_case == PG_QUERY__NODE__NODE_DEF_ELEM) out.push_back(options[i]->def_elem);
  }
  return out;
}

// READ WRITE among transaction options (transaction_read_only = 0).
bool RequestsReadWrite(PgQuery__Node* const* options, size_t count) {
  for (const PgQuery__DefElem* def : DefElems(options, count)) {
    if (Text(def->defname) != "transaction_read_only") continue;
    if (def->arg == nullptr || IntegerValue(def->arg).value_or(1) == 0) return true;
  }
  return false;
}

// EXPLAIN's analyze option; anything but a clear "false" or "off" counts as on. A number counts as on
// whatever its value: verdicts must not depend on numeric literals (policy/cache_key.h folds them).
bool ExplainAnalyzes(const PgQuery__ExplainStmt& explain) {
  for (const PgQuery__DefElem* def : DefElems(explain.options, explain.n_options)) {
    if (!protocol::EqualsIgnoreCase(Text(def->defname), "analyze") &&
        !protocol::EqualsIgnoreCase(Text(def->defname), "analyse")) {
      continue;
    }
    if (def->arg == nullptr) return true;
    if (std::optional<std::string_view> text = StringNodeValue(def->arg)) {
      if (protocol::EqualsIgnoreCase(*text, "false") || protocol::EqualsIgnoreCase(*text, "off")) continue;
      return true;
    }
    return true;
  }
  return false;
}

// The relation a CREATE writes to, when it can be temporary.
const PgQuery__RangeVar* CreatedRelation(const PgQuery__Node& node) {
  switch (node.node_case) {
    case PG_QUERY__NODE__NODE_CREATE_STMT: return node.create_stmt->relation;
    case PG_QUERY__NODE__NODE_VIEW_STMT: return node.view_stmt->view;
    case PG_QUERY__NODE__NODE_CREATE_SEQ_STMT: return node.create_seq_stmt->sequence;
    case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT:
      return node.create_table_as_stmt->into == nullptr ? nullptr : node.create_table_as_stmt->into->rel;
    default: return nullptr;
  }
}

bool IsTemporary(const PgQuery__RangeVar* relation) {
  return relation != nullptr && (Text(relation->relpersistence) == "t" ||
                                 protocol::StartsWithIgnoreCase(Text(relation->schemaname), "pg_temp"));
}

// PostgreSQL reads encoding names ignoring case and punctuation: UTF8, utf-8, Unicode are UTF8.
bool IsUtf8Name(std::string_view name) {
  std::string folded;
  for (char c : name) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) folded += c;
    if (c >= 'A' && c <= 'Z') folded += protocol::AsciiLower(c);
  }
  return folded == "utf8" || folded == "unicode";
}

// A SET's arguments as PostgreSQL joins them into one value (flatten_set_variable_args): constants
// only, lists joined with ", ". nullopt for any other form (SET TIME ZONE INTERVAL '...' HOUR).
std::optional<std::string> SetValue(const PgQuery__VariableSetStmt& set) {
  if (set.n_args == 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < set.n_args; ++i) {
    const PgQuery__AConst* constant = Constant(set.args[i]);
    if (constant == nullptr) return std::nullopt;
    if (!out.empty()) out += ", ";
    switch (constant->val_case) {
      case PG_QUERY__A__CONST__VAL_SVAL:
        out += Text(constant->sval->sval);
        break;
      case PG_QUERY__A__CONST__VAL_FVAL:
        out += Text(constant->fval->fval);
        break;
      case PG_QUERY__A__CONST__VAL_IVAL:
        out += std::to_string(constant->ival->ival);
        break;
      case PG_QUERY__A__CONST__VAL_BOOLVAL:
        out += constant->boolval->boolval ? "on" : "off";
        break;
      default:
        return std::nullopt;  // NULL, a bit string
    }
  }
  return out;
}

// The spellings of a true boolean setting (parse_bool).
bool IsOn(std::string_view value) {
  const std::string lower = protocol::AsciiLower(value);
  return lower == "on" || lower == "true" || lower == "yes" || lower == "1" || lower == "t" || lower == "y";
}

}  // namespace

void TreeInspector::CheckStatement(const PgQuery__Node& node, bool top_level) {
  if (node.node_case == PG_QUERY__NODE__NODE_VARIABLE_SET_STMT) {
    CheckVariableSet(*node.variable_set_stmt, top_level);
    return;
  }
  if (CheckQueryStatement(node, top_level)) return;
  CheckUtilityStatement(node);
  // Statements with a rule of their own (roles, policies...) are writes too, if that rule is switched off.
  if (context_.policy.read_only) Report("readonly.write", std::string(kReadOnlyReason) + ": no schema changes");
}

// Statements that do not change the schema. False when the node is none of them.
bool TreeInspector::CheckQueryStatement(const PgQuery__Node& node, bool top_level) {
  const bool read_only = context_.policy.read_only;
  const bool pooling = context_.session_state_matters;
  switch (node.node_case) {
    case PG_QUERY__NODE__NODE_INSERT_STMT:
    case PG_QUERY__NODE__NODE_UPDATE_STMT:
    case PG_QUERY__NODE__NODE_DELETE_STMT:
    case PG_QUERY__NODE__NODE_MERGE_STMT: {
      const PgQuery__RangeVar* relation = node.node_case == PG_QUERY__NODE__NODE_INSERT_STMT ? node.insert_stmt->relation
                                          : node.node_case == PG_QUERY__NODE__NODE_UPDATE_STMT ? node.update_stmt->relation
                                          : node.node_case == PG_QUERY__NODE__NODE_DELETE_STMT ? node.delete_stmt->relation
                                                                                               : node.merge_stmt->relation;
      if (relation != nullptr && protocol::EqualsIgnoreCase(Text(relation->relname), "pg_settings")) {
        Report("context.set_config", "writing to pg_settings changes settings like set_config(); it is not allowed");
      }
      if (read_only) Report("readonly.write", std::string(kReadOnlyReason) + ": no INSERT, UPDATE, DELETE or MERGE");
      return true;
    }
    case PG_QUERY__NODE__NODE_SELECT_STMT: {
      const PgQuery__SelectStmt& select = *node.select_stmt;
      if (select.into_clause != nullptr) {
        if (read_only) Report("readonly.write", std::string(kReadOnlyReason) + ": SELECT INTO creates a table");
        if (!IsTemporary(select.into_clause->rel)) {
          Report("ddl.schema_change", "SELECT INTO creates a table; schema changes are not allowed for this role");
        }
      }
      if (select.n_locking_clause > 0 && read_only) {
        Report("readonly.write", std::string(kReadOnlyReason) + ": SELECT ... FOR UPDATE/SHARE locks rows for writing");
      }
      return true;
    }
    case PG_QUERY__NODE__NODE_COPY_STMT: {
      const PgQuery__CopyStmt& copy = *node.copy_stmt;
      if (copy.is_program) {
        Report("server.programs", "COPY ... PROGRAM runs programs on the database server; it is not allowed");
      } else if (!Text(copy.filename).empty()) {
        Report("server.files",
               "COPY to or from a server file is not allowed; use COPY ... FROM STDIN / TO STDOUT (psql \\copy)");
      }
      if (copy.is_from && read_only) Report("readonly.write", std::string(kReadOnlyReason) + ": no COPY FROM");
      return true;
    }
    case PG_QUERY__NODE__NODE_EXPLAIN_STMT:
      if (ExplainAnalyzes(*node.explain_stmt)) {
        Report("server.explain_analyze", "EXPLAIN ANALYZE executes the statement; use EXPLAIN without ANALYZE");
      }
      return true;
    case PG_QUERY__NODE__NODE_TRANSACTION_STMT: {
      const PgQuery__TransactionStmt& transaction = *node.transaction_stmt;
      switch (transaction.kind) {
        case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK:
          AddEffect(protocol::SessionEffect::Kind::kRollback);
          break;
        case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_SAVEPOINT:
          AddEffect(protocol::SessionEffect::Kind::kSavepoint, std::string(Text(transaction.savepoint_name)));
          break;
        case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_RELEASE:
          AddEffect(protocol::SessionEffect::Kind::kRelease, std::string(Text(transaction.savepoint_name)));
          break;
        case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK_TO:
          AddEffect(protocol::SessionEffect::Kind::kRollbackTo, std::string(Text(transaction.savepoint_name)));
          break;
        default:
          break;
      }
      CheckTwoPhaseCommit(transaction.kind);
      if (read_only && RequestsReadWrite(transaction.options, transaction.n_options)) {
        Report("readonly.write", std::string(kReadOnlyReason) + ": a READ WRITE transaction cannot be started");
      }
      return true;
    }
    case PG_QUERY__NODE__NODE_CALL_STMT:
      if (read_only) Report("readonly.write", std::string(kReadOnlyReason) + ": procedures may write");
      return true;
    case PG_QUERY__NODE__NODE_LOCK_STMT:
      if (read_only && node.lock_stmt->mode > kRowExclusiveLock) {
        Report("readonly.write", std::string(kReadOnlyReason) + ": only locks up to ROW EXCLUSIVE are allowed");
      }
      return true;
    case PG_QUERY__NODE__NODE_DEALLOCATE_STMT: {
      // DEALLOCATE ALL (psycopg sends it after a rollback): under transaction pooling the relay drops
      // the client's statements and forgets those of the server connection, which are prepared again.
      // DEALLOCATE name: the relay answers for the client's own (renamed) statement; it needs the
      // statement alone in its message.
      const std::string_view name = Text(node.deallocate_stmt->name);
      if (name.empty()) {
        AddEffect(protocol::SessionEffect::Kind::kDeallocateAll);
      } else if (pooling && statements_ != 1) {
        Report("pooling.session_state", "DEALLOCATE of a statement name must be sent alone in transaction pooling");
      } else {
        AddEffect(protocol::SessionEffect::Kind::kDeallocate, std::string(name));
      }
      return true;
    }
    case PG_QUERY__NODE__NODE_PREPARE_STMT:
    case PG_QUERY__NODE__NODE_EXECUTE_STMT:
      if (pooling) {
        Report("pooling.session_state",
               "SQL-level PREPARE/EXECUTE/DEALLOCATE outlive the transaction in transaction pooling; "
               "use the extended protocol (Parse/Bind) instead");
      }
      return true;
    case PG_QUERY__NODE__NODE_LISTEN_STMT:
      if (pooling) {
        Report("pooling.session_state", "LISTEN needs a session of its own; it is not possible in transaction pooling");
      }
      CheckChannelStatement(ChannelStatement::kListen, Text(node.listen_stmt->conditionname), "", top_level);
      return true;
    case PG_QUERY__NODE__NODE_UNLISTEN_STMT:
      // Changes nothing another client could see (asyncpg's reset query sends UNLISTEN *).
      CheckChannelStatement(ChannelStatement::kUnlisten, Text(node.unlisten_stmt->conditionname), "", top_level);
      return true;
    case PG_QUERY__NODE__NODE_NOTIFY_STMT:
      CheckChannelStatement(ChannelStatement::kNotify, Text(node.notify_stmt->conditionname),
                            Text(node.notify_stmt->payload), top_level);
      return true;
    case PG_QUERY__NODE__NODE_DECLARE_CURSOR_STMT:
      if (pooling && (node.declare_cursor_stmt->options & kCursorOptHold) != 0) {
        Report("pooling.session_state", "WITH HOLD cursors outlive the transaction in transaction pooling");
      }
      return true;
    case PG_QUERY__NODE__NODE_DISCARD_STMT: {
      // The tenant context is a default of the server session (its startup packet): DISCARD ALL keeps
      // it, except on shared server connections, where pgtenant sets it again right after.
      const PgQuery__DiscardMode target = node.discard_stmt->target;
      if (target == PG_QUERY__DISCARD_MODE__DISCARD_ALL || target == PG_QUERY__DISCARD_MODE__DISCARD_MODE_UNDEFINED) {
        if (!CheckSharedContextReset("DISCARD ALL")) return true;
        AddEffect(protocol::SessionEffect::Kind::kDiscardAll);
      }
      return true;
    }
    case PG_QUERY__NODE__NODE_DO_STMT:
      Report("dynamic_sql.do", "DO blocks run code the proxy cannot inspect; they are not allowed");
      if (read_only) Report("readonly.write", std::string(kReadOnlyReason) + ": DO blocks may write");
      return true;
    case PG_QUERY__NODE__NODE_LOAD_STMT:
      Report("server.files", "LOAD loads a library from the server's file system; it is not allowed");
      return true;
    case PG_QUERY__NODE__NODE_VARIABLE_SHOW_STMT:
    case PG_QUERY__NODE__NODE_FETCH_STMT:
    case PG_QUERY__NODE__NODE_CLOSE_PORTAL_STMT:
    case PG_QUERY__NODE__NODE_CONSTRAINTS_SET_STMT:
    case PG_QUERY__NODE__NODE_RETURN_STMT:
    case PG_QUERY__NODE__NODE_SET_OPERATION_STMT:
    case PG_QUERY__NODE__NODE_PLASSIGN_STMT:
      return true;
    default:
      return false;
  }
}

// Every other statement changes the schema or the server: refused by the first list that holds it,
// else as a schema change (a statement a later libpg_query adds is refused the same way until a rule
// says otherwise; node_catalog_test.cc names it first).
void TreeInspector::CheckUtilityStatement(const PgQuery__Node& node) {
  struct RefusedStatements {
    std::span<const NodeCase> types;
    std::string_view rule_id;
    const char* reason;
  };
  static constexpr RefusedStatements kRefused[] = {
      {kPersistentStatements, "context.persistent_defaults",
       "ALTER ROLE/DATABASE ... SET and ALTER SYSTEM change settings of future sessions; they are not allowed"},
      {kEscalationStatements, "escalation.role",
       "roles and privileges are managed by the database administrator, not through pgtenant"},
      {kRlsStatements, "rls.bypass",
       "policies, ownership, TRUNCATE, triggers and rules can switch row-level security off or around it"},
      {kFunctionStatements, "dynamic_sql.function",
       "creating or altering functions, procedures and casts is not allowed"},
      {kForeignStatements, "server.foreign",
       "extensions, foreign data and subscriptions reach outside the tenant; not allowed"},
  };
  for (const RefusedStatements& refused : kRefused) {
    if (OneOf(node.node_case, refused.types)) {
      Report(refused.rule_id, refused.reason);
      return;
    }
  }
  if (node.node_case == PG_QUERY__NODE__NODE_ALTER_TABLE_STMT) {
    const PgQuery__AlterTableStmt& alter = *node.alter_table_stmt;
    for (size_t i = 0; i < alter.n_cmds; ++i) {
      const PgQuery__Node* item = alter.cmds[i];
      if (item == nullptr || item->node_case != PG_QUERY__NODE__NODE_ALTER_TABLE_CMD) continue;
      if (OneOf(item->alter_table_cmd->subtype, std::span<const PgQuery__AlterTableType>(kRlsTableCommands))) {
        Report("rls.bypass",
               "ALTER TABLE that changes row-level security, triggers, rules or the owner is not allowed");
        return;
      }
    }
  }
  if (node.node_case == PG_QUERY__NODE__NODE_DROP_STMT || node.node_case == PG_QUERY__NODE__NODE_RENAME_STMT) {
    const PgQuery__ObjectType object = node.node_case == PG_QUERY__NODE__NODE_DROP_STMT ? node.drop_stmt->remove_type
                                                                                        : node.rename_stmt->rename_type;
    if (OneOf(object, std::span<const PgQuery__ObjectType>(kRlsObjectTypes))) {
      Report("rls.bypass", "dropping or renaming policies, triggers or rules is not allowed");
      return;
    }
    if (OneOf(object, std::span<const PgQuery__ObjectType>(kForeignObjectTypes))) {
      Report("server.foreign", "extensions and foreign data are managed by the database administrator");
      return;
    }
    if (object == PG_QUERY__OBJECT_TYPE__OBJECT_ROLE) {
      Report("escalation.role", "roles are managed by the database administrator, not through pgtenant");
      return;
    }
  }
  if (node.node_case == PG_QUERY__NODE__NODE_DEFINE_STMT) {
    const PgQuery__ObjectType kind = node.define_stmt->kind;
    if (kind == PG_QUERY__OBJECT_TYPE__OBJECT_AGGREGATE || kind == PG_QUERY__OBJECT_TYPE__OBJECT_OPERATOR) {
      Report("dynamic_sql.function", "creating aggregates and operators runs functions; it is not allowed");
      return;
    }
  }
  // Temporary objects are session state, not schema changes (pooling.session_state looks at them).
  if (IsTemporary(CreatedRelation(node))) return;
  if (context_.policy.read_only) Report("readonly.write", std::string(kReadOnlyReason) + ": no schema changes");
  Report("ddl.schema_change", "schema changes and maintenance commands are not allowed for this role");
}

bool TreeInspector::CheckSharedContextReset(std::string_view what) {
  if (!context_.shared_pool || statement_ + 1 == statements_) return true;
  Report("context.tenant_setting", std::string(what) +
                                       " must be the last statement of its query on a shared server connection: "
                                       "the statements after it would run without the tenant context");
  return false;
}

void TreeInspector::CheckVariableSet(const PgQuery__VariableSetStmt& set, bool top_level) {
  const PgQuery__VariableSetKind kind = set.kind;
  const std::string name = protocol::AsciiLower(Text(set.name));
  if (kind == PG_QUERY__VARIABLE_SET_KIND__VAR_RESET_ALL) {
    // The tenant context is a default of the server session (its startup packet): RESET ALL keeps
    // it, except on shared server connections, where pgtenant sets it again right after.
    if (!CheckSharedContextReset("RESET ALL")) return;
    if (top_level) AddEffect(protocol::SessionEffect::Kind::kResetAll);
    return;
  }
  if (kind == PG_QUERY__VARIABLE_SET_KIND__VAR_SET_MULTI) {  // SET TRANSACTION ..., SET SESSION CHARACTERISTICS ...
    if (context_.policy.read_only && RequestsReadWrite(set.args, set.n_args)) {
      Report("readonly.write", std::string(kReadOnlyReason) + ": READ WRITE is not allowed");
    }
    if (top_level && context_.session_state_matters && name == "session characteristics") {
      Report("pooling.session_state", "session characteristics outlive the transaction in transaction pooling");
    }
    return;
  }
  if (protocol::EqualsIgnoreCase(name, context_.config->tenant_setting)) {
    Report("context.tenant_setting",
           "the tenant setting " + context_.config->tenant_setting + " is set by pgtenant and cannot be changed");
  }
  if (name == "role" || name == "session_authorization") {
    Report("context.role", "changing the role or session authorization is not allowed through pgtenant");
  }
  if (name == "search_path") CheckSearchPath(set);
  if (name == "row_security") Report("rls.bypass", "row_security cannot be changed through pgtenant");
  // A setting to the value the server has already (client_encoding UTF8, standard_conforming_strings
  // on) changes nothing: allowed in every mode.
  const bool resets = kind == PG_QUERY__VARIABLE_SET_KIND__VAR_RESET || kind == PG_QUERY__VARIABLE_SET_KIND__VAR_SET_DEFAULT;
  bool no_op = false;
  if (OneOfNames(name, kEncodingSettings)) {
    const std::optional<std::string> value =
        kind == PG_QUERY__VARIABLE_SET_KIND__VAR_SET_VALUE ? SetValue(set) : std::nullopt;
    if (name == "client_encoding") no_op = value && IsUtf8Name(*value);
    if (name == "standard_conforming_strings") no_op = resets || (value && IsOn(*value));
    if (!no_op) {
      Report("protocol.encoding", name + " decides how the server reads SQL text; only UTF8 and the startup "
                                         "settings are allowed");
    }
  }
  if (!top_level) return;
  if (context_.policy.read_only && OneOfNames(name, kReadOnlySettings)) {
    Report("readonly.write", std::string(kReadOnlyReason) + ": " + name + " cannot be changed");
  }
  if (no_op || CheckSessionParameter(set, name)) return;
  const bool sets = kind == PG_QUERY__VARIABLE_SET_KIND__VAR_SET_VALUE || kind == PG_QUERY__VARIABLE_SET_KIND__VAR_SET_DEFAULT ||
                    kind == PG_QUERY__VARIABLE_SET_KIND__VAR_SET_CURRENT;
  if (context_.session_state_matters && sets && !set.is_local) {
    Report("pooling.session_state",
           "SET " + name + " outlives the transaction in transaction pooling; use SET LOCAL inside a transaction, or "
                           "list the parameter under session_parameters");
  }
}

bool TreeInspector::CheckSessionParameter(const PgQuery__VariableSetStmt& set, const std::string& name) {
  if (set.is_local || !context_.config->IsSessionParameter(name)) return false;
  if (set.kind == PG_QUERY__VARIABLE_SET_KIND__VAR_RESET || set.kind == PG_QUERY__VARIABLE_SET_KIND__VAR_SET_DEFAULT) {
    AddEffect(protocol::SessionEffect::Kind::kReset, name);
    return true;
  }
  if (set.kind != PG_QUERY__VARIABLE_SET_KIND__VAR_SET_VALUE) return false;  // SET ... FROM CURRENT
  std::optional<std::string> value = SetValue(set);
  if (!value) {
    if (context_.session_state_matters) {
      Report("pooling.session_state", "SET " + name +
                                          " with this form of value cannot be kept for the client in transaction "
                                          "pooling; write the value as a string");
    }
    return true;
  }
  AddEffect(protocol::SessionEffect::Kind::kSet, name, std::move(*value));
  return true;
}

void TreeInspector::AddEffect(protocol::SessionEffect::Kind kind, std::string name, std::string value) {
  effects_.push_back(protocol::SessionEffect{kind, std::move(name), std::move(value)});
}

void TreeInspector::CheckSearchPath(const PgQuery__VariableSetStmt& set) {
  if (context_.tenant != nullptr && context_.tenant->isolation == config::IsolationMode::kSchema) {
    Report("context.search_path",
           "search_path is set by pgtenant to the tenant's schema; qualify names or use SET LOCAL of other settings");
    return;
  }
  for (size_t i = 0; i < set.n_args; ++i) {
    const PgQuery__AConst* constant = Constant(set.args[i]);
    if (constant == nullptr || constant->val_case != PG_QUERY__A__CONST__VAL_SVAL) continue;
    std::string_view list = Text(constant->sval->sval);
    // One string may hold a whole list: 'a, "b"'.
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      if (comma == std::string_view::npos) comma = list.size();
      std::string_view item = list.substr(start, comma - start);
      while (!item.empty() && (item.front() == ' ' || item.front() == '"')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '"')) item.remove_suffix(1);
      if (IsOtherTenantSchema(item)) {
        Report("cross_tenant.schema",
               "search_path names schema " + std::string(item) + ", which belongs to another tenant");
        return;
      }
      CheckSearchPathSchema(item);
      start = comma + 1;
    }
  }
}

}  // namespace pgtenant::policy
