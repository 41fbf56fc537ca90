// Route resolution: database name -> backend, pool settings resolved for the user.
#include "routing/route.h"

#include "protocol/sqlstate.h"

namespace pgtenant::routing {

Result<Route> ResolveRoute(const config::Config& config, const config::UserConfig* user, std::string_view database) {
  const config::BackendConfig* backend = config.FindBackend(database);
  if (backend == nullptr) {
    return Status::Error(sqlstate::kInvalidCatalogName, "database \"" + std::string(database) + "\" does not exist",
                         "Connect with dbname set to one of the backends configured in pgtenant.");
  }
  Route route;
  route.backend = backend;
  route.pool = config.ResolvePool(nullptr, user);
  route.pool_key = backend->name + "/" + backend->database + "/" + backend->user;
  // A user with pool settings of their own gets a pool of their own, so the settings hold.
  if (user != nullptr) {
    const config::PoolOverrides& o = user->pool;
    if (o.mode || o.size || o.min_idle || o.wait_timeout || o.idle_timeout || o.lifetime)
      route.pool_key += "/user=" + user->name;
  }
  return route;
}

}  // namespace pgtenant::routing
