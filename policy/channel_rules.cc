// TreeInspector, third part: LISTEN, UNLISTEN, NOTIFY and pg_notify() in the tenant's channel
// namespace (channel_namespace.h). The channels are not checked, they are moved: whatever a client
// names, the server sees a channel of the client's tenant. What cannot be moved with certainty (a
// channel computed by an expression, a statement nested in another) is refused: rule notify.channel.
#include <algorithm>
#include <optional>
#include <string>

#include "policy/tree_inspector.h"
#include "protocol/sql_quote.h"

namespace pgtenant::policy {

namespace {

// The wrapped node's type ({"A_Const": {...}} -> "A_Const"), or "".
std::string_view NodeType(const JsonValue& node) {
  return node.is_object() && node.members().size() == 1 ? std::string_view(node.members()[0].key) : std::string_view();
}

std::optional<size_t> Location(const JsonValue& body) {
  const JsonValue* location = body.Find("location");
  if (location == nullptr) return std::nullopt;
  const std::optional<int64_t> at = location->AsInt();
  if (!at || *at < 0) return std::nullopt;
  return static_cast<size_t>(*at);
}

// Where the first token of a constant or a parameter starts, optionally cast ('x', $1, $1::text,
// text 'x', CAST($1 AS text)); nullopt for any other expression.
std::optional<size_t> ConstantOrParameterStart(const JsonValue& node) {
  const std::string_view type = NodeType(node);
  if (type == "A_Const" || type == "ParamRef") return Location(node.members()[0].value);
  if (type != "TypeCast") return std::nullopt;
  const JsonValue& cast = node.members()[0].value;
  const JsonValue* arg = cast.Find("arg");
  const std::string_view inner = arg == nullptr ? std::string_view() : NodeType(*arg);
  if (inner != "A_Const" && inner != "ParamRef") return std::nullopt;
  std::optional<size_t> start = Location(arg->members()[0].value);
  if (!start) return std::nullopt;
  // CAST(...) starts at the cast, "text 'x'" at its type name: before the value.
  if (const std::optional<size_t> at = Location(cast)) start = std::min(*start, *at);
  if (const JsonValue* type_name = cast.Find("typeName")) {
    if (const std::optional<size_t> at = Location(*type_name)) start = std::min(*start, *at);
  }
  return start;
}

}  // namespace

void TreeInspector::CheckChannelStatement(std::string_view type, const JsonValue& body, bool top_level) {
  const std::string_view ns = context_.channel_namespace;
  if (ns.empty()) return;
  if (!top_level) {
    Report("notify.channel", std::string(type) + " inside another statement cannot be kept in the tenant's channel namespace");
    return;
  }
  const JsonValue* condition = body.Find("conditionname");
  if (condition == nullptr) return;  // UNLISTEN *: the session's own channels, whatever they are called
  const std::string_view channel = StringField(body, "conditionname");
  if (channel.size() > kMaxClientChannelLength) {
    Report("notify.channel", "channel names are at most " + std::to_string(kMaxClientChannelLength) +
                                 " bytes through pgtenant (PostgreSQL's 63, less the tenant's namespace)");
  }
  // The statement is written anew: its channel is an identifier, which the tree gives without a place.
  std::string text = type == "ListenStmt" ? " LISTEN " : type == "UnlistenStmt" ? " UNLISTEN " : " NOTIFY ";
  text += protocol::QuoteIdentifier(std::string(ns) + std::string(channel));
  if (const std::string_view payload = StringField(body, "payload"); !payload.empty()) {
    text += ", " + protocol::QuoteLiteral(payload);
  }
  edits_.push_back({statement_begin_, statement_end_, std::move(text)});
}

void TreeInspector::CheckNotifyCall(const JsonValue& body) {
  const std::string_view ns = context_.channel_namespace;
  if (ns.empty()) return;
  const JsonValue* args = body.Find("args");
  if (args == nullptr || args->items().empty()) return;  // PostgreSQL finds no such function
  // The channel becomes 'ns' || <channel>: for a constant or a parameter, as written.
  const std::optional<size_t> start = ConstantOrParameterStart(args->items()[0]);
  if (!start || *start >= context_.text.size()) {
    Report("notify.channel",
           "pg_notify()'s channel must be a string constant or a parameter, so that pgtenant can keep it in the "
           "tenant's channel namespace");
    return;
  }
  edits_.push_back({*start, *start, "'" + std::string(ns) + "' || "});
}

}  // namespace pgtenant::policy
