// ClientLogin: equality and hashing for interning (ProxyServer::InternLogin).
#include "proxy/session/client_login.h"

#include <functional>
#include <string_view>

namespace pgtenant::proxy {

const std::string& ClientLogin::application_name() const {
  static const std::string kNone;
  for (const auto& [name, value] : params.values)
    if (name == "application_name") return value;
  return kNone;
}

size_t ClientLogin::Hash() const {
  size_t h = routing::Hash(identity);
  auto mix = [&h](std::string_view s) { h = h * 1000003u ^ std::hash<std::string_view>{}(s); };
  mix(username);
  for (const auto& [name, value] : params.values) {
    mix(name);
    mix(value);
  }
  return h;
}

}  // namespace pgtenant::proxy
