// BackendSocket: TCP or Unix-domain, chosen by the host's spelling.
#include "proxy/io/backend_socket.h"

#include <string>

#include "config/config.h"

namespace pgtenant::proxy {

void InitBackendSocket(uv_loop_t* loop, BackendSocket& socket, std::string_view host) {
  if (config::IsSocketDirectory(host)) {
    uv_pipe_init(loop, &socket.pipe, /*ipc=*/0);
  } else {
    uv_tcp_init(loop, &socket.tcp);
    uv_tcp_nodelay(&socket.tcp, 1);  // kept by libuv until the socket exists
  }
}

bool ConnectToSocketDirectory(uv_connect_t* request, BackendSocket& socket, std::string_view host, int port,
                              uv_connect_cb done) {
  if (!config::IsSocketDirectory(host)) return false;
  // The loader refused paths longer than a socket address holds (config::kMaxSocketPathBytes).
  const std::string path = config::SocketPath(host, port);
  uv_pipe_connect(request, &socket.pipe, path.c_str(), done);
  return true;
}

}  // namespace pgtenant::proxy
