// YamlDocument: the first YAML document of a text, parsed by libyaml into a compact read-only tree.
//
// Why not yaml-cpp's YAML::Load: its scanner and node graph cost about 5 KB and 0.1 ms per tenant
// and user of a config (a 100,000-tenant file took 13 s and 900 MB to load). Here the tree is three
// flat arrays (nodes, child indices, scalar text) filled from libyaml's events in one pass, with no
// recursion: a node is 16 bytes plus its text.
//
// What the config needs of YAML and no more: mappings, sequences, scalars and null (an empty value,
// or a plain `~`, `null`, `Null`, `NULL`, as YAML 1.2's core schema and yaml-cpp read them). Tags are
// ignored (a scalar is its text). An alias is the node its anchor named, shared, never copied (so no
// "billion laughs"); an alias may only name a node that is complete (no cycles). Keys are nodes like
// any other: the reader decides that they must be scalars.
//
// Positions are 0-based line and column, as libyaml counts them (columns in characters).
// Not thread-safe; YamlNode handles are valid while their document lives.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgtenant::config {

// A position in the text; null for a node that has none (the empty document's root).
struct YamlMark {
  int line = -1;
  int column = -1;
  bool is_null() const { return line < 0; }
};

class YamlDocument;

// A handle on one node of a YamlDocument. The default node is null and has no position.
class YamlNode {
 public:
  enum class Kind : uint8_t { kNull, kScalar, kSequence, kMapping };

  YamlNode() = default;

  Kind kind() const;
  bool IsNull() const { return kind() == Kind::kNull; }
  bool IsScalar() const { return kind() == Kind::kScalar; }
  bool IsSequence() const { return kind() == Kind::kSequence; }
  bool IsMap() const { return kind() == Kind::kMapping; }
  YamlMark mark() const;

  // REQUIRES: IsScalar().
  std::string_view scalar() const;
  // Items of a sequence, entries of a mapping; 0 for a scalar or null.
  size_t size() const;
  // REQUIRES: IsSequence(), i < size().
  YamlNode item(size_t i) const;
  // REQUIRES: IsMap(), i < size(): the key and the value of entry i, in document order.
  YamlNode key(size_t i) const;
  YamlNode value(size_t i) const;

 private:
  friend class YamlDocument;
  YamlNode(const YamlDocument* document, uint32_t index) : document_(document), index_(index) {}
  YamlNode child(size_t slot) const;

  const YamlDocument* document_ = nullptr;
  uint32_t index_ = 0;
};

// Why a text is not YAML, and where.
struct YamlSyntaxError {
  YamlMark mark;
  std::string message;  // libyaml's problem, with its context: "did not find expected ',' or ']' ..."
};

class YamlDocument {
 public:
  YamlDocument() = default;
  YamlDocument(const YamlDocument&) = delete;
  YamlDocument& operator=(const YamlDocument&) = delete;

  // Parses the first document of `text` (UTF-8, UTF-16 with a BOM), then looks only far enough into
  // the rest to know whether a second document starts. Returns the error that stopped it, if any.
  // Call once.
  std::optional<YamlSyntaxError> Parse(std::string_view text);

  // The first document's root; null if the text holds no document or an empty one.
  YamlNode root() const { return nodes_.empty() ? YamlNode() : YamlNode(this, root_); }
  // Where a second document starts (its `---`), if the text has one.
  const std::optional<YamlMark>& second_document() const { return second_document_; }

 private:
  friend class YamlNode;
  struct Node {
    YamlNode::Kind kind;
    uint32_t line;
    uint32_t column;
    uint32_t begin;  // scalar: offset in text_; sequence, mapping: first slot in children_
    uint32_t count;  // scalar: bytes; sequence: items; mapping: key and value slots (2 per entry)
  };

  std::vector<Node> nodes_;
  std::vector<uint32_t> children_;  // node indices, each container's contiguous
  std::string text_;                // every scalar's text, back to back
  uint32_t root_ = 0;
  std::optional<YamlMark> second_document_;
};

}  // namespace pgtenant::config
