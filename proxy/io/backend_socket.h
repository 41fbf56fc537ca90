// BackendSocket: the handle of an outgoing connection to a backend or a peer instance, TCP or a
// Unix-domain socket (config::IsSocketDirectory: a host starting with '/', as in libpq).
//
// A Unix-domain socket skips the name lookup and, between two processes on one machine, costs the
// kernel less per message than loopback TCP. Both kinds are streams: reading, writing and closing
// go through `stream` and `handle` alike.
#pragma once

#include <uv.h>

#include <string_view>

namespace pgtenant::proxy {

union BackendSocket {
  uv_handle_t handle;
  uv_stream_t stream;
  uv_tcp_t tcp;
  uv_pipe_t pipe;
};

// Initializes `socket` for `host`: a pipe for a socket directory, else TCP (with TCP_NODELAY).
void InitBackendSocket(uv_loop_t* loop, BackendSocket& socket, std::string_view host);

// For a socket directory: starts connecting to <host>/.s.PGSQL.<port> (`done` runs as for
// uv_tcp_connect) and returns true. For any other host: does nothing and returns false (the caller
// resolves the name and calls uv_tcp_connect).
bool ConnectToSocketDirectory(uv_connect_t* request, BackendSocket& socket, std::string_view host, int port,
                              uv_connect_cb done);

}  // namespace pgtenant::proxy
