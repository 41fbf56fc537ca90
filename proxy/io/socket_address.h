// LocalAddress: the address a connected socket has on this machine ("ip:port"), for the admin
// console's local_addr/local_port columns. Computed when asked (a getsockname call), never cached.
#pragma once

#include <uv.h>

#include <optional>
#include <string>
#include <utility>

namespace pgtenant::proxy {

// (ip, port) of a TCP socket's local end; nullopt for a Unix-domain socket or a closed one.
std::optional<std::pair<std::string, int>> LocalAddress(const uv_tcp_t* socket);

}  // namespace pgtenant::proxy
