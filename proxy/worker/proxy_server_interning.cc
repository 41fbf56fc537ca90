// ProxyServer's shared copies: one route and one login per distinct value among a worker's sessions
// (an idle session holds pointers, not strings), and the route remembered per client identity, so a
// client that connects again skips tenant resolution.
#include <algorithm>
#include <utility>

#include "proxy/worker/proxy_server.h"

namespace pgtenant::proxy {

std::shared_ptr<const routing::Route> ProxyServer::InternRoute(routing::Route route) {
  std::vector<std::shared_ptr<const routing::Route>>& same_pool = routes_[route.pool_identity];
  for (const auto& known : same_pool)
    if (*known == route) return known;
  same_pool.push_back(std::make_shared<const routing::Route>(std::move(route)));
  return same_pool.back();
}

std::shared_ptr<const ClientLogin> ProxyServer::InternLogin(std::shared_ptr<const ClientLogin> login) {
  const size_t hash = login->Hash();
  auto [first, last] = logins_.equal_range(hash);
  for (auto it = first; it != last; ++it) {
    std::shared_ptr<const ClientLogin> known = it->second.lock();
    if (known == nullptr) {
      it->second = login;  // a departed login's slot
      return login;
    }
    if (*known == *login) return known;
  }
  if (logins_.size() >= logins_sweep_at_) {
    std::erase_if(logins_, [](const auto& entry) { return entry.second.expired(); });
    logins_sweep_at_ = std::max<size_t>(64, 2 * logins_.size());
  }
  logins_.emplace(hash, login);
  return login;
}

Result<std::shared_ptr<const routing::Route>> ProxyServer::RouteFor(const routing::ClientIdentity& identity,
                                                                     const config::Config& config,
                                                                     const config::UserConfig& user) {
  // Only for the running config, and only short identities: a client may pad its startup options to
  // kilobytes, and 4,096 such keys would be memory for nothing.
  size_t length = identity.startup_user.size() + identity.database.size() + identity.options.size() +
                  identity.server_name.size();
  if (identity.credential_tenant) length += identity.credential_tenant->size();
  const bool remember = &config == config_.get() && length <= kMaxKnownIdentityBytes;
  const size_t hash = remember ? routing::Hash(identity) : 0;
  if (remember) {
    auto [first, last] = known_routes_.equal_range(hash);
    for (auto it = first; it != last; ++it)
      if (it->second.user == &user && it->second.identity == identity) return it->second.route;
  }
  Result<routing::Route> resolved = routing::ResolveRoute(config, user, identity);
  if (!resolved.ok()) return resolved.status();
  std::shared_ptr<const routing::Route> route = InternRoute(std::move(resolved.value()));
  if (remember) {
    if (known_routes_.size() >= kMaxKnownRoutes) known_routes_.clear();
    known_routes_.emplace(hash, KnownRoute{identity, &user, route});
  }
  return route;
}

}  // namespace pgtenant::proxy
