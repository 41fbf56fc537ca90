// YamlDocument: libyaml's events as a flat tree — kinds, order, positions, aliases, errors.
#include "config/yaml_document.h"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

namespace pgtenant::config {
namespace {

// The text of a scalar, "null" for null, "[...]" / "{...}" for containers, in document order.
std::string Render(const YamlNode& node) {
  switch (node.kind()) {
    case YamlNode::Kind::kNull: return "null";
    case YamlNode::Kind::kScalar: return "'" + std::string(node.scalar()) + "'";
    case YamlNode::Kind::kSequence: {
      std::string out = "[";
      for (size_t i = 0; i < node.size(); ++i) out += (i ? "," : "") + Render(node.item(i));
      return out + "]";
    }
    case YamlNode::Kind::kMapping: {
      std::string out = "{";
      for (size_t i = 0; i < node.size(); ++i) out += (i ? "," : "") + Render(node.key(i)) + ":" + Render(node.value(i));
      return out + "}";
    }
  }
  return "?";
}

std::string Parsed(std::string_view text) {
  YamlDocument document;
  if (auto error = document.Parse(text)) {
    return "error " + std::to_string(error->mark.line + 1) + ":" + std::to_string(error->mark.column + 1) + " " +
           error->message;
  }
  return Render(document.root());
}

TEST_CASE("yaml: mappings and sequences keep document order, block and flow alike", "[config][yaml]") {
  CHECK(Parsed("b: 1\na: [x, y]\nc:\n  - {k: v}\n  - z\n") == "{'b':'1','a':['x','y'],'c':[{'k':'v'},'z']}");
  CHECK(Parsed("{z: 1, y: {x: [1, [2, 3]]}}") == "{'z':'1','y':{'x':['1',['2','3']]}}");
}

TEST_CASE("yaml: empty values and plain ~/null are null; quoted ones are text", "[config][yaml]") {
  CHECK(Parsed("a:\nb: ~\nc: null\nd: Null\ne: NULL\nf: 'null'\ng: \"~\"\nh: nulls\n") ==
        "{'a':null,'b':null,'c':null,'d':null,'e':null,'f':'null','g':'~','h':'nulls'}");
}

TEST_CASE("yaml: scalars are their text, whatever the style or tag", "[config][yaml]") {
  CHECK(Parsed("a: 'it''s'\nb: \"tab\\there\"\nc: |\n  line1\n  line2\nd: !!str 12\ne: 007\n") ==
        "{'a':'it's','b':'tab\there','c':'line1\nline2\n','d':'12','e':'007'}");
}

TEST_CASE("yaml: no document, or an empty one, has a null root", "[config][yaml]") {
  for (std::string_view text : {"", "# only a comment\n", "---\n", "--- ~\n"}) {
    INFO(text);
    YamlDocument document;
    REQUIRE_FALSE(document.Parse(text).has_value());
    CHECK(document.root().IsNull());
    CHECK_FALSE(document.second_document().has_value());
  }
}

TEST_CASE("yaml: an alias is the node its anchor named, shared, not copied", "[config][yaml]") {
  YamlDocument document;
  REQUIRE_FALSE(document.Parse("base: &b {size: 5}\nx: *b\ny: *b\nlist: &l [1]\nz: *l\n").has_value());
  CHECK(Render(document.root()) == "{'base':{'size':'5'},'x':{'size':'5'},'y':{'size':'5'},'list':['1'],'z':['1']}");
  // A deeply nested alias chain stays linear: each level refers to the previous one once.
  std::string laughs = "a0: &a0 [x]\n";
  for (int i = 1; i < 30; ++i) {
    laughs += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" + std::to_string(i - 1) + ", *a" +
              std::to_string(i - 1) + "]\n";
  }
  YamlDocument big;
  REQUIRE_FALSE(big.Parse(laughs).has_value());
  CHECK(big.root().size() == 30);
}

TEST_CASE("yaml: an alias to an unknown or unfinished anchor is an error at the alias", "[config][yaml]") {
  CHECK(Parsed("a: *nowhere\n") == "error 1:4 alias *nowhere names no complete node before it");
  CHECK(Parsed("a: &self [1, *self]\n") == "error 1:14 alias *self names no complete node before it");
}

TEST_CASE("yaml: positions are 0-based line and column of each node", "[config][yaml]") {
  YamlDocument document;
  REQUIRE_FALSE(document.Parse("listen:\n  port: 6432\nusers: [a, b]\n").has_value());
  const YamlNode root = document.root();
  CHECK(root.key(0).mark().line == 0);
  CHECK(root.value(0).value(0).mark().line == 1);
  CHECK(root.value(0).value(0).mark().column == 8);
  CHECK(root.value(1).item(1).mark().line == 2);
  CHECK(root.value(1).item(1).mark().column == 11);
  CHECK(YamlNode().mark().is_null());
}

TEST_CASE("yaml: a second document is found where it starts, and not parsed", "[config][yaml]") {
  YamlDocument document;
  REQUIRE_FALSE(document.Parse("a: 1\n---\nb: [unclosed\n").has_value());
  REQUIRE(document.second_document().has_value());
  CHECK(document.second_document()->line == 1);
  CHECK(Render(document.root()) == "{'a':'1'}");
}

TEST_CASE("yaml: syntax errors say what libyaml found, where, and inside what", "[config][yaml]") {
  CHECK(Parsed("listen:\n  port: [6432\nauth: {}\n") ==
        "error 3:5 did not find expected ',' or ']' (while parsing a flow sequence that starts at 2:9)");
  CHECK(Parsed(",\n").rfind("error 1:1 did not find expected node content", 0) == 0);
  CHECK(Parsed("{a: b}\n,\n") == "error 2:1 did not find expected <document start>");
  CHECK(Parsed("a: 'open\n").rfind("error ", 0) == 0);
  CHECK(Parsed("a:\tb\n\t- c\n").rfind("error ", 0) == 0);
}

}  // namespace
}  // namespace pgtenant::config
