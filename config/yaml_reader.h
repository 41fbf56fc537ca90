// YamlReader: typed, located reads from a YamlDocument's tree, collecting every independent error.
//
// Internal to config/: it exposes YamlDocument's types, and pgtenant_config links libyaml privately,
// so only config/*.cc may include this header.
//
// Every error becomes "SOURCE:LINE:COLUMN: key.path: message" (1-based). Errors are kept per
// ErrorScope: the first error of a scope is kept and later ones in the same scope are dropped (they
// may only follow from the first), so readers return nullopt / empty after reporting and callers may
// carry on without checking each step. The loader opens a scope for each part it can read on its own
// (a top-level key, a backend, a tenant, a user), so one run reports every part that is wrong;
// status() holds them all, in document order, one per line. Scalars are ${VAR}-expanded
// (env_expansion.h) before they are interpreted. Values read here are never secrets in messages: only
// integers, durations, sizes and enum spellings are quoted back.
// Not thread-safe; one reader per load.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/config_keys.h"
#include "config/value_parsers.h"
#include "config/yaml_document.h"
#include "protocol/enum_names.h"
#include "protocol/status.h"

namespace pgtenant::config {

// Where a field is, as "tenants.acme.isolation" ("" for the document root), spelled out only when an
// error names it (str()): a load reads about five fields per tenant and user, and a string for each
// was a tenth of the load's time at 100,000 tenants (issue 26). It names its container by a step in
// its YamlReader's path table and holds its own key (a view into the document's text) or item
// index. Valid while that reader and the document live.
struct PathStep;
struct FieldPath {
  const std::vector<PathStep>* steps = nullptr;  // the reader's table; null for the document root
  uint32_t container = 0;                        // a step of `steps`; 0: the document root
  std::string_view key;                          // the field's key in its mapping, or
  int64_t index = -1;                            // its index in its sequence (when >= 0)

  bool empty() const { return steps == nullptr; }
  std::string str() const;
};

// One container that a path passes through: its own path, relative to its container.
struct PathStep {
  uint32_t container = 0;
  std::string_view key;
  int64_t index = -1;
};

// One value in the tree and where to point at it.
struct Field {
  FieldPath path;  // "tenants.acme.isolation"; empty for the document root
  YamlNode node;   // the value
  YamlMark mark;   // the value's position, or its key's when the value is empty
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
  YamlReader(std::string source, const EnvLookup& env) : source_(std::move(source)), env_(env) {
    path_steps_.emplace_back();  // step 0: the document root
  }
  YamlReader(const YamlReader&) = delete;
  YamlReader& operator=(const YamlReader&) = delete;

  const std::string& source() const { return source_; }
  // True once an error was reported in the innermost open ErrorScope (or in a scope inside it); at the
  // outermost level, once any error was reported.
  bool failed() const { return scope_failed_; }
  // Every error kept, one per line in document order (line, then column), or ok.
  Status status() const;
  // The keys ReadMapping accepted, as "PATH.KEY" (config_keys.h).
  std::set<std::string> keys_read() const;

  // Records "SOURCE:LINE:COLUMN: PATH: MESSAGE" unless the innermost scope has failed already.
  void Fail(const YamlMark& mark, std::string_view path, std::string_view message);
  void Fail(const YamlMark& mark, const FieldPath& path, std::string_view message) {
    if (!scope_failed_) Fail(mark, std::string_view(path.str()), message);
  }
  void Fail(const Field& field, std::string_view message) { Fail(field.mark, field.path, message); }

  // `field` as a mapping whose keys are names (of backends, tenants, users ...). Duplicate and
  // non-scalar keys are errors (each reported, and the entry left out).
  Mapping ReadMapping(const Field& field);
  // `field` as the mapping `section`: any key that section does not list is an error (each one
  // reported, with a did-you-mean, and left out); then a missing key from `required` is reported (at
  // the mapping) unless a key was unknown (likely the same key misspelled).
  Mapping ReadMapping(const Field& field, ConfigSection section, std::initializer_list<std::string_view> required = {});
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
  friend class ErrorScope;
  struct Error {
    int line;
    int column;
    std::string text;
  };

  // Scalar's text of a field known to be a scalar, after ${VAR} expansion.
  std::optional<std::string> ExpandedScalar(const Field& field);
  // The entries of the mapping `field`; with `section`, only its keys.
  Mapping ReadEntries(const Field& field, const ConfigSectionKeys* section, bool& unknown_key);
  // The scalar text of `field`, or an error that says it should have been `expected()` ("an integer"):
  // called only then, so that nothing is spelled out for the values that are right.
  template <typename Expected>
  std::optional<std::string> ScalarDescribed(const Field& field, Expected expected);
  std::optional<std::string> Scalar(const Field& field, std::string_view expected) {
    return ScalarDescribed(field, [expected] { return std::string(expected); });
  }
  // The path of a field under `container`, whose own path gets a step in path_steps_.
  FieldPath ChildPath(const Field& container, std::string_view key, int64_t index);
  // The scalar of `field` as `parse` reads it. A parse error, or the message `range_error(value, text)`
  // returns for a value out of range, is reported and gives nullopt. Defined in yaml_reader.cc.
  template <typename T, typename RangeError>
  std::optional<T> ReadParsed(const Field& field, std::string_view expected, Result<T> (*parse)(std::string_view),
                              RangeError range_error);

  std::string source_;
  const EnvLookup& env_;
  std::vector<Error> errors_;
  bool scope_failed_ = false;
  // Keys read, per section (config_keys.h), by their index in the section's list.
  std::vector<std::vector<bool>> keys_read_;
  std::vector<PathStep> path_steps_;
};

// While it lives, errors are independent of those reported before it: its first error is kept even
// if the enclosing scope has failed. When it ends, the enclosing scope counts as failed if it did.
// Scopes nest strictly (a local in a block).
class ErrorScope {
 public:
  explicit ErrorScope(YamlReader& reader) : reader_(reader), outer_failed_(reader.scope_failed_) {
    reader_.scope_failed_ = false;
  }
  ~ErrorScope() { reader_.scope_failed_ = outer_failed_ || reader_.scope_failed_; }
  ErrorScope(const ErrorScope&) = delete;
  ErrorScope& operator=(const ErrorScope&) = delete;

  // True if an error was reported in this scope. REQUIRES: it is the innermost scope.
  bool failed() const { return reader_.scope_failed_; }

 private:
  YamlReader& reader_;
  const bool outer_failed_;
};

// "an empty value", a quoted scalar, "a sequence", "a mapping": what a field was, for messages.
std::string DescribeNode(const YamlNode& node);

template <typename E, size_t N>
std::optional<E> YamlReader::ReadEnum(const Field& field, const std::array<EnumName<E>, N>& names) {
  auto choices = [&names] {
    std::string text;
    for (const EnumName<E>& entry : names) {
      if (!text.empty()) text += ", ";
      text += entry.name;
    }
    return text;
  };
  std::optional<std::string> text = ScalarDescribed(field, [&choices] { return "one of " + choices(); });
  if (!text) return std::nullopt;
  if (std::optional<E> value = ValueNamed(names, *text)) return value;
  Fail(field, "expected one of " + choices() + ", got " + Quoted(*text));
  return std::nullopt;
}

template <typename Expected>
std::optional<std::string> YamlReader::ScalarDescribed(const Field& field, Expected expected) {
  if (!field.node.IsScalar()) {
    Fail(field, "expected " + expected() + ", got " + DescribeNode(field.node));
    return std::nullopt;
  }
  return ExpandedScalar(field);
}

}  // namespace pgtenant::config
