// Route: where a client session's queries go — backend, pool, and the server session settings.
//
// Resolved once per session from the config snapshot, the authenticated user and the startup
// packet. Pools are keyed by Route::pool_key, so two sessions share server connections only if
// every input that shapes a server session is the same.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "protocol/status.h"

namespace pgtenant::routing {

struct Route {
  const config::BackendConfig* backend = nullptr;  // points into the config snapshot the session holds
  std::string pool_key;
  config::PoolSettings pool;
  // Extra server startup parameters that define the server session (e.g. options).
  std::vector<std::pair<std::string, std::string>> server_startup;
};

// A client's `database` names the backend (a key under `backends:`). Unknown names are 3D000.
Result<Route> ResolveRoute(const config::Config& config, const config::UserConfig* user, std::string_view database);

}  // namespace pgtenant::routing
