// StatementDigest: a tree walk for the fingerprint and the constants' locations, and a scanner for
// the literals of the text (PostgreSQL 15's scan.l, for what is a literal).
#include "policy/statement_digest.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

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

// ---- the literals of the text -----------------------------------------------------------------

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c & 0x80); }
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9') || c == '$'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

struct Span {
  size_t begin;
  size_t end;
};

// End of the string whose opening quote is at text[i]; `escapes`: backslashes escape (E'...').
size_t QuotedEnd(std::string_view text, size_t i, char quote, bool escapes) {
  size_t j = i + 1;
  while (j < text.size()) {
    if (escapes && text[j] == '\\' && j + 1 < text.size()) {
      j += 2;
    } else if (text[j] == quote) {
      if (j + 1 < text.size() && text[j + 1] == quote) {
        j += 2;
      } else {
        return j + 1;
      }
    } else {
      ++j;
    }
  }
  return text.size();
}

// The literals of `text` in order, and the highest parameter number ($n) it uses.
std::vector<Span> ScanLiterals(std::string_view text, int& highest_parameter) {
  std::vector<Span> literals;
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const char c = text[i];
    if (c == '-' && i + 1 < n && text[i + 1] == '-') {  // -- comment
      while (i < n && text[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < n && text[i + 1] == '*') {  // /* nested comments */
      size_t depth = 0;
      do {
        if (i + 1 < n && text[i] == '/' && text[i + 1] == '*') {
          ++depth;
          i += 2;
        } else if (i + 1 < n && text[i] == '*' && text[i + 1] == '/') {
          --depth;
          i += 2;
        } else {
          ++i;
        }
      } while (i < n && depth > 0);
    } else if (c == '"') {  // a quoted identifier
      i = QuotedEnd(text, i, '"', false);
    } else if (c == '\'') {
      literals.push_back({i, QuotedEnd(text, i, '\'', false)});
      i = literals.back().end;
    } else if (c == '$') {
      size_t j = i + 1;
      if (j < n && IsDigit(text[j])) {  // a parameter
        int number = 0;
        while (j < n && IsDigit(text[j])) {
          if (number < 100000000) number = number * 10 + (text[j] - '0');
          ++j;
        }
        highest_parameter = std::max(highest_parameter, number);
        i = j;
        continue;
      }
      while (j < n && IsIdentStart(text[j])) ++j;
      while (j < n && IsIdentChar(text[j]) && text[j] != '$') ++j;
      if (j < n && text[j] == '$') {  // $tag$ ... $tag$
        const std::string_view tag = text.substr(i, j + 1 - i);
        const size_t close = text.find(tag, j + 1);
        const size_t end = close == std::string_view::npos ? n : close + tag.size();
        literals.push_back({i, end});
        i = end;
      } else {
        ++i;
      }
    } else if (IsDigit(c) || (c == '.' && i + 1 < n && IsDigit(text[i + 1]))) {
      size_t j = i;
      while (j < n && IsDigit(text[j])) ++j;
      if (j < n && text[j] == '.' && !(j + 1 < n && text[j + 1] == '.')) {
        ++j;
        while (j < n && IsDigit(text[j])) ++j;
      }
      if (j < n && (text[j] == 'e' || text[j] == 'E')) {
        size_t k = j + 1;
        if (k < n && (text[k] == '+' || text[k] == '-')) ++k;
        if (k < n && IsDigit(text[k])) {
          j = k;
          while (j < n && IsDigit(text[j])) ++j;
        }
      }
      literals.push_back({i, j});
      i = j;
    } else if (IsIdentStart(c)) {
      size_t j = i;
      while (j < n && IsIdentChar(text[j])) ++j;
      // A one-letter word right before a quote is a string's prefix: E'..', B'..', X'..', N'..'; and U&'..'.
      const bool prefix = j - i == 1 && j < n && text[j] == '\'' && std::strchr("EeBbXxNn", c) != nullptr;
      const bool unicode = j - i == 1 && (c == 'U' || c == 'u') && j + 1 < n && text[j] == '&' && text[j + 1] == '\'';
      if (prefix || unicode) {
        const size_t quote = unicode ? j + 1 : j;
        const size_t end = QuotedEnd(text, quote, '\'', c == 'E' || c == 'e');
        literals.push_back({i, end});
        i = end;
      } else if (j < n && text[j] == '"' && j - i == 1 && (c == 'U' || c == 'u')) {
        i = j;  // U&"..." is an identifier; the quote is read next
      } else {
        i = j;
      }
    } else {
      ++i;
    }
  }
  return literals;
}

}  // namespace

std::string NormalizeStatement(std::string_view text, std::vector<int> constant_locations) {
  int highest_parameter = 0;
  std::vector<Span> spans = ScanLiterals(text, highest_parameter);
  // Constants the scanner does not see as literals: TRUE, FALSE, NULL, and the sign of -1.
  std::sort(constant_locations.begin(), constant_locations.end());
  for (int location : constant_locations) {
    if (location < 0 || static_cast<size_t>(location) >= text.size()) continue;
    const size_t at = static_cast<size_t>(location);
    if (text[at] == '-') {
      auto next = std::lower_bound(spans.begin(), spans.end(), at, [](const Span& s, size_t pos) { return s.begin < pos; });
      size_t gap = at + 1;
      while (gap < text.size() && IsSpace(text[gap])) ++gap;
      if (next != spans.end() && next->begin == gap) next->begin = at;
    } else if (IsIdentStart(text[at])) {
      size_t end = at;
      while (end < text.size() && IsIdentChar(text[end])) ++end;
      spans.push_back({at, end});
    }
  }
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin != b.begin ? a.begin < b.begin : a.end > b.end; });
  std::string out;
  out.reserve(text.size() + 8);
  size_t copied = 0;
  int next_parameter = highest_parameter;
  for (const Span& span : spans) {
    if (span.begin < copied) {  // overlaps a literal already replaced (B'1' seen by the tree as B)
      copied = std::max(copied, span.end);
      continue;
    }
    out.append(text.substr(copied, span.begin - copied));
    out += '$';
    out += std::to_string(++next_parameter);
    copied = span.end;
  }
  out.append(text.substr(std::min(copied, text.size())));
  return out;
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
