// YamlReader: typed, located reads from a YamlDocument's tree (contract in yaml_reader.h).
#include "config/yaml_reader.h"

#include <algorithm>
#include <climits>
#include <unordered_set>

#include "config/env_expansion.h"

namespace pgtenant::config {

namespace {

std::string Describe(const YamlNode& node) {
  switch (node.kind()) {
    case YamlNode::Kind::kNull: return "an empty value";
    case YamlNode::Kind::kScalar: return Quoted(node.scalar());
    case YamlNode::Kind::kSequence: return "a sequence";
    case YamlNode::Kind::kMapping: return "a mapping";
  }
  return "nothing";
}

// Where an error about `value` should point: at it, unless it is empty (its position is then that of
// whatever follows it).
YamlMark ValueMark(const YamlNode& value, const YamlMark& fallback) {
  if (value.IsNull() || value.mark().is_null()) return fallback;
  return value.mark();
}

std::string JoinKeys(std::span<const std::string_view> keys) {
  std::string out;
  for (std::string_view key : keys) {
    if (!out.empty()) out += ", ";
    out += key;
  }
  return out;
}

}  // namespace

std::optional<Field> Mapping::Get(std::string_view key) const {
  for (const MappingEntry& entry : entries_) {
    if (entry.key == key) return entry.value;
  }
  return std::nullopt;
}

Field ChildField(const Field& parent, std::string_view key, const YamlNode& value, const YamlMark& key_mark) {
  std::string path = parent.path.empty() ? std::string(key) : parent.path + "." + std::string(key);
  return Field{std::move(path), value, ValueMark(value, key_mark)};
}

void YamlReader::Fail(const YamlMark& mark, std::string_view path, std::string_view message) {
  if (scope_failed_) return;
  scope_failed_ = true;
  const int line = mark.is_null() ? 1 : mark.line + 1;
  const int column = mark.is_null() ? 1 : mark.column + 1;
  std::string text = source_ + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
  if (!path.empty()) {
    text += path;
    text += ": ";
  }
  text += message;
  errors_.push_back(Error{line, column, std::move(text)});
}

Status YamlReader::status() const {
  if (errors_.empty()) return Status::Ok();
  std::vector<const Error*> ordered;
  for (const Error& error : errors_) ordered.push_back(&error);
  std::stable_sort(ordered.begin(), ordered.end(), [](const Error* a, const Error* b) {
    return a->line != b->line ? a->line < b->line : a->column < b->column;
  });
  std::string message;
  for (const Error* error : ordered) {
    if (!message.empty()) message += '\n';
    message += error->text;
  }
  return Status::Error(std::move(message));
}

Mapping YamlReader::ReadEntries(const Field& field, const ConfigSectionKeys* section, bool& unknown_key) {
  unknown_key = false;
  if (!field.node.IsMap()) {
    Fail(field, "expected a mapping, got " + Describe(field.node));
    return Mapping();
  }
  std::vector<MappingEntry> entries;
  entries.reserve(field.node.size());
  std::unordered_set<std::string_view> seen;  // views into the document's text
  seen.reserve(field.node.size());
  for (size_t i = 0; i < field.node.size(); ++i) {
    const YamlNode key = field.node.key(i);
    const YamlNode value = field.node.value(i);
    // Each bad key is an error of its own: the entry is left out, the others are read.
    ErrorScope key_scope(*this);
    if (!key.IsScalar()) {
      Fail(ValueMark(key, field.mark), field.path, "keys must be plain strings, got " + Describe(key));
      continue;
    }
    const std::string_view name = key.scalar();
    if (!seen.insert(name).second) {
      Fail(key.mark(), field.path, "duplicate key '" + std::string(name) + "'");
      continue;
    }
    if (section != nullptr) {
      const std::span<const std::string_view> allowed = section->keys;
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        std::vector<std::string> candidates(allowed.begin(), allowed.end());
        std::optional<std::string> suggestion = ClosestMatch(name, candidates);
        Fail(key.mark(), field.path,
             "unknown key '" + std::string(name) + "'" +
                 (suggestion ? " (did you mean '" + *suggestion + "'?)" : "; expected one of " + JoinKeys(allowed)));
        unknown_key = true;
        continue;
      }
      keys_read_.insert(section->path.empty() ? std::string(name) : std::string(section->path) + "." + std::string(name));
    }
    entries.push_back(MappingEntry{std::string(name), key.mark(), ChildField(field, name, value, key.mark())});
  }
  return Mapping(std::move(entries));
}

Mapping YamlReader::ReadMapping(const Field& field) {
  bool unknown_key = false;
  return ReadEntries(field, nullptr, unknown_key);
}

Mapping YamlReader::ReadMapping(const Field& field, ConfigSection section,
                                std::initializer_list<std::string_view> required) {
  bool unknown_key = false;
  Mapping mapping = ReadEntries(field, &SectionKeys(section), unknown_key);
  if (unknown_key || !field.node.IsMap()) return mapping;
  for (std::string_view key : required) {
    if (!mapping.Get(key)) {
      ErrorScope missing_scope(*this);
      Fail(field, "missing required key '" + std::string(key) + "'");
    }
  }
  return mapping;
}

std::vector<Field> YamlReader::ReadSequence(const Field& field) {
  if (!field.node.IsSequence()) {
    Fail(field, "expected a sequence such as [a, b], got " + Describe(field.node));
    return {};
  }
  std::vector<Field> items;
  for (size_t i = 0; i < field.node.size(); ++i) {
    const YamlNode item = field.node.item(i);
    items.push_back(Field{field.path + "[" + std::to_string(i) + "]", item, ValueMark(item, field.mark)});
  }
  return items;
}

std::optional<std::string> YamlReader::Scalar(const Field& field, std::string_view expected) {
  if (!field.node.IsScalar()) {
    Fail(field, "expected " + std::string(expected) + ", got " + Describe(field.node));
    return std::nullopt;
  }
  Result<std::string> expanded = ExpandEnvironment(field.node.scalar(), env_);
  if (!expanded.ok()) {
    Fail(field, expanded.status().message());
    return std::nullopt;
  }
  return std::move(expanded).value();
}

std::optional<std::string> YamlReader::ReadString(const Field& field) { return Scalar(field, "a string"); }

std::optional<bool> YamlReader::ReadBool(const Field& field) {
  std::optional<std::string> text = Scalar(field, "true or false");
  if (!text) return std::nullopt;
  if (*text == "true") return true;
  if (*text == "false") return false;
  Fail(field, "expected true or false, got " + Quoted(*text));
  return std::nullopt;
}

std::optional<std::string> YamlReader::ReadNonEmptyString(const Field& field) {
  std::optional<std::string> text = Scalar(field, "a string");
  if (text && text->empty()) {
    Fail(field, "must not be empty");
    return std::nullopt;
  }
  return text;
}

std::optional<int> YamlReader::ReadInt(const Field& field, int min, int max) {
  std::optional<std::string> text = Scalar(field, "an integer");
  if (!text) return std::nullopt;
  Result<int64_t> value = ParseInteger(*text);
  const std::string range =
      max == INT_MAX ? ">= " + std::to_string(min) : "from " + std::to_string(min) + " to " + std::to_string(max);
  if (!value.ok()) {
    Fail(field, "expected an integer " + range + ", got " + Quoted(*text));
    return std::nullopt;
  }
  if (*value < min || *value > max) {
    Fail(field, "expected an integer " + range + ", got " + *text);
    return std::nullopt;
  }
  return static_cast<int>(*value);
}

template <typename T, typename RangeError>
std::optional<T> YamlReader::ReadParsed(const Field& field, std::string_view expected,
                                        Result<T> (*parse)(std::string_view), RangeError range_error) {
  std::optional<std::string> text = Scalar(field, expected);
  if (!text) return std::nullopt;
  Result<T> value = parse(*text);
  if (!value.ok()) {
    Fail(field, value.status().message());
    return std::nullopt;
  }
  if (std::optional<std::string> error = range_error(*value, *text)) {
    Fail(field, *error);
    return std::nullopt;
  }
  return *value;
}

std::optional<Duration> YamlReader::ReadDuration(const Field& field, Duration min) {
  return ReadParsed(field, "a duration", ParseDuration,
                    [&](Duration value, const std::string& text) -> std::optional<std::string> {
                      if (value >= min) return std::nullopt;
                      if (min == Duration(1)) return "must be longer than 0";
                      return "must be at least " + std::to_string(min.count()) + "ms, got " + text;
                    });
}

std::optional<uint64_t> YamlReader::ReadByteSize(const Field& field, uint64_t min, uint64_t max) {
  return ReadParsed(field, "a size", ParseByteSize, [&](uint64_t value, const std::string& text) -> std::optional<std::string> {
    if (value >= min && value <= max) return std::nullopt;
    return "expected a size from " + std::to_string(min) + " to " + std::to_string(max) + " bytes, got " + text;
  });
}

}  // namespace pgtenant::config
