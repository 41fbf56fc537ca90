// YamlReader: typed, located reads from a YamlDocument's tree, where the first error wins.
//
// Internal to config/: it exposes YamlDocument's types, and pgtenant_config links libyaml privately,
// so only config/*.cc may include this header.
//
// Every error becomes "SOURCE:LINE:COLUMN: key.path: message" (1-based) and only the first one is
// kept: readers return nullopt / empty after reporting, callers may carry on without checking each
// step, and the loader returns status() at the end. Scalars are ${VAR}-expanded (env_expansion.h)
// before they are interpreted. Values read here are never secrets in messages: only integers,
// durations, sizes and enum spellings are quoted back.
// Not thread-safe; one reader per load.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/value_parsers.h"
#include "config/yaml_document.h"
#include "protocol/enum_names.h"
#include "protocol/status.h"

namespace pgtenant::config {

// One value in the tree and where to point at it.
struct Field {
  std::string path;  // "tenants.acme.isolation"; empty for the document root
  YamlNode node;     // the value
  YamlMark mark;     // the value's position, or its key's when the value is empty
};

// One entry of a mapping.
struct MappingEntry {
  std::string key;
  YamlMark key_mark;
  Field value;
};

// The entries of one mapping, in document order, with unique scalar keys.
class Mapping {
 public:
  Mapping() = default;
  explicit Mapping(std::vector<MappingEntry> entries) : entries_(std::move(entries)) {}

  const std::vector<MappingEntry>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }
  // The value under `key`, or nullopt if the key is absent.
  std::optional<Field> Get(std::string_view key) const;

 private:
  std::vector<MappingEntry> entries_;
};

class YamlReader {
 public:
  // `source` prefixes every message. REQUIRES: `env` outlives the reader.
  YamlReader(std::string source, const EnvLookup& env) : source_(std::move(source)), env_(env) {}
  YamlReader(const YamlReader&) = delete;
  YamlReader& operator=(const YamlReader&) = delete;

  const std::string& source() const { return source_; }
  bool failed() const { return !status_.ok(); }
  // The first error reported, or ok.
  const Status& status() const { return status_; }

  // Records "SOURCE:LINE:COLUMN: PATH: MESSAGE" unless an error is already recorded.
  void Fail(const YamlMark& mark, std::string_view path, std::string_view message);
  void Fail(const Field& field, std::string_view message) { Fail(field.mark, field.path, message); }

  // `field` as a mapping. With `allowed`, any other key is an error (with a did-you-mean); without,
  // keys are free (names of backends, tenants, users). Duplicate and non-scalar keys are errors.
  Mapping ReadMapping(const Field& field, std::optional<std::initializer_list<std::string_view>> allowed);
  // Like ReadMapping with `allowed`, and reports a missing key from `required` (at the mapping).
  Mapping ReadMapping(const Field& field, std::initializer_list<std::string_view> allowed,
                      std::initializer_list<std::string_view> required);
  // The items of a sequence (paths "key[0]", "key[1]", ...).
  std::vector<Field> ReadSequence(const Field& field);

  // A scalar as text, after ${VAR} expansion.
  std::optional<std::string> ReadString(const Field& field);
  // Like ReadString, but "" is an error.
  std::optional<std::string> ReadNonEmptyString(const Field& field);
  // `true` or `false`, exactly (YAML 1.1's yes/no/on/off are errors here).
  std::optional<bool> ReadBool(const Field& field);
  std::optional<int> ReadInt(const Field& field, int min, int max);
  // A duration (value_parsers.h) of at least `min`.
  std::optional<Duration> ReadDuration(const Field& field, Duration min);
  // A byte size (value_parsers.h) within [min, max].
  std::optional<uint64_t> ReadByteSize(const Field& field, uint64_t min, uint64_t max);
  // The enumerator that `names` (config_enum_names.h) spells as the scalar.
  template <typename E, size_t N>
  std::optional<E> ReadEnum(const Field& field, const std::array<EnumName<E>, N>& names);

 private:
  // The scalar text of `field` for a value described as `expected` ("an integer"), or an error.
  std::optional<std::string> Scalar(const Field& field, std::string_view expected);
  // The scalar of `field` as `parse` reads it. A parse error, or the message `range_error(value, text)`
  // returns for a value out of range, is reported and gives nullopt. Defined in yaml_reader.cc.
  template <typename T, typename RangeError>
  std::optional<T> ReadParsed(const Field& field, std::string_view expected, Result<T> (*parse)(std::string_view),
                              RangeError range_error);

  std::string source_;
  const EnvLookup& env_;
  Status status_;
};

// A field under `parent`: path "parent.key".
Field ChildField(const Field& parent, std::string_view key, const YamlNode& value, const YamlMark& key_mark);

template <typename E, size_t N>
std::optional<E> YamlReader::ReadEnum(const Field& field, const std::array<EnumName<E>, N>& names) {
  std::string choices;
  for (const EnumName<E>& entry : names) {
    if (!choices.empty()) choices += ", ";
    choices += entry.name;
  }
  std::optional<std::string> text = Scalar(field, "one of " + choices);
  if (!text) return std::nullopt;
  if (std::optional<E> value = ValueNamed(names, *text)) return value;
  Fail(field, "expected one of " + choices + ", got " + Quoted(*text));
  return std::nullopt;
}

}  // namespace pgtenant::config
