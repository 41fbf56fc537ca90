// YamlDocument: libyaml's events into a flat tree (contract in yaml_document.h).
#include "config/yaml_document.h"

#include <yaml.h>

#include <string>
#include <unordered_map>

namespace pgtenant::config {

namespace {

// Larger texts are refused before parsing: offsets are 32 bits, and no config comes near it.
constexpr size_t kMaxTextBytes = size_t{1} << 30;

YamlMark MarkOf(const yaml_mark_t& mark) { return {static_cast<int>(mark.line), static_cast<int>(mark.column)}; }

// YAML 1.2's core schema (and yaml-cpp) read these plain scalars as null.
bool IsPlainNull(std::string_view text) {
  return text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL";
}

// One yaml_event_t, deleted on every path out.
class Event {
 public:
  Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  ~Event() { Reset(); }
  yaml_event_t* get() { return &event_; }
  const yaml_event_t& operator*() const { return event_; }
  void Reset() {
    if (filled_) yaml_event_delete(&event_);
    filled_ = false;
  }
  void MarkFilled() { filled_ = true; }

 private:
  yaml_event_t event_{};
  bool filled_ = false;
};

// One yaml_parser_t, deleted on every path out.
class Parser {
 public:
  explicit Parser(std::string_view text) {
    yaml_parser_initialize(&parser_);
    yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;
  ~Parser() { yaml_parser_delete(&parser_); }

  // The next event into `event`; false on a syntax error (then Error() says which).
  bool Next(Event& event) {
    event.Reset();
    if (yaml_parser_parse(&parser_, event.get()) == 0) return false;
    event.MarkFilled();
    return true;
  }

  // "did not find expected ',' or ']' (while parsing a flow sequence that starts at 2:9)".
  YamlSyntaxError Error() const {
    std::string message = parser_.problem != nullptr ? parser_.problem : "cannot be parsed";
    if (parser_.context != nullptr) {
      message += " (" + std::string(parser_.context) + " that starts at " +
                 std::to_string(parser_.context_mark.line + 1) + ":" + std::to_string(parser_.context_mark.column + 1) +
                 ")";
    }
    return {MarkOf(parser_.problem_mark), std::move(message)};
  }

 private:
  yaml_parser_t parser_{};
};

}  // namespace

YamlNode::Kind YamlNode::kind() const {
  return document_ == nullptr ? Kind::kNull : document_->nodes_[index_].kind;
}

YamlMark YamlNode::mark() const {
  if (document_ == nullptr) return {};
  const YamlDocument::Node& node = document_->nodes_[index_];
  return {static_cast<int>(node.line), static_cast<int>(node.column)};
}

std::string_view YamlNode::scalar() const {
  const YamlDocument::Node& node = document_->nodes_[index_];
  return std::string_view(document_->text_).substr(node.begin, node.count);
}

size_t YamlNode::size() const {
  if (document_ == nullptr) return 0;
  const YamlDocument::Node& node = document_->nodes_[index_];
  switch (node.kind) {
    case Kind::kSequence: return node.count;
    case Kind::kMapping: return node.count / 2;
    case Kind::kNull:
    case Kind::kScalar: break;
  }
  return 0;
}

YamlNode YamlNode::child(size_t slot) const {
  return YamlNode(document_, document_->children_[document_->nodes_[index_].begin + slot]);
}

YamlNode YamlNode::item(size_t i) const { return child(i); }
YamlNode YamlNode::key(size_t i) const { return child(2 * i); }
YamlNode YamlNode::value(size_t i) const { return child(2 * i + 1); }

std::optional<YamlSyntaxError> YamlDocument::Parse(std::string_view text) {
  if (text.size() >= kMaxTextBytes) return YamlSyntaxError{{0, 0}, "the text is larger than 1 GB"};
  Parser parser(text);
  Event event;
  // Room for what a config's text usually holds (a node per 10 bytes or so), so that the arrays grow
  // once or twice rather than copy themselves twenty times.
  nodes_.reserve(text.size() / 10 + 16);
  children_.reserve(text.size() / 10 + 16);
  text_.reserve(text.size());
  // Children of the containers still open, back to back; each open container remembers where its
  // own start (and its node, and its anchor, registered once it is complete).
  struct Open {
    uint32_t node;
    size_t first_child;
    std::string anchor;
  };
  std::vector<Open> open;
  std::vector<uint32_t> pending;
  std::unordered_map<std::string, uint32_t> anchors;
  bool seen_document = false;
  bool done = false;

  auto add_node = [this](YamlNode::Kind kind, const yaml_mark_t& at, uint32_t begin, uint32_t count) {
    nodes_.push_back(Node{kind, static_cast<uint32_t>(at.line), static_cast<uint32_t>(at.column), begin, count});
    return static_cast<uint32_t>(nodes_.size() - 1);
  };
  // A complete node joins its parent's children, or becomes the root.
  auto complete = [&](uint32_t node, const unsigned char* anchor) {
    if (anchor != nullptr) anchors[reinterpret_cast<const char*>(anchor)] = node;
    if (open.empty()) {
      root_ = node;
    } else {
      pending.push_back(node);
    }
  };

  while (!done) {
    if (!parser.Next(event)) return parser.Error();
    const yaml_event_t& e = *event;
    switch (e.type) {
      case YAML_STREAM_START_EVENT:
      case YAML_NO_EVENT:
        break;
      case YAML_STREAM_END_EVENT:
        done = true;
        break;
      case YAML_DOCUMENT_START_EVENT:
        if (seen_document) {  // the first document is over: this is a second one
          second_document_ = MarkOf(e.start_mark);
          done = true;
        }
        seen_document = true;
        break;
      case YAML_DOCUMENT_END_EVENT:
        break;
      case YAML_ALIAS_EVENT: {
        auto it = anchors.find(reinterpret_cast<const char*>(e.data.alias.anchor));
        if (it == anchors.end()) {
          return YamlSyntaxError{MarkOf(e.start_mark), "alias *" + std::string(reinterpret_cast<const char*>(
                                                                       e.data.alias.anchor)) +
                                                           " names no complete node before it"};
        }
        complete(it->second, nullptr);
        break;
      }
      case YAML_SCALAR_EVENT: {
        std::string_view value(reinterpret_cast<const char*>(e.data.scalar.value), e.data.scalar.length);
        uint32_t node = 0;
        if (e.data.scalar.plain_implicit != 0 && e.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && IsPlainNull(value)) {
          node = add_node(YamlNode::Kind::kNull, e.start_mark, 0, 0);
        } else {
          node = add_node(YamlNode::Kind::kScalar, e.start_mark, static_cast<uint32_t>(text_.size()),
                          static_cast<uint32_t>(value.size()));
          text_ += value;
        }
        complete(node, e.data.scalar.anchor);
        break;
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        const bool sequence = e.type == YAML_SEQUENCE_START_EVENT;
        const unsigned char* anchor = sequence ? e.data.sequence_start.anchor : e.data.mapping_start.anchor;
        uint32_t node = add_node(sequence ? YamlNode::Kind::kSequence : YamlNode::Kind::kMapping, e.start_mark, 0, 0);
        open.push_back({node, pending.size(), anchor != nullptr ? reinterpret_cast<const char*>(anchor) : ""});
        break;
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: {
        Open container = std::move(open.back());
        open.pop_back();
        Node& node = nodes_[container.node];
        node.begin = static_cast<uint32_t>(children_.size());
        node.count = static_cast<uint32_t>(pending.size() - container.first_child);
        children_.insert(children_.end(), pending.begin() + static_cast<std::ptrdiff_t>(container.first_child),
                         pending.end());
        pending.resize(container.first_child);
        complete(container.node,
                 container.anchor.empty() ? nullptr : reinterpret_cast<const unsigned char*>(container.anchor.c_str()));
        break;
      }
    }
  }
  return std::nullopt;
}

}  // namespace pgtenant::config
