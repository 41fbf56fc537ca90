// JsonTree: a small, strict JSON reader for libpg_query's parse trees (no JSON library is available).
//
// Accepts RFC 8259 JSON: objects, arrays, strings with every escape (\uXXXX, surrogate pairs decoded to
// UTF-8), numbers, true, false, null, with nesting at most `max_depth` deep. Raw bytes >= 0x80 inside
// strings are kept as they are (libpg_query writes UTF-8 unescaped); raw control characters are errors.
// Object members keep document order; duplicate keys are kept (Find returns the first).
// Thread-safety: a JsonValue is a plain value; ParseJson is reentrant.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/status.h"

namespace pgtenant::policy {

struct JsonMember;

class JsonValue {
 public:
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };

  JsonValue() = default;
  static JsonValue Null();
  static JsonValue Bool(bool value);
  static JsonValue Number(std::string text);  // REQUIRES: `text` is a JSON number
  static JsonValue String(std::string text);
  static JsonValue Array(std::vector<JsonValue> items);
  static JsonValue Object(std::vector<JsonMember> members);

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_array() const { return kind_ == Kind::kArray; }
  bool is_object() const { return kind_ == Kind::kObject; }

  // kBool: its value; otherwise false.
  bool boolean() const { return kind_ == Kind::kBool && bool_; }
  // kString: the decoded text; kNumber: the number as written; otherwise "".
  const std::string& text() const { return text_; }
  // kNumber holding an integer that fits int64; otherwise nullopt.
  std::optional<int64_t> AsInt() const;
  // kArray: the items; otherwise empty.
  const std::vector<JsonValue>& items() const { return items_; }
  // kObject: the members in document order; otherwise empty.
  const std::vector<JsonMember>& members() const { return members_; }
  // kObject: the value of the first member named `key`; otherwise nullptr.
  const JsonValue* Find(std::string_view key) const;

 private:
  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  std::string text_;
  std::vector<JsonValue> items_;
  std::vector<JsonMember> members_;
};

struct JsonMember {
  std::string key;
  JsonValue value;
};

// Defined here, where JsonMember is complete: clang instantiates the vector members' constructors at
// the point of use.
inline JsonValue JsonValue::Null() { return JsonValue(); }

// Deep enough for any statement a person or an ORM writes; deeper trees are refused, not recursed into.
inline constexpr int kDefaultJsonMaxDepth = 2000;

// The JSON value in `text` (nothing but whitespace may follow it). Errors name the byte offset.
Result<JsonValue> ParseJson(std::string_view text, int max_depth = kDefaultJsonMaxDepth);

}  // namespace pgtenant::policy
