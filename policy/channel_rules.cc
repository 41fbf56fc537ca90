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

std::optional<size_t> Location(int32_t location) {
  if (location < 0) return std::nullopt;
  return static_cast<size_t>(location);
}

// Where a constant or a parameter starts, or nullopt for any other node.
std::optional<size_t> ConstantOrParameterLocation(const PgQuery__Node& node) {
  if (node.node_case == PG_QUERY__NODE__NODE_A_CONST && node.a_const != nullptr) return Location(node.a_const->location);
  if (node.node_case == PG_QUERY__NODE__NODE_PARAM_REF && node.param_ref != nullptr) {
    return Location(node.param_ref->location);
  }
  return std::nullopt;
}

// Where the first token of a constant or a parameter starts, optionally cast ('x', $1, $1::text,
// text 'x', CAST($1 AS text)); nullopt for any other expression.
std::optional<size_t> ConstantOrParameterStart(const PgQuery__Node& node) {
  if (node.node_case != PG_QUERY__NODE__NODE_TYPE_CAST) return ConstantOrParameterLocation(node);
  const PgQuery__TypeCast* cast = node.type_cast;
  if (cast == nullptr || cast->arg == nullptr) return std::nullopt;
  std::optional<size_t> start = ConstantOrParameterLocation(*cast->arg);
  if (!start) return std::nullopt;
  // CAST(...) starts at the cast, "text 'x'" at its type name: before the value.
  if (const std::optional<size_t> at = Location(cast->location)) start = std::min(*start, *at);
  if (cast->type_name != nullptr) {
    if (const std::optional<size_t> at = Location(cast->type_name->location)) start = std::min(*start, *at);
  }
  return start;
}

}  // namespace

void TreeInspector::CheckChannelStatement(ChannelStatement kind, std::string_view channel, std::string_view payload,
                                          bool top_level) {
  const std::string_view ns = context_.channel_namespace;
  if (ns.empty()) return;
  const std::string_view name = kind == ChannelStatement::kListen     ? "LISTEN"
                                : kind == ChannelStatement::kUnlisten ? "UNLISTEN"
                                                                      : "NOTIFY";
  if (!top_level) {
    Report("notify.channel", std::string(name) + " inside another statement cannot be kept in the tenant's channel namespace");
    return;
  }
  if (channel.empty()) return;  // UNLISTEN *: the session's own channels, whatever they are called
  if (channel.size() > kMaxClientChannelLength) {
    Report("notify.channel", "channel names are at most " + std::to_string(kMaxClientChannelLength) +
                                 " bytes through pgtenant (PostgreSQL's 63, less the tenant's namespace)");
  }
  // The statement is written anew: its channel is an identifier, which the tree gives without a place.
  std::string text = " " + std::string(name) + " ";
  text += protocol::QuoteIdentifier(std::string(ns) + std::string(channel));
  if (!payload.empty()) text += ", " + protocol::QuoteLiteral(payload);
  edits_.push_back({statement_begin_, statement_end_, std::move(text)});
}

void TreeInspector::CheckNotifyCall(const PgQuery__FuncCall& call) {
  const std::string_view ns = context_.channel_namespace;
  if (ns.empty()) return;
  if (call.n_args == 0 || call.args[0] == nullptr) return;  // PostgreSQL finds no such function
  // The channel becomes 'ns' || <channel>: for a constant or a parameter, as written.
  const std::optional<size_t> start = ConstantOrParameterStart(*call.args[0]);
  if (!start || *start >= context_.text.size()) {
    Report("notify.channel",
           "pg_notify()'s channel must be a string constant or a parameter, so that pgtenant can keep it in the "
           "tenant's channel namespace");
    return;
  }
  edits_.push_back({*start, *start, "'" + std::string(ns) + "' || "});
}

}  // namespace pgtenant::policy
