// YamlReader: typed, located reads from a YamlDocument's tree (contract in yaml_reader.h).
#include "config/yaml_reader.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <functional>
#include <string_view>

#include "config/env_expansion.h"

namespace pgtenant::config {

namespace {

}  // namespace

std::string DescribeNode(const YamlNode& node) {
  switch (node.kind()) {
    case YamlNode::Kind::kNull: return "an empty value";
    case YamlNode::Kind::kScalar: return Quoted(node.scalar());
    case YamlNode::Kind::kSequence: return "a sequence";
    case YamlNode::Kind::kMapping: return "a mapping";
  }
  return "nothing";
}

namespace {

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

std::string FieldPath::str() const {
  if (steps == nullptr) return "";
  // Innermost first: the field itself, then each container up to the root.
  std::vector<const PathStep*> chain;
  const PathStep own{container, key, index};
  chain.push_back(&own);
  for (uint32_t step = container; step != 0; step = (*steps)[step].container) chain.push_back(&(*steps)[step]);
  std::string path;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    const PathStep& part = **it;
    if (part.index >= 0) {
      path += "[" + std::to_string(part.index) + "]";
    } else {
      if (!path.empty()) path += '.';
      path += part.key;
    }
  }
  return path;
}

FieldPath YamlReader::ChildPath(const Field& container, std::string_view key, int64_t index) {
  uint32_t step = 0;  // the root's own
  if (!container.path.empty()) {
    step = static_cast<uint32_t>(path_steps_.size());
    path_steps_.push_back(PathStep{container.path.container, container.path.key, container.path.index});
  }
  return FieldPath{&path_steps_, step, key, index};
}

std::set<std::string> YamlReader::keys_read() const {
  std::set<std::string> keys;
  for (size_t s = 0; s < keys_read_.size(); ++s) {
    const ConfigSectionKeys& section = SectionKeys(static_cast<ConfigSection>(s));
    for (size_t k = 0; k < keys_read_[s].size(); ++k) {
      if (!keys_read_[s][k]) continue;
      const std::string key(section.keys[k]);
      keys.insert(section.path.empty() ? key : std::string(section.path) + "." + key);
    }
  }
  return keys;
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
    Fail(field, "expected a mapping, got " + DescribeNode(field.node));
    return Mapping();
  }
  std::vector<MappingEntry> entries;
  entries.reserve(field.node.size());
  // Most mappings are a few keys: a scan finds a repeated one. In a large one (tenants, users) the
  // repeated keys are found up front, in an open-addressing table of entry indexes (one allocation,
  // the keys stay in the document): sorting views of 100,000 keys was 9% of a load.
  constexpr size_t kScanKeys = 16;
  const bool large = field.node.size() > kScanKeys;
  std::vector<bool> repeated;  // by entry index: the key came earlier in the mapping
  if (large) {
    constexpr uint32_t kEmpty = UINT32_MAX;
    size_t capacity = 1;
    while (capacity < 2 * field.node.size()) capacity <<= 1;  // at most half full
    std::vector<uint32_t> first_of(capacity, kEmpty);      // the first entry with a key, at its hash
    repeated.resize(field.node.size());
    for (size_t i = 0; i < field.node.size(); ++i) {
      const YamlNode key = field.node.key(i);
      if (!key.IsScalar()) continue;
      const std::string_view name = key.scalar();
      for (size_t slot = std::hash<std::string_view>{}(name) & (capacity - 1);; slot = (slot + 1) & (capacity - 1)) {
        if (first_of[slot] == kEmpty) {
          first_of[slot] = static_cast<uint32_t>(i);
          break;
        }
        if (field.node.key(first_of[slot]).scalar() == name) {
          repeated[i] = true;
          break;
        }
      }
    }
  }
  auto first_time = [&](std::string_view name, size_t index) {
    if (large) return !repeated[index];
    for (size_t j = 0; j < index; ++j) {
      const YamlNode earlier = field.node.key(j);
      if (earlier.IsScalar() && earlier.scalar() == name) return false;
    }
    return true;
  };
  // The step naming this mapping in paths, made once for all its entries (not for the root's).
  FieldPath entry_path = ChildPath(field, {}, -1);
  for (size_t i = 0; i < field.node.size(); ++i) {
    const YamlNode key = field.node.key(i);
    const YamlNode value = field.node.value(i);
    // Each bad key is an error of its own: the entry is left out, the others are read.
    ErrorScope key_scope(*this);
    if (!key.IsScalar()) {
      Fail(ValueMark(key, field.mark), field.path, "keys must be plain strings, got " + DescribeNode(key));
      continue;
    }
    const std::string_view name = key.scalar();
    if (!first_time(name, i)) {
      Fail(key.mark(), field.path, "duplicate key '" + std::string(name) + "'");
      continue;
    }
    if (section != nullptr) {
      const std::span<const std::string_view> allowed = section->keys;
      const auto known = std::find(allowed.begin(), allowed.end(), name);
      if (known == allowed.end()) {
        std::vector<std::string> candidates(allowed.begin(), allowed.end());
        std::optional<std::string> suggestion = ClosestMatch(name, candidates);
        Fail(key.mark(), field.path,
             "unknown key '" + std::string(name) + "'" +
                 (suggestion ? " (did you mean '" + *suggestion + "'?)" : "; expected one of " + JoinKeys(allowed)));
        unknown_key = true;
        continue;
      }
      const size_t s = static_cast<size_t>(section->section);
      if (keys_read_.size() <= s) keys_read_.resize(s + 1);
      if (keys_read_[s].empty()) keys_read_[s].resize(allowed.size());
      keys_read_[s][static_cast<size_t>(known - allowed.begin())] = true;
    }
    entry_path.key = name;
    entries.push_back(MappingEntry{std::string(name), key.mark(), Field{entry_path, value, ValueMark(value, key.mark())}});
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
    Fail(field, "expected a sequence such as [a, b], got " + DescribeNode(field.node));
    return {};
  }
  std::vector<Field> items;
  items.reserve(field.node.size());
  FieldPath item_path = ChildPath(field, {}, -1);
  for (size_t i = 0; i < field.node.size(); ++i) {
    const YamlNode item = field.node.item(i);
    item_path.index = static_cast<int64_t>(i);
    items.push_back(Field{item_path, item, ValueMark(item, field.mark)});
  }
  return items;
}

std::optional<std::string> YamlReader::ExpandedScalar(const Field& field) {
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
  if (value.ok() && *value >= min && *value <= max) return static_cast<int>(*value);
  const std::string range =
      max == INT_MAX ? ">= " + std::to_string(min) : "from " + std::to_string(min) + " to " + std::to_string(max);
  Fail(field, "expected an integer " + range + ", got " + (value.ok() ? *text : Quoted(*text)));
  return std::nullopt;
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
