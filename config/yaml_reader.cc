// YamlReader: typed, located reads from a yaml-cpp tree (contract in yaml_reader.h).
#include "config/yaml_reader.h"

#include <climits>
#include <set>

#include "config/env_expansion.h"

namespace pgtenant::config {

namespace {

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null: return "an empty value";
    case YAML::NodeType::Scalar: return Quoted(node.Scalar());
    case YAML::NodeType::Sequence: return "a sequence";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

// Where an error about `value` should point: at it, unless it is empty (yaml-cpp then reports the
// position of whatever follows it).
YAML::Mark ValueMark(const YAML::Node& value, const YAML::Mark& fallback) {
  if (value.IsNull() || value.Mark().is_null()) return fallback;
  return value.Mark();
}

std::string JoinKeys(std::initializer_list<std::string_view> keys) {
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

Field ChildField(const Field& parent, std::string_view key, const YAML::Node& value, const YAML::Mark& key_mark) {
  std::string path = parent.path.empty() ? std::string(key) : parent.path + "." + std::string(key);
  return Field{std::move(path), value, ValueMark(value, key_mark)};
}

void YamlReader::Fail(const YAML::Mark& mark, std::string_view path, std::string_view message) {
  if (failed()) return;
  const int line = mark.is_null() ? 1 : mark.line + 1;
  const int column = mark.is_null() ? 1 : mark.column + 1;
  std::string text = source_ + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
  if (!path.empty()) {
    text += path;
    text += ": ";
  }
  text += message;
  status_ = Status::Error(std::move(text));
}

Mapping YamlReader::ReadMapping(const Field& field, std::optional<std::initializer_list<std::string_view>> allowed) {
  if (!field.node.IsMap()) {
    Fail(field, "expected a mapping, got " + Describe(field.node));
    return Mapping();
  }
  std::vector<MappingEntry> entries;
  std::set<std::string> seen;
  // Copies, not references: yaml-cpp's iterator yields a temporary pair.
  for (auto it = field.node.begin(); it != field.node.end(); ++it) {
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    if (!key.IsScalar()) {
      Fail(ValueMark(key, field.mark), field.path, "keys must be plain strings, got " + Describe(key));
      return Mapping();
    }
    const std::string& name = key.Scalar();
    if (!seen.insert(name).second) {
      Fail(key.Mark(), field.path, "duplicate key '" + name + "'");
      return Mapping();
    }
    if (allowed) {
      bool known = false;
      std::vector<std::string> candidates;
      for (std::string_view allowed_key : *allowed) {
        known = known || allowed_key == name;
        candidates.emplace_back(allowed_key);
      }
      if (!known) {
        std::optional<std::string> suggestion = ClosestMatch(name, candidates);
        Fail(key.Mark(), field.path,
             "unknown key '" + name + "'" +
                 (suggestion ? " (did you mean '" + *suggestion + "'?)" : "; expected one of " + JoinKeys(*allowed)));
        return Mapping();
      }
    }
    entries.push_back(MappingEntry{name, key.Mark(), ChildField(field, name, value, key.Mark())});
  }
  return Mapping(std::move(entries));
}

Mapping YamlReader::ReadMapping(const Field& field, std::initializer_list<std::string_view> allowed,
                                std::initializer_list<std::string_view> required) {
  Mapping mapping = ReadMapping(field, std::optional(allowed));
  if (failed()) return mapping;
  for (std::string_view key : required) {
    if (!mapping.Get(key)) {
      Fail(field, "missing required key '" + std::string(key) + "'");
      break;
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
    const YAML::Node item = field.node[i];
    items.push_back(Field{field.path + "[" + std::to_string(i) + "]", item, ValueMark(item, field.mark)});
  }
  return items;
}

std::optional<std::string> YamlReader::Scalar(const Field& field, std::string_view expected) {
  if (!field.node.IsScalar()) {
    Fail(field, "expected " + std::string(expected) + ", got " + Describe(field.node));
    return std::nullopt;
  }
  Result<std::string> expanded = ExpandEnvironment(field.node.Scalar(), env_);
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
