// Route: which tenant a client session belongs to, and where its queries go.
//
// Resolution has two steps. Before authentication, SplitLoginName strips a tenant suffix from
// the startup user (`alice.acme` -> `alice`), so the password is checked for the person. After
// authentication, ResolveRoute finds the tenant by the configured identification methods,
// checks membership, and builds the route: backend, pool, and the server startup parameters
// that carry the tenant context (so the context is the server session's default).
//
// Refusals are 28000 and, for an unknown tenant or a tenant the user is not a member of, one
// and the same message, so probing reveals no tenant names.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "config/config.h"
#include "protocol/status.h"
#include "routing/pool_identity.h"

namespace pgtenant::routing {

// What the client presented.
struct ClientIdentity {
  std::string startup_user;  // as sent, possibly with a tenant suffix
  std::string database;      // as sent; defaults to startup_user
  std::string options;       // the `options` startup parameter, as sent
  std::string server_name;   // TLS SNI; empty without TLS
  // The tenant the credential itself names (a client certificate or a JWT claim), already resolved
  // to a tenant name. Every other method that names a tenant must agree with it.
  std::optional<std::string> credential_tenant;

  bool operator==(const ClientIdentity&) const = default;
};

// A hash of every field of `client`.
size_t Hash(const ClientIdentity& client);

struct LoginName {
  std::string user;                         // the user to authenticate
  std::optional<std::string> suffix_tenant; // the tenant after the separator, if any
};

// Splits at the first username_separator when username_suffix identification is enabled.
LoginName SplitLoginName(const config::Config& config, std::string_view startup_user);

// The tenant a TLS server name addresses, lowercased. Without `suffix`: its first label
// ("acme.db.example.com" -> acme). With a suffix (".db.example.com"): only names ending with it
// (case-insensitively) name a tenant, the single label before it; any other name names none.
std::optional<std::string> TenantFromServerName(std::string_view server_name, std::string_view suffix = {});

struct Route {
  // What a transaction reads comes first, in the route's first cache lines (a session's route is
  // cold between its transactions: with a thousand clients, each line read is a miss).
  const config::TenantConfig* tenant = nullptr;  // point into the config snapshot the session holds
  const config::BackendConfig* backend = nullptr;
  // Shared pools (backends.NAME.shared_pool, rls tenants only): server connections carry no
  // context of their own; `context_sql` sets it on checkout, and the context tag says which
  // context a connection carries, so the pool can prefer one that already has it.
  bool shared_pool = false;
  bool context_read_only = false;  // what the context's statements after the first set
  config::TenantRole role = config::TenantRole::kViewer;
  uint64_t context_hash = 0;  // ContextTagHash(context_tag()): different hashes, different contexts
  // The same context as single statements, each ended by ';' (a Parse holds one), for setting it
  // inside the client's first transaction (relay/tenant_context_switch.h): the first sets the tenant
  // (its `context_first_length` bytes); the others make the session and that transaction itself
  // read-only or not (default_transaction_read_only applies from the next one), and may be left out
  // where the connection is known to be so already. The tag follows them in the same text: a switch
  // reads both, from the same cold lines.
  std::string context_text;
  uint32_t context_first_length = 0;
  uint32_t context_statements_length = 0;
  std::string_view context_statements() const {
    return std::string_view(context_text).substr(0, context_statements_length);
  }
  // The tenant id and access ("<id>/rw"); "" off a shared pool.
  std::string_view context_tag() const { return std::string_view(context_text).substr(context_statements_length); }
  std::string context_sql;
  // limits.idle_transaction_timeout resolved for the tenant and user; 0 = off.
  config::Duration idle_transaction_timeout{0};
  // The pool this route's sessions take server connections from (its server startup parameters
  // carry the tenant context), and the settings such a pool is made with.
  PoolIdentity pool_identity;
  config::PoolSettings pool;
  bool operator==(const Route&) const = default;
};

// What Route::context_hash holds, and ServerConnection keeps with the tag a connection carries.
inline uint64_t ContextTagHash(std::string_view tag) { return std::hash<std::string_view>{}(tag); }

Result<Route> ResolveRoute(const config::Config& config, const config::UserConfig& user, const ClientIdentity& client);

}  // namespace pgtenant::routing
