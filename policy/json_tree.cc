// JsonTree: a recursive-descent reader (RFC 8259) with a depth limit.
#include "policy/json_tree.h"

#include <charconv>

namespace pgtenant::policy {

JsonValue JsonValue::Bool(bool value) {
  JsonValue v;
  v.kind_ = Kind::kBool;
  v.bool_ = value;
  return v;
}

JsonValue JsonValue::Number(std::string text) {
  JsonValue v;
  v.kind_ = Kind::kNumber;
  v.text_ = std::move(text);
  return v;
}

JsonValue JsonValue::String(std::string text) {
  JsonValue v;
  v.kind_ = Kind::kString;
  v.text_ = std::move(text);
  return v;
}

JsonValue JsonValue::Array(std::vector<JsonValue> items) {
  JsonValue v;
  v.kind_ = Kind::kArray;
  v.items_ = std::move(items);
  return v;
}

JsonValue JsonValue::Object(std::vector<JsonMember> members) {
  JsonValue v;
  v.kind_ = Kind::kObject;
  v.members_ = std::move(members);
  return v;
}

std::optional<int64_t> JsonValue::AsInt() const {
  if (kind_ != Kind::kNumber) return std::nullopt;
  int64_t value = 0;
  const char* end = text_.data() + text_.size();
  auto [ptr, ec] = std::from_chars(text_.data(), end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

const JsonValue* JsonValue::Find(std::string_view key) const {
  for (const JsonMember& member : members_) {
    if (member.key == key) return &member.value;
  }
  return nullptr;
}

namespace {

class JsonReader {
 public:
  JsonReader(std::string_view text, int max_depth) : text_(text), max_depth_(max_depth) {}

  Result<JsonValue> ReadDocument() {
    JsonValue value;
    if (!ReadValue(value, 0)) return Error();
    SkipSpace();
    if (pos_ != text_.size()) return Fail("unexpected data after the JSON value");
    return value;
  }

 private:
  Status Error() const { return Status::Error("invalid JSON at offset " + std::to_string(pos_) + ": " + error_); }
  Status Fail(std::string message) {
    error_ = std::move(message);
    return Error();
  }
  bool SetError(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return false;
  }
  // The recursive path (ReadValue -> ReadArray/ReadObject -> ReadValue) keeps its frames small: no
  // std::string temporaries in them. Under AddressSanitizer every local gets red zones, and 2,000
  // levels of fat frames overflowed the 8 MB stack; the out-of-line helpers below hold them instead.
  [[gnu::noinline]] bool Refuse(const char* message) { return SetError(message); }
  [[gnu::noinline]] bool FailTooDeep() { return SetError("nesting deeper than " + std::to_string(max_depth_)); }

  void SkipSpace() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Consume(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool ReadValue(JsonValue& out, int depth) {
    SkipSpace();
    if (pos_ >= text_.size()) return Refuse("unexpected end of input");
    const char c = text_[pos_];
    if (c == '{' || c == '[') {
      if (depth >= max_depth_) return FailTooDeep();
      return c == '{' ? ReadObject(out, depth + 1) : ReadArray(out, depth + 1);
    }
    return ReadScalar(out, c);
  }

  [[gnu::noinline]] bool ReadScalar(JsonValue& out, char c) {
    if (c == '"') {
      std::string text;
      if (!ReadString(text)) return false;
      out = JsonValue::String(std::move(text));
      return true;
    }
    if (Consume("true")) {
      out = JsonValue::Bool(true);
      return true;
    }
    if (Consume("false")) {
      out = JsonValue::Bool(false);
      return true;
    }
    if (Consume("null")) {
      out = JsonValue::Null();
      return true;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return ReadNumber(out);
    return SetError(std::string("unexpected character '") + c + "'");
  }

  bool ReadObject(JsonValue& out, int depth) {
    std::vector<JsonMember> members;
    const bool read = ReadItems('}', [&] {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"') return Refuse("expected a member name");
      JsonMember member;
      if (!ReadString(member.key)) return false;
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != ':') return Refuse("expected ':'");
      ++pos_;
      if (!ReadValue(member.value, depth)) return false;
      members.push_back(std::move(member));
      return true;
    });
    if (read) out = JsonValue::Object(std::move(members));
    return read;
  }

  bool ReadArray(JsonValue& out, int depth) {
    std::vector<JsonValue> items;
    const bool read = ReadItems(']', [&] {
      JsonValue item;
      if (!ReadValue(item, depth)) return false;
      items.push_back(std::move(item));
      return true;
    });
    if (read) out = JsonValue::Array(std::move(items));
    return read;
  }

  // The items of an object or array, from its opening bracket past `close`: none, or `read_item`
  // calls separated by ','.
  template <typename ReadItem>
  bool ReadItems(char close, ReadItem read_item) {
    ++pos_;  // '{' or '['
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == close) {
      ++pos_;
      return true;
    }
    while (true) {
      if (!read_item()) return false;
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == close) {
        ++pos_;
        return true;
      }
      return Refuse(close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  bool ReadNumber(JsonValue& out) {
    const size_t start = pos_;
    auto digits = [this]() {
      const size_t from = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
      return pos_ - from;
    };
    if (text_[pos_] == '-') ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '0') {
      ++pos_;
    } else if (digits() == 0) {
      return SetError("invalid number");
    }
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) return SetError("invalid number");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (digits() == 0) return SetError("invalid number");
    }
    out = JsonValue::Number(std::string(text_.substr(start, pos_ - start)));
    return true;
  }

  bool ReadHex4(uint32_t& out) {
    if (pos_ + 4 > text_.size()) return SetError("truncated \\u escape");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      out <<= 4;
      if (c >= '0' && c <= '9') {
        out |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        out |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        out |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return SetError("invalid \\u escape");
      }
    }
    return true;
  }

  static void AppendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool ReadEscape(std::string& out) {
    if (pos_ >= text_.size()) return SetError("truncated escape");
    const char c = text_[pos_++];
    switch (c) {
      case '"': out += '"'; return true;
      case '\\': out += '\\'; return true;
      case '/': out += '/'; return true;
      case 'b': out += '\b'; return true;
      case 'f': out += '\f'; return true;
      case 'n': out += '\n'; return true;
      case 'r': out += '\r'; return true;
      case 't': out += '\t'; return true;
      case 'u': break;
      default: return SetError("invalid escape");
    }
    uint32_t cp = 0;
    if (!ReadHex4(cp)) return false;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return SetError("unpaired low surrogate");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      uint32_t low = 0;
      if (!Consume("\\u") || !ReadHex4(low) || low < 0xDC00 || low > 0xDFFF) {
        return SetError("unpaired high surrogate");
      }
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    AppendUtf8(out, cp);
    return true;
  }

  bool ReadString(std::string& out) {
    ++pos_;  // '"'
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) return SetError("control character in string");
      if (c == '\\') {
        ++pos_;
        if (!ReadEscape(out)) return false;
        continue;
      }
      out += c;
      ++pos_;
    }
    return SetError("unterminated string");
  }

  std::string_view text_;
  int max_depth_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace

Result<JsonValue> ParseJson(std::string_view text, int max_depth) {
  JsonReader reader(text, max_depth);
  return reader.ReadDocument();
}

}  // namespace pgtenant::policy
