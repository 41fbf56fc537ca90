// StatementDigest: a tree walk for the fingerprint and the constants' locations, and a scanner for
// the literals of the text (PostgreSQL 15's scan.l, for what is a literal).
#include "policy/statement_digest.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#include "policy/audit_statement_text.h"
#include "policy/node_catalog.h"

namespace pgtenant::policy {

namespace {

// ---- the fingerprint --------------------------------------------------------------------------

// String fields that hold a literal of the text, not a name: never hashed.
struct FieldRef {
  const ProtobufCMessageDescriptor* message;
  size_t offset;
};
const std::array<FieldRef, 10> kLiteralFields = {{
    {&pg_query__copy_stmt__descriptor, offsetof(PgQuery__CopyStmt, filename)},
    {&pg_query__comment_stmt__descriptor, offsetof(PgQuery__CommentStmt, comment)},
    {&pg_query__sec_label_stmt__descriptor, offsetof(PgQuery__SecLabelStmt, label)},
    {&pg_query__notify_stmt__descriptor, offsetof(PgQuery__NotifyStmt, payload)},
    {&pg_query__transaction_stmt__descriptor, offsetof(PgQuery__TransactionStmt, gid)},
    {&pg_query__alter_enum_stmt__descriptor, offsetof(PgQuery__AlterEnumStmt, new_val)},
    {&pg_query__create_table_space_stmt__descriptor, offsetof(PgQuery__CreateTableSpaceStmt, location)},
    {&pg_query__load_stmt__descriptor, offsetof(PgQuery__LoadStmt, filename)},
    {&pg_query__create_subscription_stmt__descriptor, offsetof(PgQuery__CreateSubscriptionStmt, conninfo)},
    {&pg_query__alter_subscription_stmt__descriptor, offsetof(PgQuery__AlterSubscriptionStmt, conninfo)},
}};

bool IsLiteralField(const ProtobufCMessageDescriptor* message, size_t offset) {
  return std::any_of(kLiteralFields.begin(), kLiteralFields.end(),
                     [&](const FieldRef& ref) { return ref.message == message && ref.offset == offset; });
}

template <typename T>
T FieldValue(const ProtobufCMessage& message, size_t offset) {
  T value;
  std::memcpy(&value, reinterpret_cast<const char*>(&message) + offset, sizeof value);
  return value;
}

class TreeDigest {
 public:
  explicit TreeDigest(std::vector<int>& constants) : constants_(constants) {}

  void Node(const PgQuery__Node& node, size_t depth) {
    const ProtobufCMessage* message = NodeMessage(node);
    // A constant and a parameter are alike, as in the normalized text ($n): their place counts, not
    // their value or number.
    if (node.node_case == PG_QUERY__NODE__NODE_A_CONST || node.node_case == PG_QUERY__NODE__NODE_PARAM_REF) {
      Mix(static_cast<uint32_t>(PG_QUERY__NODE__NODE_PARAM_REF));
      if (node.node_case == PG_QUERY__NODE__NODE_A_CONST && message != nullptr) {
        constants_.push_back(node.a_const->location);
      }
      return;
    }
    Mix(static_cast<uint32_t>(node.node_case));
    if (message == nullptr || depth > kMaxDepth) return;
    switch (node.node_case) {
      case PG_QUERY__NODE__NODE_DEF_ELEM: {  // an option: its name counts, not its value
        const PgQuery__DefElem& option = *node.def_elem;
        Bytes(option.defnamespace);
        Bytes(option.defname);
        Mix(static_cast<uint32_t>(option.defaction));
        if (option.arg != nullptr) CollectConstants(*option.arg, depth + 1);
        return;
      }
      default:
        Message(*message, depth + 1);
    }
  }

  uint64_t hash() const { return hash_; }

 private:
  static constexpr size_t kMaxDepth = 4000;  // the parser's own limits come first; this bounds the stack

  // Walks an option's value for the constants it holds, without hashing it.
  void CollectConstants(const PgQuery__Node& node, size_t depth) {
    if (depth > kMaxDepth) return;
    if (node.node_case == PG_QUERY__NODE__NODE_A_CONST) {
      constants_.push_back(node.a_const->location);
      return;
    }
    if (node.node_case == PG_QUERY__NODE__NODE_LIST && node.list != nullptr) {
      for (size_t i = 0; i < node.list->n_items; ++i) {
        if (node.list->items[i] != nullptr) CollectConstants(*node.list->items[i], depth + 1);
      }
      return;
    }
    if (node.node_case == PG_QUERY__NODE__NODE_TYPE_CAST && node.type_cast->arg != nullptr) {
      CollectConstants(*node.type_cast->arg, depth + 1);
    }
  }

  void Message(const ProtobufCMessage& message, size_t depth) {
    const ProtobufCMessageDescriptor* type = message.descriptor;
    for (unsigned i = 0; i < type->n_fields; ++i) {
      const ProtobufCFieldDescriptor& field = type->fields[i];
      if ((field.flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0 &&
          FieldValue<uint32_t>(message, field.quantifier_offset) != field.id) {
        continue;
      }
      switch (field.type) {
        case PROTOBUF_C_TYPE_MESSAGE:
          if (field.label == PROTOBUF_C_LABEL_REPEATED) {
            const auto count = FieldValue<size_t>(message, field.quantifier_offset);
            const auto items = FieldValue<ProtobufCMessage* const*>(message, field.offset);
            if (count == 0) break;
            Mix(field.id);
            Mix(static_cast<uint32_t>(count));
            for (size_t j = 0; j < count; ++j) Child(field, items[j], depth);
          } else if (const auto* child = FieldValue<const ProtobufCMessage*>(message, field.offset)) {
            Mix(field.id);
            Child(field, child, depth);
          }
          break;
        case PROTOBUF_C_TYPE_STRING: {
          const char* text = FieldValue<const char*>(message, field.offset);
          if (text == nullptr || *text == '\0' || IsLiteralField(type, field.offset)) break;
          Mix(field.id);
          Bytes(text);
          break;
        }
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_BOOL:
        case PROTOBUF_C_TYPE_ENUM: {
          if (field.label == PROTOBUF_C_LABEL_REPEATED) break;
          if (field.type == PROTOBUF_C_TYPE_INT32 && std::strcmp(field.name, "location") == 0) break;
          const uint32_t value = field.type == PROTOBUF_C_TYPE_BOOL ? FieldValue<protobuf_c_boolean>(message, field.offset)
                                                                     : FieldValue<uint32_t>(message, field.offset);
          if (value == 0) break;
          Mix(field.id);
          Mix(value);
          break;
        }
        default:
          break;  // 64-bit and floating fields belong to analysed trees only
      }
    }
  }

  void Child(const ProtobufCFieldDescriptor& field, const ProtobufCMessage* child, size_t depth) {
    if (child == nullptr) {
      Mix(0);
    } else if (field.descriptor == &pg_query__node__descriptor) {
      Node(*reinterpret_cast<const PgQuery__Node*>(child), depth);
    } else {
      Message(*child, depth + 1);
    }
  }

  void Mix(uint32_t value) {
    for (int i = 0; i < 4; ++i) Byte(static_cast<uint8_t>(value >> (8 * i)));
  }
  void Bytes(const char* text) {
    if (text == nullptr) return;
    for (const char* c = text; *c != '\0'; ++c) Byte(static_cast<uint8_t>(*c));
    Byte(0);
  }
  void Byte(uint8_t byte) {
    hash_ ^= byte;
    hash_ *= 0x100000001b3ULL;  // FNV-1a, 64 bits
  }

  std::vector<int>& constants_;
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

// ---- the normalized text ----------------------------------------------------------------------

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c & 0x80); }
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9') || c == '$'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// TRUE, FALSE, NULL: the constants that are keywords.
bool IsKeywordConstant(std::string_view word) {
  if (word.size() != 4 && word.size() != 5) return false;
  char lower[5];
  for (size_t i = 0; i < word.size(); ++i) lower[i] = static_cast<char>(word[i] | 0x20);
  const std::string_view folded(lower, word.size());
  return folded == "true" || folded == "false" || folded == "null";
}

}  // namespace

std::string NormalizeStatement(std::string_view text, std::vector<int> constant_locations) {
  // The scanner cannot tell TRUE, FALSE and NULL from names, nor a negative number's sign from an
  // operator: the tree's A_Const locations mark them, and each becomes the constant 0 (a negative
  // number loses its sign), which the scanner then replaces like any other.
  std::sort(constant_locations.begin(), constant_locations.end());
  std::string marked;
  size_t copied = 0;
  for (int location : constant_locations) {
    if (location < 0 || static_cast<size_t>(location) < copied || static_cast<size_t>(location) >= text.size()) {
      continue;
    }
    const size_t at = static_cast<size_t>(location);
    if (text[at] == '-') {
      size_t gap = at + 1;
      while (gap < text.size() && IsSpace(text[gap])) ++gap;
      if (gap < text.size() && (IsDigit(text[gap]) || text[gap] == '.')) {
        marked.append(text.substr(copied, at - copied));
        copied = gap;
      }
    } else if (IsIdentStart(text[at])) {
      size_t end = at;
      while (end < text.size() && IsIdentChar(text[end])) ++end;
      if (IsKeywordConstant(text.substr(at, end - at))) {
        marked.append(text.substr(copied, at - copied));
        marked += '0';
        copied = end;
      }
    }
  }
  if (copied == 0) return AuditStatementText(text).value_or(std::string());
  marked.append(text.substr(copied));
  return AuditStatementText(marked).value_or(std::string());
}

StatementDigest DigestStatement(const PgQuery__ParseResult& tree, std::string_view text) {
  std::vector<int> constants;
  TreeDigest digest(constants);
  for (size_t i = 0; i < tree.n_stmts; ++i) {
    if (tree.stmts[i] != nullptr && tree.stmts[i]->stmt != nullptr) digest.Node(*tree.stmts[i]->stmt, 0);
  }
  StatementDigest out;
  static constexpr char kHex[] = "0123456789abcdef";
  const uint64_t hash = digest.hash();
  out.fingerprint.resize(16);
  for (int i = 0; i < 16; ++i) out.fingerprint[static_cast<size_t>(i)] = kHex[(hash >> (60 - 4 * i)) & 0xF];
  out.normalized = NormalizeStatement(text, std::move(constants));
  return out;
}

}  // namespace pgtenant::policy
