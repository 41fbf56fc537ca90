// ChannelNamespace: LISTEN/NOTIFY channels of tenants that share a database, kept apart.
//
// PostgreSQL's notification channels belong to a whole database: any session may LISTEN on any name
// and NOTIFY any name. pgtenant puts the channels of each tenant that shares its database (RLS and
// schema isolation) in a namespace of its own: the channel a client calls "orders" is
// "t<16 hex>.orders" on the server, where the hex digits are the first 16 of md5(tenant id) (the id
// as pgtenant sets the tenant setting; in SQL: 't' || left(md5(id::text), 16) || '.'). The policy
// rewrites what clients send (LISTEN, UNLISTEN, NOTIFY, pg_notify(); tree_inspector.h), the relay
// takes the namespace off the channel of every NotificationResponse and drops those outside it
// (relay/relay_responses.cc). A trigger of the schema owner reaches one tenant's listeners by
// notifying a channel in that tenant's namespace; a channel in no namespace reaches no tenant.
// Dedicated-database tenants keep their channels as they are.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace pgtenant::policy {

inline constexpr size_t kChannelNamespaceLength = 18;  // "t" + 16 hex digits + "."
inline constexpr size_t kMaxServerChannelLength = 63;  // NAMEDATALEN - 1
// The longest channel name a client may LISTEN on or NOTIFY in a namespace (longer names PostgreSQL
// would cut, and the notification would come back under another name).
inline constexpr size_t kMaxClientChannelLength = kMaxServerChannelLength - kChannelNamespaceLength;

// The tenant's namespace ("t<16 hex>."), or "" when the tenant has its database to itself.
std::string ChannelNamespace(const config::TenantConfig& tenant);

// The channel a client of namespace `ns` knows a server channel by; nullopt when it is outside `ns`.
// (Inline: the relay uses it without linking the policy engine.)
inline std::optional<std::string_view> ClientChannel(std::string_view server_channel, std::string_view ns) {
  if (server_channel.size() <= ns.size() || server_channel.substr(0, ns.size()) != ns) return std::nullopt;
  return server_channel.substr(ns.size());
}

// A change to a statement text: [begin, end) becomes `text` (an insertion when begin == end).
struct TextEdit {
  size_t begin = 0;
  size_t end = 0;
  std::string text;
};

// `text` with `edits` made. REQUIRES: the edits lie within `text` and do not overlap.
std::string ApplyEdits(std::string_view text, std::vector<TextEdit> edits);

}  // namespace pgtenant::policy
