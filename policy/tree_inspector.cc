// TreeInspector, first half: the generic walk over libpg_query's structs, and the rules that look at
// names wherever they appear (relations, functions, type and operator names, column references,
// string literals).
#include "policy/tree_inspector.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>

#include "policy/node_catalog.h"
#include "protocol/ascii_case.h"

namespace pgtenant::policy {

namespace {

// A field of a libpg_query struct, by its struct's descriptor and its offset: a renamed field fails
// the build (offsetof), never a rule.
struct FieldRef {
  const ProtobufCMessageDescriptor* message;
  size_t offset;
};

// Lists of String nodes that are column names, not qualified object names.
const std::array<FieldRef, 21> kColumnLists = {{
    {&pg_query__column_ref__descriptor, offsetof(PgQuery__ColumnRef, fields)},
    {&pg_query__alias__descriptor, offsetof(PgQuery__Alias, colnames)},
    {&pg_query__table_func__descriptor, offsetof(PgQuery__TableFunc, colnames)},
    {&pg_query__row_expr__descriptor, offsetof(PgQuery__RowExpr, colnames)},
    {&pg_query__common_table_expr__descriptor, offsetof(PgQuery__CommonTableExpr, aliascolnames)},
    {&pg_query__join_expr__descriptor, offsetof(PgQuery__JoinExpr, using_clause)},
    {&pg_query__delete_stmt__descriptor, offsetof(PgQuery__DeleteStmt, using_clause)},
    {&pg_query__copy_stmt__descriptor, offsetof(PgQuery__CopyStmt, attlist)},
    {&pg_query__constraint__descriptor, offsetof(PgQuery__Constraint, keys)},
    {&pg_query__constraint__descriptor, offsetof(PgQuery__Constraint, including)},
    {&pg_query__constraint__descriptor, offsetof(PgQuery__Constraint, fk_attrs)},
    {&pg_query__constraint__descriptor, offsetof(PgQuery__Constraint, pk_attrs)},
    {&pg_query__constraint__descriptor, offsetof(PgQuery__Constraint, fk_del_set_cols)},
    {&pg_query__create_trig_stmt__descriptor, offsetof(PgQuery__CreateTrigStmt, columns)},
    {&pg_query__range_table_func__descriptor, offsetof(PgQuery__RangeTableFunc, columns)},
    {&pg_query__publication_table__descriptor, offsetof(PgQuery__PublicationTable, columns)},
    {&pg_query__vacuum_relation__descriptor, offsetof(PgQuery__VacuumRelation, va_cols)},
    {&pg_query__into_clause__descriptor, offsetof(PgQuery__IntoClause, col_names)},
    {&pg_query__grouping_func__descriptor, offsetof(PgQuery__GroupingFunc, cols)},
    {&pg_query__insert_stmt__descriptor, offsetof(PgQuery__InsertStmt, cols)},
    {&pg_query__access_priv__descriptor, offsetof(PgQuery__AccessPriv, cols)},
}};

bool IsColumnList(const ProtobufCMessageDescriptor* message, size_t offset) {
  return std::any_of(kColumnLists.begin(), kColumnLists.end(),
                     [&](const FieldRef& ref) { return ref.message == message && ref.offset == offset; });
}

template <size_t N>
bool Contains(const std::array<std::string_view, N>& set, std::string_view word) {
  return std::find(set.begin(), set.end(), word) != set.end();
}

// The value of a field of `message` at `offset`, as protobuf-c lays it out.
template <typename T>
T FieldValue(const ProtobufCMessage& message, size_t offset) {
  T value;
  std::memcpy(&value, reinterpret_cast<const char*>(&message) + offset, sizeof value);
  return value;
}

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

std::optional<std::string_view> StringNodeValue(const PgQuery__Node* node) {
  if (node == nullptr || node->node_case != PG_QUERY__NODE__NODE_STRING || node->string == nullptr) return std::nullopt;
  return Text(node->string->sval);
}

std::optional<RuleHit> TreeInspector::Inspect(const PgQuery__ParseResult& tree) {
  hit_.reset();
  effects_.clear();
  edits_.clear();
  statements_ = tree.n_stmts;
  if (tree.base.n_unknown_fields > 0) {
    Report("parse.unknown_node", "the parse tree has fields pgtenant does not know; it cannot be inspected");
  }
  for (statement_ = 0; statement_ < statements_ && !done(); ++statement_) {
    const PgQuery__RawStmt* raw = tree.stmts[statement_];
    if (raw == nullptr || raw->stmt == nullptr) continue;
    if (raw->base.n_unknown_fields > 0) {
      Report("parse.unknown_node", "the parse tree has fields pgtenant does not know; it cannot be inspected");
    }
    // stmt_location and stmt_len (0: to the end of the text), in bytes of the text.
    statement_begin_ = std::min(static_cast<size_t>(std::max(raw->stmt_location, 0)), context_.text.size());
    const auto len = static_cast<size_t>(std::max(raw->stmt_len, 0));
    statement_end_ = len == 0 ? context_.text.size() : std::min(statement_begin_ + len, context_.text.size());
    VisitNode(*raw->stmt, Walk{true, false, 0});
  }
  return hit_;
}

void TreeInspector::Report(std::string_view rule_id, std::string reason) {
  if (done() || !context_.policy.Enabled(rule_id)) return;
  hit_ = RuleHit{std::string(rule_id), std::move(reason)};
}

bool TreeInspector::IsOtherTenantSchema(std::string_view name) const {
  const config::TenantConfig* owner = context_.config->FindTenantBySchema(name);
  return owner != nullptr && owner != context_.tenant;
}

void TreeInspector::VisitNode(const PgQuery__Node& node, Walk walk) {
  if (done() || node.node_case == PG_QUERY__NODE__NODE__NOT_SET) return;  // an empty node: NIL in a list
  if (walk.depth >= kMaxNodeDepth) {
    Report("parse.error", "the statement is nested too deeply to inspect; pgtenant forwards only SQL it can inspect");
    return;
  }
  const NodeRole role = RoleOf(node.node_case);
  const ProtobufCMessage* message = NodeMessage(node);
  if (role == NodeRole::kUnknown || role == NodeRole::kAbsent || message == nullptr) {
    Report("parse.unknown_node", "the parse tree holds a node pgtenant does not know (" + NodeTypeName(node.node_case) +
                                     "); pgtenant forwards only SQL it can inspect");
    return;
  }
  if (role == NodeRole::kStatement) CheckStatement(node, walk.top_level);
  if (node.node_case == PG_QUERY__NODE__NODE_STRING) {
    const std::string_view name = Text(node.string->sval);
    if (walk.schema_objects && IsOtherTenantSchema(name)) {
      Report("cross_tenant.schema", "schema " + std::string(name) + " belongs to another tenant");
    }
  } else if (node.node_case == PG_QUERY__NODE__NODE_A_CONST) {
    if (node.a_const->val_case == PG_QUERY__A__CONST__VAL_SVAL && node.a_const->sval != nullptr) {
      CheckLiteral(Text(node.a_const->sval->sval));
    }
  } else if (node.node_case == PG_QUERY__NODE__NODE_COLUMN_REF) {
    CheckColumnRef(*node.column_ref);
  }
  walk.top_level = false;
  ++walk.depth;
  VisitMessage(*message, walk);
}

void TreeInspector::VisitMessage(const ProtobufCMessage& message, Walk walk) {
  if (done()) return;
  const ProtobufCMessageDescriptor* type = message.descriptor;
  if (message.n_unknown_fields > 0) {
    Report("parse.unknown_node", std::string("the parse tree has fields pgtenant does not know (in ") +
                                     type->short_name + "); pgtenant forwards only SQL it can inspect");
    return;
  }
  std::string_view schema;
  if (type == &pg_query__range_var__descriptor) {
    CheckRangeVar(reinterpret_cast<const PgQuery__RangeVar&>(message));
  } else if (type == &pg_query__create_schema_stmt__descriptor) {
    schema = Text(reinterpret_cast<const PgQuery__CreateSchemaStmt&>(message).schemaname);
  } else if (type == &pg_query__alter_object_schema_stmt__descriptor) {
    schema = Text(reinterpret_cast<const PgQuery__AlterObjectSchemaStmt&>(message).newschema);
  } else if (type == &pg_query__import_foreign_schema_stmt__descriptor) {
    schema = Text(reinterpret_cast<const PgQuery__ImportForeignSchemaStmt&>(message).local_schema);
  } else if (type == &pg_query__func_call__descriptor) {
    CheckFunctionCall(reinterpret_cast<const PgQuery__FuncCall&>(message));
  }
  if (IsOtherTenantSchema(schema)) {
    Report("cross_tenant.schema", "schema " + std::string(schema) + " belongs to another tenant");
  }
  // A statement about schemas (DROP SCHEMA, ALTER SCHEMA ... RENAME, GRANT ... ON SCHEMA, COMMENT ON
  // SCHEMA ...): its plain names are schema names.
  for (unsigned i = 0; i < type->n_fields; ++i) {
    const ProtobufCFieldDescriptor& field = type->fields[i];
    if (field.type == PROTOBUF_C_TYPE_ENUM && field.descriptor == &pg_query__object_type__descriptor &&
        field.label != PROTOBUF_C_LABEL_REPEATED &&
        FieldValue<int>(message, field.offset) == PG_QUERY__OBJECT_TYPE__OBJECT_SCHEMA) {
      walk.schema_objects = true;
    }
  }
  walk.top_level = false;
  for (unsigned i = 0; i < type->n_fields && !done(); ++i) VisitField(message, type->fields[i], walk);
}

void TreeInspector::VisitField(const ProtobufCMessage& message, const ProtobufCFieldDescriptor& field, Walk walk) {
  switch (field.type) {
    case PROTOBUF_C_TYPE_MESSAGE: {
      if (field.label == PROTOBUF_C_LABEL_REPEATED) {
        VisitList(message, field, walk);
        return;
      }
      if ((field.flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0 &&
          FieldValue<uint32_t>(message, field.quantifier_offset) != field.id) {
        return;  // another member of the oneof is set
      }
      const auto* child = FieldValue<const ProtobufCMessage*>(message, field.offset);
      if (child == nullptr) return;
      if (field.descriptor == &pg_query__node__descriptor) {
        VisitNode(*reinterpret_cast<const PgQuery__Node*>(child), walk);
      } else {
        VisitMessage(*child, walk);
      }
      return;
    }
    // Scalars hold no nodes; the rules that read one read it by name (statement_rules.cc).
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
    case PROTOBUF_C_TYPE_BOOL:
    case PROTOBUF_C_TYPE_ENUM:
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
      return;
  }
  Report("parse.unknown_node", std::string("field ") + field.name + " of " + message.descriptor->short_name +
                                   " has a type pgtenant cannot read; pgtenant forwards only SQL it can inspect");
}

void TreeInspector::VisitList(const ProtobufCMessage& message, const ProtobufCFieldDescriptor& field, Walk walk) {
  const auto count = FieldValue<size_t>(message, field.quantifier_offset);
  const auto items = FieldValue<ProtobufCMessage* const*>(message, field.offset);
  if (count == 0 || items == nullptr) return;
  if (field.descriptor != &pg_query__node__descriptor) {
    for (size_t i = 0; i < count && !done(); ++i) {
      if (items[i] != nullptr) VisitMessage(*items[i], walk);
    }
    return;
  }
  const auto nodes = reinterpret_cast<PgQuery__Node* const*>(items);
  const bool names = count >= 2 && std::all_of(nodes, nodes + count, [](const PgQuery__Node* item) {
                       return StringNodeValue(item).has_value();
                     });
  if (names && !IsColumnList(message.descriptor, field.offset)) CheckQualifiedName(nodes, count);
  for (size_t i = 0; i < count && !done(); ++i) {
    if (nodes[i] != nullptr) VisitNode(*nodes[i], walk);
  }
}

// [schema, name] or [database, schema, name]: type names, function and operator names, DROP/COMMENT
// targets. A two-part column reference is table.column, so ColumnRef is handled on its own.
void TreeInspector::CheckQualifiedName(PgQuery__Node* const* items, size_t count) {
  std::string_view first = *StringNodeValue(items[0]);
  std::string_view second = *StringNodeValue(items[1]);
  std::string_view schema = IsOtherTenantSchema(first) ? first : std::string_view();
  if (schema.empty() && count >= 3 && IsOtherTenantSchema(second)) schema = second;
  if (schema.empty()) return;
  std::string name;
  for (size_t i = 0; i < count; ++i) name += (name.empty() ? "" : ".") + std::string(*StringNodeValue(items[i]));
  Report("cross_tenant.schema", name + " is in schema " + std::string(schema) + ", which belongs to another tenant");
}

// schema.table.column (3 parts) or database.schema.table.column (4 parts).
void TreeInspector::CheckColumnRef(const PgQuery__ColumnRef& ref) {
  std::optional<std::string_view> schema;
  if (ref.n_fields >= 3) schema = StringNodeValue(ref.fields[0]);
  if (ref.n_fields >= 4 && !(schema && IsOtherTenantSchema(*schema))) schema = StringNodeValue(ref.fields[1]);
  if (schema && IsOtherTenantSchema(*schema)) {
    Report("cross_tenant.schema",
           "a column of schema " + std::string(*schema) + " is referenced, which belongs to another tenant");
  }
}

void TreeInspector::CheckRangeVar(const PgQuery__RangeVar& relation_var) {
  const std::string_view schema = Text(relation_var.schemaname);
  const std::string_view relation = Text(relation_var.relname);
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
      (Text(relation_var.relpersistence) == "t" || protocol::StartsWithIgnoreCase(schema, "pg_temp"))) {
    Report("pooling.session_state",
           "temporary objects outlive the transaction in transaction pooling; use a regular table or a CTE");
  }
  if (MatchesDenied(context_.policy.deny_tables, schema, relation)) {
    Report("tenant.denied_table", "table " + qualified + " is denied by the tenant's policy");
  }
}

void TreeInspector::CheckFunctionCall(const PgQuery__FuncCall& call) {
  if (call.n_funcname == 0) return;
  const std::optional<std::string_view> last = StringNodeValue(call.funcname[call.n_funcname - 1]);
  if (!last) return;
  const std::string name = protocol::AsciiLower(*last);
  std::string_view schema;
  if (call.n_funcname >= 2) schema = StringNodeValue(call.funcname[call.n_funcname - 2]).value_or("");

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
      if (rule.rule_id == "context.set_config" && !done()) CheckSetConfig(call);
    }
    break;
  }
  CheckSharedCatalogFunction(name);
  if (name == "pg_notify") CheckNotifyCall(call);
  // ts_rewrite(query, 'SELECT ...') runs its second argument; the three-argument form does not.
  if (name == "ts_rewrite" && call.n_args == 2) {
    Report("dynamic_sql.executor", "ts_rewrite with a query string runs SQL given as a string; it is not allowed");
  }
  if (MatchesDenied(context_.policy.deny_functions, schema, name)) {
    Report("tenant.denied_function", "function " + name + "() is denied by the tenant's policy");
  }
}

namespace {
// A string constant ('x'), or nullopt.
std::optional<std::string_view> ConstantString(const PgQuery__Node* node) {
  if (node == nullptr || node->node_case != PG_QUERY__NODE__NODE_A_CONST) return std::nullopt;
  const PgQuery__AConst& constant = *node->a_const;
  if (constant.val_case != PG_QUERY__A__CONST__VAL_SVAL || constant.sval == nullptr) return std::nullopt;
  return Text(constant.sval->sval);
}
// A boolean constant (true, 'off', ...), or nullopt.
std::optional<bool> ConstantBool(const PgQuery__Node* node) {
  if (node == nullptr || node->node_case != PG_QUERY__NODE__NODE_A_CONST) return std::nullopt;
  const PgQuery__AConst& constant = *node->a_const;
  if (constant.val_case == PG_QUERY__A__CONST__VAL_BOOLVAL) {
    return constant.boolval != nullptr && constant.boolval->boolval;
  }
  const std::optional<std::string_view> text = ConstantString(node);
  if (!text) return std::nullopt;
  const std::string lower = protocol::AsciiLower(*text);
  if (lower == "true" || lower == "t" || lower == "on" || lower == "yes" || lower == "1") return true;
  if (lower == "false" || lower == "f" || lower == "off" || lower == "no" || lower == "0") return false;
  return std::nullopt;
}
}  // namespace

void TreeInspector::CheckSetConfig(const PgQuery__FuncCall& call) {
  // With context.set_config switched off, set_config(name, value, false) is a SET: under transaction
  // pooling it must name a session parameter, with constant arguments, so that pgtenant keeps it.
  if (call.n_args != 3) return;  // PostgreSQL refuses other arities
  const std::optional<bool> local = ConstantBool(call.args[2]);
  if (local == true) return;  // transaction-local: gone at the transaction's end
  const std::optional<std::string_view> name = ConstantString(call.args[0]);
  const std::optional<std::string_view> value = ConstantString(call.args[1]);
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
