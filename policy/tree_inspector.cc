// TreeInspector, first half: the generic walk, and the rules that look at names wherever they appear
// (relations, functions, type and operator names, column references, string literals).
#include "policy/tree_inspector.h"

#include <algorithm>
#include <array>

#include "protocol/ascii_case.h"

namespace pgtenant::policy {

namespace {

// Keys whose lists of String nodes are column names, not qualified object names.
constexpr std::array<std::string_view, 14> kColumnListKeys = {
    "fields",   "colnames", "aliascolnames", "usingClause", "attlist", "keys",    "including",
    "fk_attrs", "pk_attrs", "fk_del_set_cols", "columns",   "va_cols", "colNames", "cols"};

// Keys that hold a schema name as a plain string.
constexpr std::array<std::string_view, 3> kSchemaNameKeys = {"schemaname", "newschema", "local_schema"};

// Keys whose OBJECT_SCHEMA value makes the statement's plain names schema names.
constexpr std::array<std::string_view, 4> kObjectTypeKeys = {"objtype", "removeType", "renameType", "objectType"};

template <size_t N>
bool Contains(const std::array<std::string_view, N>& set, std::string_view word) {
  return std::find(set.begin(), set.end(), word) != set.end();
}

bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }

struct FunctionRule {
  std::string_view name;  // lowercase
  bool prefix;            // matches every name starting with `name`
  std::string_view rule_id;
  std::string_view reason;
};

// Checked in order; the first match decides. dblink* is server.foreign (it connects out of the server,
// and can run any SQL there). lo_import/lo_export are server.files (they read and write server files).
constexpr std::array<FunctionRule, 35> kFunctionRules = {{
    {"set_config", false, "context.set_config", "set_config() can change the tenant context; it is not allowed"},
    {"pg_read_file", false, "server.files", "reading files on the database server is not allowed"},
    {"pg_read_binary_file", false, "server.files", "reading files on the database server is not allowed"},
    {"pg_stat_file", false, "server.files", "inspecting files on the database server is not allowed"},
    {"pg_ls_", true, "server.files", "listing directories on the database server is not allowed"},
    {"pg_file_", true, "server.files", "writing files on the database server is not allowed"},
    {"pg_logdir_ls", false, "server.files", "listing directories on the database server is not allowed"},
    {"lo_import", false, "server.files", "lo_import reads files on the database server; use client-side \\lo_import"},
    {"lo_export", false, "server.files", "lo_export writes files on the database server; use client-side \\lo_export"},
    {"lo_", true, "server.large_objects", "large objects are shared by all tenants of a database"},
    {"loread", false, "server.large_objects", "large objects are shared by all tenants of a database"},
    {"lowrite", false, "server.large_objects", "large objects are shared by all tenants of a database"},
    {"dblink", true, "server.foreign", "dblink opens connections from the database server"},
    {"query_to_xml", true, "dynamic_sql.executor", "functions that run SQL given as a string are not allowed"},
    {"query_to_xmlschema", false, "dynamic_sql.executor", "functions that run SQL given as a string are not allowed"},
    {"cursor_to_xml", true, "dynamic_sql.executor", "functions that run SQL given as a string are not allowed"},
    {"table_to_xml", true, "dynamic_sql.executor", "functions that run SQL given as a string are not allowed"},
    {"database_to_xml", true, "dynamic_sql.executor", "functions that run SQL given as a string are not allowed"},
    {"schema_to_xml", true, "dynamic_sql.executor", "functions that run SQL given as a string are not allowed"},
    {"ts_stat", false, "dynamic_sql.executor", "ts_stat runs SQL given as a string; it is not allowed"},
    {"pg_stat_get_activity", false, "server.other_sessions", "other sessions' activity is not visible to tenants"},
    {"pg_stat_get_backend_", true, "server.other_sessions", "other sessions' activity is not visible to tenants"},
    {"pg_stat_statements", true, "server.other_sessions", "statement statistics of all tenants are not visible"},
    {"pg_cancel_backend", false, "server.other_sessions", "cancelling other sessions is not allowed; use your "
                                                          "client's cancel request"},
    {"pg_terminate_backend", false, "server.other_sessions", "terminating other sessions is not allowed"},
    {"pg_signal_backend", false, "server.other_sessions", "signalling other sessions is not allowed"},
    {"pg_blocking_pids", false, "server.other_sessions", "other sessions' activity is not visible to tenants"},
    {"pg_advisory_lock", false, "pooling.session_state", ""},
    {"pg_advisory_lock_shared", false, "pooling.session_state", ""},
    {"pg_try_advisory_lock", false, "pooling.session_state", ""},
    {"pg_try_advisory_lock_shared", false, "pooling.session_state", ""},
    {"pg_advisory_unlock", false, "pooling.session_state", ""},
    {"pg_advisory_unlock_shared", false, "pooling.session_state", ""},
    {"nextval", false, "readonly.write", ""},
    {"setval", false, "readonly.write", ""},
}};

constexpr std::string_view kAdvisoryLockReason =
    "session-level advisory locks outlive the transaction in transaction pooling; use pg_advisory_xact_lock";

// Relations that show every session of the server.
constexpr std::array<std::string_view, 4> kOtherSessionRelations = {"pg_stat_activity", "pg_locks",
                                                                    "pg_stat_statements", "pg_stat_statements_info"};
constexpr std::array<std::string_view, 2> kLargeObjectRelations = {"pg_largeobject", "pg_largeobject_metadata"};

bool MatchesDenied(const std::vector<DeniedName>& denied, std::string_view schema, std::string_view name) {
  for (const DeniedName& entry : denied) {
    if (!protocol::EqualsIgnoreCase(entry.name, name)) continue;
    // A qualified entry also matches the bare name (it may resolve to it through search_path).
    if (entry.schema.empty() || schema.empty() || protocol::EqualsIgnoreCase(entry.schema, schema)) return true;
  }
  return false;
}

// The first components of a dotted name written in a string ("a.b", "\"A\".b", " a . b"), at most 3.
std::vector<std::string> SplitDottedName(std::string_view text) {
  std::vector<std::string> parts;
  size_t pos = 0;
  auto skip_space = [&]() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' || text[pos] == '\r')) {
      ++pos;
    }
  };
  while (parts.size() < 3) {
    skip_space();
    std::string part;
    if (pos < text.size() && text[pos] == '"') {
      ++pos;
      while (pos < text.size()) {
        if (text[pos] == '"') {
          if (pos + 1 < text.size() && text[pos + 1] == '"') {
            part += '"';
            pos += 2;
            continue;
          }
          break;
        }
        part += text[pos++];
      }
      if (pos >= text.size()) return parts;  // unterminated: not a name
      ++pos;
    } else {
      while (pos < text.size() && text[pos] != '.' && text[pos] != ' ' && text[pos] != '\t') part += text[pos++];
    }
    skip_space();
    parts.push_back(std::move(part));
    if (pos >= text.size() || text[pos] != '.') break;
    ++pos;
  }
  return parts;
}

}  // namespace

std::string_view StringField(const JsonValue& body, std::string_view key) {
  const JsonValue* value = body.Find(key);
  return value != nullptr && value->is_string() ? std::string_view(value->text()) : std::string_view();
}

std::optional<std::string_view> StringNodeValue(const JsonValue& node) {
  const JsonValue* string = node.Find("String");
  if (string == nullptr || node.members().size() != 1) return std::nullopt;
  return StringField(*string, "sval");
}

std::optional<RuleHit> TreeInspector::Inspect(const JsonValue& tree) {
  hit_.reset();
  effects_.clear();
  edits_.clear();
  const JsonValue* stmts = tree.Find("stmts");
  if (stmts == nullptr) return std::nullopt;  // an empty query
  statements_ = stmts->items().size();
  for (statement_ = 0; statement_ < statements_; ++statement_) {
    const JsonValue& raw = stmts->items()[statement_];
    const JsonValue* stmt = raw.Find("stmt");
    if (stmt == nullptr) continue;
    // RawStmt: stmt_location and stmt_len (0, left out: to the end of the text).
    const JsonValue* location = raw.Find("stmt_location");
    const JsonValue* length = raw.Find("stmt_len");
    statement_begin_ = std::min<size_t>(static_cast<size_t>(location ? location->AsInt().value_or(0) : 0), context_.text.size());
    const size_t len = static_cast<size_t>(length ? length->AsInt().value_or(0) : 0);
    statement_end_ = len == 0 ? context_.text.size() : std::min(statement_begin_ + len, context_.text.size());
    Visit(*stmt, "stmt", Walk{true, false});
    if (done()) break;
  }
  return hit_;
}

void TreeInspector::Report(std::string_view rule_id, std::string reason) {
  if (done() || !context_.policy.Enabled(rule_id)) return;
  hit_ = RuleHit{std::string(rule_id), std::move(reason)};
}

bool TreeInspector::IsOtherTenantSchema(std::string_view name) const {
  if (name.empty()) return false;
  for (const auto& [tenant_name, tenant] : context_.config->tenants) {
    if (&tenant == context_.tenant || tenant.isolation != config::IsolationMode::kSchema) continue;
    if (protocol::EqualsIgnoreCase(tenant.schema, name)) return true;
  }
  return false;
}

void TreeInspector::Visit(const JsonValue& value, std::string_view key, Walk walk) {
  if (done()) return;
  if (value.is_array()) {
    const auto& items = value.items();
    const bool names = items.size() >= 2 && std::all_of(items.begin(), items.end(), [](const JsonValue& item) {
                         return StringNodeValue(item).has_value();
                       });
    if (names && !Contains(kColumnListKeys, key)) CheckQualifiedName(value);
    for (const JsonValue& item : items) Visit(item, key, walk);
    return;
  }
  if (!value.is_object()) return;
  const auto& members = value.members();
  if (members.size() == 1 && !members[0].key.empty() && IsUpper(members[0].key[0]) && members[0].value.is_object()) {
    VisitNode(members[0].key, members[0].value, walk);
  } else {
    VisitStruct(value, walk);
  }
}

void TreeInspector::VisitNode(std::string_view type, const JsonValue& body, Walk walk) {
  if (type.size() > 4 && type.substr(type.size() - 4) == "Stmt") CheckStatement(type, body, walk.top_level);
  if (type == "String" && walk.schema_objects && IsOtherTenantSchema(StringField(body, "sval"))) {
    Report("cross_tenant.schema", "schema " + std::string(StringField(body, "sval")) + " belongs to another tenant");
  } else if (type == "A_Const") {
    if (const JsonValue* sval = body.Find("sval")) CheckLiteral(StringField(*sval, "sval"));
  } else if (type == "ColumnRef") {
    CheckColumnRef(body);
  }
  walk.top_level = false;
  VisitStruct(body, walk);
}

void TreeInspector::VisitStruct(const JsonValue& body, Walk walk) {
  if (done()) return;
  if (body.Find("relname") != nullptr) {
    CheckRangeVar(body);
  } else {
    for (std::string_view key : kSchemaNameKeys) {
      std::string_view schema = StringField(body, key);
      if (IsOtherTenantSchema(schema)) {
        Report("cross_tenant.schema", "schema " + std::string(schema) + " belongs to another tenant");
      }
    }
  }
  if (body.Find("funcname") != nullptr && body.Find("funcformat") != nullptr) CheckFunctionCall(body);
  for (std::string_view key : kObjectTypeKeys) {
    if (StringField(body, key) == "OBJECT_SCHEMA") walk.schema_objects = true;
  }
  walk.top_level = false;
  for (const JsonMember& member : body.members()) {
    Visit(member.value, member.key, walk);
    if (done()) return;
  }
}

// [schema, name] or [database, schema, name]: type names, function and operator names, DROP/COMMENT
// targets. A two-part column reference is table.column, so ColumnRef is handled on its own.
void TreeInspector::CheckQualifiedName(const JsonValue& items) {
  const auto& list = items.items();
  std::string_view first = *StringNodeValue(list[0]);
  std::string_view second = *StringNodeValue(list[1]);
  std::string_view schema = IsOtherTenantSchema(first) ? first : std::string_view();
  if (schema.empty() && list.size() >= 3 && IsOtherTenantSchema(second)) schema = second;
  if (schema.empty()) return;
  std::string name;
  for (const JsonValue& item : list) name += (name.empty() ? "" : ".") + std::string(*StringNodeValue(item));
  Report("cross_tenant.schema", name + " is in schema " + std::string(schema) + ", which belongs to another tenant");
}

// schema.table.column (3 parts) or database.schema.table.column (4 parts).
void TreeInspector::CheckColumnRef(const JsonValue& body) {
  const JsonValue* fields = body.Find("fields");
  if (fields == nullptr) return;
  const auto& list = fields->items();
  std::optional<std::string_view> schema;
  if (list.size() >= 3) schema = StringNodeValue(list[0]);
  if (list.size() >= 4 && !(schema && IsOtherTenantSchema(*schema))) schema = StringNodeValue(list[1]);
  if (schema && IsOtherTenantSchema(*schema)) {
    Report("cross_tenant.schema",
           "a column of schema " + std::string(*schema) + " is referenced, which belongs to another tenant");
  }
}

void TreeInspector::CheckRangeVar(const JsonValue& body) {
  const std::string_view schema = StringField(body, "schemaname");
  const std::string_view relation = StringField(body, "relname");
  const std::string qualified =
      schema.empty() ? std::string(relation) : std::string(schema) + "." + std::string(relation);
  if (IsOtherTenantSchema(schema)) {
    Report("cross_tenant.schema",
           "relation " + qualified + " is in schema " + std::string(schema) + ", which belongs to another tenant");
  }
  const std::string lower = protocol::AsciiLower(relation);
  if (Contains(kOtherSessionRelations, lower)) {
    Report("server.other_sessions", lower + " shows the sessions and statements of every tenant; it is not allowed");
  }
  if (Contains(kLargeObjectRelations, lower)) {
    Report("server.large_objects", "large objects are shared by all tenants of a database");
  }
  CheckSharedCatalogRelation(schema, relation);
  if (context_.session_state_matters &&
      (StringField(body, "relpersistence") == "t" || protocol::StartsWithIgnoreCase(schema, "pg_temp"))) {
    Report("pooling.session_state",
           "temporary objects outlive the transaction in transaction pooling; use a regular table or a CTE");
  }
  if (MatchesDenied(context_.policy.deny_tables, schema, relation)) {
    Report("tenant.denied_table", "table " + qualified + " is denied by the tenant's policy");
  }
}

void TreeInspector::CheckFunctionCall(const JsonValue& body) {
  const auto& names = body.Find("funcname")->items();
  if (names.empty()) return;
  const std::optional<std::string_view> last = StringNodeValue(names.back());
  if (!last) return;
  const std::string name = protocol::AsciiLower(*last);
  std::string_view schema;
  if (names.size() >= 2) schema = StringNodeValue(names[names.size() - 2]).value_or("");
  const JsonValue* args = body.Find("args");
  const size_t arg_count = args == nullptr ? 0 : args->items().size();

  for (const FunctionRule& rule : kFunctionRules) {
    const bool match = rule.prefix ? name.compare(0, rule.name.size(), rule.name) == 0 : name == rule.name;
    if (!match) continue;
    if (rule.rule_id == "pooling.session_state") {
      if (context_.session_state_matters) Report(rule.rule_id, std::string(kAdvisoryLockReason));
    } else if (rule.rule_id == "readonly.write") {
      if (context_.policy.read_only) {
        Report(rule.rule_id, name + "() changes a sequence; this session is read-only");
      }
    } else {
      Report(rule.rule_id, std::string(rule.reason));
      if (rule.rule_id == "context.set_config" && !done()) CheckSetConfig(args);
    }
    break;
  }
  CheckSharedCatalogFunction(name);
  if (name == "pg_notify") CheckNotifyCall(body);
  // ts_rewrite(query, 'SELECT ...') runs its second argument; the three-argument form does not.
  if (name == "ts_rewrite" && arg_count == 2) {
    Report("dynamic_sql.executor", "ts_rewrite with a query string runs SQL given as a string; it is not allowed");
  }
  if (MatchesDenied(context_.policy.deny_functions, schema, name)) {
    Report("tenant.denied_function", "function " + name + "() is denied by the tenant's policy");
  }
}

namespace {
// A string constant ('x'), or nullopt.
std::optional<std::string_view> ConstantString(const JsonValue& node) {
  const JsonValue* constant = node.Find("A_Const");
  const JsonValue* sval = constant == nullptr ? nullptr : constant->Find("sval");
  if (sval == nullptr) return std::nullopt;
  return StringField(*sval, "sval");
}
// A boolean constant (true, 'off', ...), or nullopt.
std::optional<bool> ConstantBool(const JsonValue& node) {
  const JsonValue* constant = node.Find("A_Const");
  if (constant == nullptr) return std::nullopt;
  if (const JsonValue* boolval = constant->Find("boolval")) {
    const JsonValue* flag = boolval->Find("boolval");
    return flag != nullptr && flag->boolean();
  }
  const std::optional<std::string_view> text = ConstantString(node);
  if (!text) return std::nullopt;
  const std::string lower = protocol::AsciiLower(*text);
  if (lower == "true" || lower == "t" || lower == "on" || lower == "yes" || lower == "1") return true;
  if (lower == "false" || lower == "f" || lower == "off" || lower == "no" || lower == "0") return false;
  return std::nullopt;
}
}  // namespace

void TreeInspector::CheckSetConfig(const JsonValue* args) {
  // With context.set_config switched off, set_config(name, value, false) is a SET: under transaction
  // pooling it must name a session parameter, with constant arguments, so that pgtenant keeps it.
  if (args == nullptr || args->items().size() != 3) return;  // PostgreSQL refuses other arities
  const auto& items = args->items();
  const std::optional<bool> local = ConstantBool(items[2]);
  if (local == true) return;  // transaction-local: gone at the transaction's end
  const std::optional<std::string_view> name = ConstantString(items[0]);
  const std::optional<std::string_view> value = ConstantString(items[1]);
  if (local == false && name && value && context_.config->IsSessionParameter(*name) &&
      !protocol::EqualsIgnoreCase(*name, context_.config->tenant_setting)) {
    AddEffect(protocol::SessionEffect::Kind::kSet, protocol::AsciiLower(*name), std::string(*value));
    return;
  }
  if (context_.session_state_matters) {
    Report("pooling.session_state",
           "set_config(name, value, false) outlives the transaction in transaction pooling; use is_local true, or "
           "constant arguments naming a parameter listed under session_parameters");
  }
}

// 'org_globex.projects'::regclass, nextval('org_globex.seq'), to_regclass('"org_globex".x') ...
void TreeInspector::CheckLiteral(std::string_view text) {
  if (text.find('.') == std::string_view::npos) return;
  const std::vector<std::string> parts = SplitDottedName(text);
  if (parts.size() < 2) return;
  std::string_view schema;
  if (IsOtherTenantSchema(parts[0])) {
    schema = parts[0];
  } else if (parts.size() >= 3 && IsOtherTenantSchema(parts[1])) {
    schema = parts[1];
  }
  if (schema.empty()) return;
  Report("cross_tenant.schema", "a string names an object in schema " + std::string(schema) +
                                    ", which belongs to another tenant");
}

}  // namespace pgtenant::policy
