// LocalAddress: uv_tcp_getsockname, formatted like the client addresses SHOW CLIENTS prints.
#include "proxy/io/socket_address.h"

#include <netinet/in.h>

namespace pgtenant::proxy {

std::optional<std::pair<std::string, int>> LocalAddress(const uv_tcp_t* socket) {
  if (socket->type != UV_TCP) return std::nullopt;
  sockaddr_storage local{};
  int length = sizeof(local);
  if (uv_tcp_getsockname(socket, reinterpret_cast<sockaddr*>(&local), &length) != 0) return std::nullopt;
  char host[INET6_ADDRSTRLEN] = {0};
  if (local.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&local);
    uv_ip6_name(a, host, sizeof(host));
    return std::make_pair(std::string(host), static_cast<int>(ntohs(a->sin6_port)));
  }
  if (local.ss_family != AF_INET) return std::nullopt;
  auto* a = reinterpret_cast<const sockaddr_in*>(&local);
  uv_ip4_name(a, host, sizeof(host));
  return std::make_pair(std::string(host), static_cast<int>(ntohs(a->sin_port)));
}

}  // namespace pgtenant::proxy
