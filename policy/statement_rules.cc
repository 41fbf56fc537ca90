// TreeInspector, second half: rules on statements (SET, transaction control, DML, utility and DDL).
#include <array>
#include <optional>
#include <string>
#include <span>

#include "policy/tree_inspector.h"
#include "protocol/ascii_case.h"

namespace pgtenant::policy {

namespace {

bool OneOf(std::string_view word, std::span<const std::string_view> set) {
  for (std::string_view candidate : set) {
    if (candidate == word) return true;
  }
  return false;
}

constexpr std::string_view kReadOnlyReason = "this session is read-only (viewer role or read-only tenant)";
constexpr int kCursorOptHold = 0x0020;         // CURSOR_OPT_HOLD, nodes/parsenodes.h
constexpr int64_t kRowExclusiveLock = 3;       // LOCK modes above it are refused in read-only transactions

constexpr std::array<std::string_view, 9> kEscalationStatements = {
    "CreateRoleStmt", "AlterRoleStmt",     "DropRoleStmt",      "GrantStmt",    "GrantRoleStmt",
    "AlterDefaultPrivilegesStmt", "SecLabelStmt", "ReassignOwnedStmt", "DropOwnedStmt"};
constexpr std::array<std::string_view, 8> kRlsStatements = {
    "CreatePolicyStmt",   "AlterPolicyStmt", "TruncateStmt",  "CreateTrigStmt", "CreateEventTrigStmt",
    "AlterEventTrigStmt", "RuleStmt",        "AlterOwnerStmt"};
constexpr std::array<std::string_view, 5> kFunctionStatements = {
    "CreateFunctionStmt", "AlterFunctionStmt", "CreateCastStmt", "CreatePLangStmt", "CreateTransformStmt"};
constexpr std::array<std::string_view, 15> kForeignStatements = {
    "CreateForeignServerStmt", "AlterForeignServerStmt", "CreateFdwStmt",          "AlterFdwStmt",
    "CreateForeignTableStmt",  "CreateUserMappingStmt",  "AlterUserMappingStmt",   "DropUserMappingStmt",
    "ImportForeignSchemaStmt", "CreateExtensionStmt",    "AlterExtensionStmt",     "AlterExtensionContentsStmt",
    "CreateSubscriptionStmt",  "AlterSubscriptionStmt",  "DropSubscriptionStmt"};
constexpr std::array<std::string_view, 3> kPersistentStatements = {"AlterRoleSetStmt", "AlterDatabaseSetStmt",
                                                                   "AlterSystemStmt"};
constexpr std::array<std::string_view, 4> kRlsObjectTypes = {"OBJECT_POLICY", "OBJECT_TRIGGER", "OBJECT_RULE",
                                                             "OBJECT_EVENT_TRIGGER"};
constexpr std::array<std::string_view, 4> kForeignObjectTypes = {"OBJECT_FOREIGN_SERVER", "OBJECT_FDW",
                                                                 "OBJECT_FOREIGN_TABLE", "OBJECT_EXTENSION"};
constexpr std::array<std::string_view, 3> kEncodingSettings = {"client_encoding", "standard_conforming_strings",
                                                               "backslash_quote"};
constexpr std::array<std::string_view, 2> kReadOnlySettings = {"transaction_read_only",
                                                               "default_transaction_read_only"};

// The integer of an A_Const or Integer node ({} is 0, as libpg_query omits default values).
std::optional<int64_t> IntegerValue(const JsonValue& node) {
  const JsonValue* body = node.Find("A_Const");
  if (body == nullptr) {
    if (const JsonValue* integer = node.Find("Integer")) {
      const JsonValue* ival = integer->Find("ival");
      return ival == nullptr ? 0 : ival->AsInt();
    }
    return std::nullopt;
  }
  const JsonValue* ival = body->Find("ival");
  if (ival == nullptr) return std::nullopt;
  const JsonValue* value = ival->Find("ival");
  return value == nullptr ? 0 : value->AsInt();
}

// The DefElem bodies of an options list.
std::vector<const JsonValue*> DefElems(const JsonValue* options) {
  std::vector<const JsonValue*> out;
  if (options == nullptr) return out;
  for (const JsonValue& item : options->items()) {
    if (const JsonValue* def = item.Find("DefElem")) out.push_back(def);
  }
  return out;
}

// READ WRITE among transaction options (transaction_read_only = 0).
bool RequestsReadWrite(const JsonValue* options) {
  for (const JsonValue* def : DefElems(options)) {
    if (StringField(*def, "defname") != "transaction_read_only") continue;
    const JsonValue* arg = def->Find("arg");
    if (arg == nullptr || IntegerValue(*arg).value_or(1) == 0) return true;
  }
  return false;
}

// EXPLAIN's analyze option; anything but a clear "false" or "off" counts as on. A number counts as on
// whatever its value: verdicts must not depend on numeric literals (policy/cache_key.h folds them).
bool ExplainAnalyzes(const JsonValue& body) {
  for (const JsonValue* def : DefElems(body.Find("options"))) {
    if (!protocol::EqualsIgnoreCase(StringField(*def, "defname"), "analyze") &&
        !protocol::EqualsIgnoreCase(StringField(*def, "defname"), "analyse")) {
      continue;
    }
    const JsonValue* arg = def->Find("arg");
    if (arg == nullptr) return true;
    if (std::optional<std::string_view> text = StringNodeValue(*arg)) {
      if (protocol::EqualsIgnoreCase(*text, "false") || protocol::EqualsIgnoreCase(*text, "off")) continue;
      return true;
    }
    return true;
  }
  return false;
}

// The relation a CREATE writes to, when it can be temporary.
const JsonValue* CreatedRelation(std::string_view type, const JsonValue& body) {
  if (type == "CreateStmt") return body.Find("relation");
  if (type == "ViewStmt") return body.Find("view");
  if (type == "CreateSeqStmt") return body.Find("sequence");
  if (type == "CreateTableAsStmt") {
    const JsonValue* into = body.Find("into");
    return into == nullptr ? nullptr : into->Find("rel");
  }
  return nullptr;
}

bool IsTemporary(const JsonValue* relation) {
  return relation != nullptr && (StringField(*relation, "relpersistence") == "t" ||
                                 protocol::StartsWithIgnoreCase(StringField(*relation, "schemaname"), "pg_temp"));
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

// An integer constant as written at `location` of `text` ("-2"): libpg_query's JSON leaves out
// integers that are not positive, so the tree alone cannot tell 0 from -2.
std::string IntegerAt(std::string_view text, const JsonValue* location) {
  std::optional<int64_t> at = location == nullptr ? std::nullopt : location->AsInt();
  if (!at || *at < 0 || static_cast<size_t>(*at) >= text.size()) return "0";
  size_t pos = static_cast<size_t>(*at);
  std::string out;
  if (text[pos] == '-' || text[pos] == '+') {
    if (text[pos] == '-') out.push_back('-');
    ++pos;
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n')) ++pos;
  }
  const size_t digits = pos;
  while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') out.push_back(text[pos++]);
  return pos == digits ? "0" : out;
}

// A SET's arguments as PostgreSQL joins them into one value (flatten_set_variable_args): constants
// only, lists joined with ", ". nullopt for any other form (SET TIME ZONE INTERVAL '...' HOUR).
std::optional<std::string> SetValue(const JsonValue* args, std::string_view text) {
  if (args == nullptr || args->items().empty()) return std::nullopt;
  std::string out;
  for (const JsonValue& arg : args->items()) {
    const JsonValue* constant = arg.Find("A_Const");
    if (constant == nullptr) return std::nullopt;
    if (!out.empty()) out += ", ";
    if (const JsonValue* sval = constant->Find("sval")) {
      out += StringField(*sval, "sval");
    } else if (const JsonValue* fval = constant->Find("fval")) {
      out += StringField(*fval, "fval");
    } else if (const JsonValue* ival = constant->Find("ival")) {
      const JsonValue* number = ival->Find("ival");
      out += number != nullptr ? std::to_string(number->AsInt().value_or(0)) : IntegerAt(text, constant->Find("location"));
    } else if (const JsonValue* boolval = constant->Find("boolval")) {
      const JsonValue* flag = boolval->Find("boolval");
      out += flag != nullptr && flag->boolean() ? "on" : "off";
    } else {
      return std::nullopt;  // NULL
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

void TreeInspector::CheckStatement(std::string_view type, const JsonValue& body, bool top_level) {
  if (type == "VariableSetStmt") {
    CheckVariableSet(body, top_level);
    return;
  }
  if (CheckQueryStatement(type, body, top_level)) return;
  CheckUtilityStatement(type, body);
  // Statements with a rule of their own (roles, policies...) are writes too, if that rule is switched off.
  if (context_.policy.read_only) Report("readonly.write", std::string(kReadOnlyReason) + ": no schema changes");
}

// Statements that do not change the schema. False when `type` is none of them.
bool TreeInspector::CheckQueryStatement(std::string_view type, const JsonValue& body, bool top_level) {
  const bool read_only = context_.policy.read_only;
  const bool pooling = context_.session_state_matters;
  if (type == "InsertStmt" || type == "UpdateStmt" || type == "DeleteStmt" || type == "MergeStmt") {
    const JsonValue* relation = body.Find("relation");
    if (relation != nullptr && protocol::EqualsIgnoreCase(StringField(*relation, "relname"), "pg_settings")) {
      Report("context.set_config", "writing to pg_settings changes settings like set_config(); it is not allowed");
    }
    if (read_only) Report("readonly.write", std::string(kReadOnlyReason) + ": no INSERT, UPDATE, DELETE or MERGE");
    return true;
  }
  if (type == "SelectStmt") {
    if (const JsonValue* into = body.Find("intoClause")) {
      if (read_only) Report("readonly.write", std::string(kReadOnlyReason) + ": SELECT INTO creates a table");
      if (!IsTemporary(into->Find("rel"))) {
        Report("ddl.schema_change", "SELECT INTO creates a table; schema changes are not allowed for this role");
      }
    }
    if (body.Find("lockingClause") != nullptr && read_only) {
      Report("readonly.write", std::string(kReadOnlyReason) + ": SELECT ... FOR UPDATE/SHARE locks rows for writing");
    }
    return true;
  }
  if (type == "CopyStmt") {
    const bool from = body.Find("is_from") != nullptr && body.Find("is_from")->boolean();
    if (body.Find("is_program") != nullptr && body.Find("is_program")->boolean()) {
      Report("server.programs", "COPY ... PROGRAM runs programs on the database server; it is not allowed");
    } else if (!StringField(body, "filename").empty()) {
      Report("server.files",
             "COPY to or from a server file is not allowed; use COPY ... FROM STDIN / TO STDOUT (psql \\copy)");
    }
    if (from && read_only) Report("readonly.write", std::string(kReadOnlyReason) + ": no COPY FROM");
    return true;
  }
  if (type == "ExplainStmt") {
    if (ExplainAnalyzes(body)) {
      Report("server.explain_analyze", "EXPLAIN ANALYZE executes the statement; use EXPLAIN without ANALYZE");
    }
    return true;
  }
  if (type == "TransactionStmt") {
    const std::string_view kind = StringField(body, "kind");
    if (kind == "TRANS_STMT_ROLLBACK") AddEffect(protocol::SessionEffect::Kind::kRollback);
    if (kind == "TRANS_STMT_SAVEPOINT")
      AddEffect(protocol::SessionEffect::Kind::kSavepoint, std::string(StringField(body, "savepoint_name")));
    if (kind == "TRANS_STMT_RELEASE")
      AddEffect(protocol::SessionEffect::Kind::kRelease, std::string(StringField(body, "savepoint_name")));
    if (kind == "TRANS_STMT_ROLLBACK_TO")
      AddEffect(protocol::SessionEffect::Kind::kRollbackTo, std::string(StringField(body, "savepoint_name")));
    CheckTwoPhaseCommit(kind);
    if (read_only && RequestsReadWrite(body.Find("options"))) {
      Report("readonly.write", std::string(kReadOnlyReason) + ": a READ WRITE transaction cannot be started");
    }
    return true;
  }
  if (type == "CallStmt") {
    if (read_only) Report("readonly.write", std::string(kReadOnlyReason) + ": procedures may write");
    return true;
  }
  if (type == "LockStmt") {
    const JsonValue* mode = body.Find("mode");
    if (read_only && mode != nullptr && mode->AsInt().value_or(8) > kRowExclusiveLock) {
      Report("readonly.write", std::string(kReadOnlyReason) + ": only locks up to ROW EXCLUSIVE are allowed");
    }
    return true;
  }
  if (type == "DeallocateStmt") {
    // DEALLOCATE ALL (psycopg sends it after a rollback): under transaction pooling the relay drops
    // the client's statements and forgets those of the server connection, which are prepared again.
    // DEALLOCATE name: the relay answers for the client's own (renamed) statement; it needs the
    // statement alone in its message.
    const std::string_view name = StringField(body, "name");
    if (name.empty()) {
      AddEffect(protocol::SessionEffect::Kind::kDeallocateAll);
    } else if (pooling && statements_ != 1) {
      Report("pooling.session_state", "DEALLOCATE of a statement name must be sent alone in transaction pooling");
    } else {
      AddEffect(protocol::SessionEffect::Kind::kDeallocate, std::string(name));
    }
    return true;
  }
  if (type == "PrepareStmt" || type == "ExecuteStmt") {
    if (pooling) {
      Report("pooling.session_state",
             "SQL-level PREPARE/EXECUTE/DEALLOCATE outlive the transaction in transaction pooling; "
             "use the extended protocol (Parse/Bind) instead");
    }
    return true;
  }
  if (type == "ListenStmt" || type == "UnlistenStmt" || type == "NotifyStmt") {
    // UNLISTEN changes nothing another client could see (asyncpg's reset query sends UNLISTEN *).
    if (pooling && type == "ListenStmt") {
      Report("pooling.session_state", "LISTEN needs a session of its own; it is not possible in transaction pooling");
    }
    CheckChannelStatement(type, body, top_level);
    return true;
  }
  if (type == "DeclareCursorStmt") {
    const JsonValue* options = body.Find("options");
    if (pooling && options != nullptr && (options->AsInt().value_or(0) & kCursorOptHold) != 0) {
      Report("pooling.session_state", "WITH HOLD cursors outlive the transaction in transaction pooling");
    }
    return true;
  }
  if (type == "DiscardStmt") {
    // The tenant context is a default of the server session (its startup packet): DISCARD ALL keeps
    // it, except on shared server connections, where pgtenant sets it again right after.
    const std::string_view target = StringField(body, "target");
    if (target.empty() || target == "DISCARD_ALL") {
      if (!CheckSharedContextReset("DISCARD ALL")) return true;
      AddEffect(protocol::SessionEffect::Kind::kDiscardAll);
    }
    return true;
  }
  if (type == "DoStmt") {
    Report("dynamic_sql.do", "DO blocks run code the proxy cannot inspect; they are not allowed");
    if (read_only) Report("readonly.write", std::string(kReadOnlyReason) + ": DO blocks may write");
    return true;
  }
  if (type == "LoadStmt") {
    Report("server.files", "LOAD loads a library from the server's file system; it is not allowed");
    return true;
  }
  return type == "VariableShowStmt" || type == "FetchStmt" || type == "ClosePortalStmt" ||
         type == "ConstraintsSetStmt" || type == "ReturnStmt" || type == "SetOperationStmt" ||
         type == "PLAssignStmt";
}

void TreeInspector::CheckUtilityStatement(std::string_view type, const JsonValue& body) {
  // Statements refused for their type alone; the first list that holds the type names the rule.
  struct RefusedStatements {
    std::span<const std::string_view> types;
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
    if (OneOf(type, refused.types)) {
      Report(refused.rule_id, refused.reason);
      return;
    }
  }
  if (type == "AlterTableStmt") {
    const JsonValue* cmds = body.Find("cmds");
    static const JsonValue kNoCommands = JsonValue::Array({});
    for (const JsonValue& item : (cmds == nullptr ? kNoCommands : *cmds).items()) {
      const JsonValue* cmd = item.Find("AlterTableCmd");
      if (cmd == nullptr) continue;
      const std::string_view subtype = StringField(*cmd, "subtype");
      if (subtype.find("RowSecurity") != std::string_view::npos || subtype.find("Trig") != std::string_view::npos ||
          subtype.find("Rule") != std::string_view::npos || subtype == "AT_ChangeOwner") {
        Report("rls.bypass",
               "ALTER TABLE that changes row-level security, triggers, rules or the owner is not allowed");
        return;
      }
    }
  }
  if (type == "DropStmt" || type == "RenameStmt") {
    const std::string_view object = StringField(body, type == "DropStmt" ? "removeType" : "renameType");
    if (OneOf(object, kRlsObjectTypes)) {
      Report("rls.bypass", "dropping or renaming policies, triggers or rules is not allowed");
      return;
    }
    if (OneOf(object, kForeignObjectTypes)) {
      Report("server.foreign", "extensions and foreign data are managed by the database administrator");
      return;
    }
    if (object == "OBJECT_ROLE") {
      Report("escalation.role", "roles are managed by the database administrator, not through pgtenant");
      return;
    }
  }
  if (type == "DefineStmt") {
    const std::string_view kind = StringField(body, "kind");
    if (kind == "OBJECT_AGGREGATE" || kind == "OBJECT_OPERATOR") {
      Report("dynamic_sql.function", "creating aggregates and operators runs functions; it is not allowed");
      return;
    }
  }
  // Temporary objects are session state, not schema changes (pooling.session_state looks at them).
  if (IsTemporary(CreatedRelation(type, body))) return;
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

void TreeInspector::CheckVariableSet(const JsonValue& body, bool top_level) {
  const std::string_view kind = StringField(body, "kind");
  const std::string name = protocol::AsciiLower(StringField(body, "name"));
  const bool is_local = body.Find("is_local") != nullptr && body.Find("is_local")->boolean();
  if (kind == "VAR_RESET_ALL") {
    // The tenant context is a default of the server session (its startup packet): RESET ALL keeps
    // it, except on shared server connections, where pgtenant sets it again right after.
    if (!CheckSharedContextReset("RESET ALL")) return;
    if (top_level) AddEffect(protocol::SessionEffect::Kind::kResetAll);
    return;
  }
  if (kind == "VAR_SET_MULTI") {  // SET TRANSACTION ..., SET SESSION CHARACTERISTICS AS TRANSACTION ...
    if (context_.policy.read_only && RequestsReadWrite(body.Find("args"))) {
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
  if (name == "search_path") CheckSearchPath(body);
  if (name == "row_security") Report("rls.bypass", "row_security cannot be changed through pgtenant");
  // A setting to the value the server has already (client_encoding UTF8, standard_conforming_strings
  // on) changes nothing: allowed in every mode.
  bool no_op = false;
  if (OneOf(std::string_view(name), kEncodingSettings)) {
    const std::optional<std::string> value = kind == "VAR_SET_VALUE" ? SetValue(body.Find("args"), context_.text) : std::nullopt;
    if (name == "client_encoding") no_op = value && IsUtf8Name(*value);
    if (name == "standard_conforming_strings") {
      no_op = kind == "VAR_RESET" || kind == "VAR_SET_DEFAULT" || (value && IsOn(*value));
    }
    if (!no_op) {
      Report("protocol.encoding", name + " decides how the server reads SQL text; only UTF8 and the startup "
                                         "settings are allowed");
    }
  }
  if (!top_level) return;
  if (context_.policy.read_only && OneOf(std::string_view(name), kReadOnlySettings)) {
    Report("readonly.write", std::string(kReadOnlyReason) + ": " + name + " cannot be changed");
  }
  if (no_op || CheckSessionParameter(body, kind, name, is_local)) return;
  const bool sets = kind == "VAR_SET_VALUE" || kind == "VAR_SET_DEFAULT" || kind == "VAR_SET_CURRENT";
  if (context_.session_state_matters && sets && !is_local) {
    Report("pooling.session_state",
           "SET " + name + " outlives the transaction in transaction pooling; use SET LOCAL inside a transaction, or "
                           "list the parameter under session_parameters");
  }
}

bool TreeInspector::CheckSessionParameter(const JsonValue& body, std::string_view kind, const std::string& name,
                                          bool is_local) {
  if (is_local || !context_.config->IsSessionParameter(name)) return false;
  if (kind == "VAR_RESET" || kind == "VAR_SET_DEFAULT") {
    AddEffect(protocol::SessionEffect::Kind::kReset, name);
    return true;
  }
  if (kind != "VAR_SET_VALUE") return false;  // SET ... FROM CURRENT
  std::optional<std::string> value = SetValue(body.Find("args"), context_.text);
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

void TreeInspector::CheckSearchPath(const JsonValue& body) {
  if (context_.tenant != nullptr && context_.tenant->isolation == config::IsolationMode::kSchema) {
    Report("context.search_path",
           "search_path is set by pgtenant to the tenant's schema; qualify names or use SET LOCAL of other settings");
    return;
  }
  const JsonValue* args = body.Find("args");
  if (args == nullptr) return;
  for (const JsonValue& arg : args->items()) {
    const JsonValue* constant = arg.Find("A_Const");
    const JsonValue* sval = constant == nullptr ? nullptr : constant->Find("sval");
    if (sval == nullptr) continue;
    std::string_view list = StringField(*sval, "sval");
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
