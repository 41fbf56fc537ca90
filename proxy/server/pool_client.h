// PoolClient: what a ServerPool hands server connections to (a client session), and the place it
// holds in the pool's WaiterQueue while it waits for one.
#pragma once

#include <cstdint>

#include "protocol/status.h"

namespace pgtenant::proxy {

class ServerConnection;

class PoolClient {
 public:
  // The server is in state kIdle and belongs to the client until Release.
  virtual void OnServerAssigned(ServerConnection* server) = 0;
  // No server for this client: wait timeout (53300) or backend unreachable (08006).
  virtual void OnServerUnavailable(const Status& why) = 0;

  // Its node in the WaiterQueue it waits in, or none, which only WaiterQueue reads and writes:
  // joining, leaving and the already-waiting check then cost no allocation and no lookup. `key`: the
  // key it last waited under (in whichever queue; checked by name before use).
  class WaitingPlace {
    friend class WaiterQueue;
    uint32_t node = UINT32_MAX;
    uint32_t key = UINT32_MAX;
  };
  WaitingPlace waiting_place;

 protected:
  ~PoolClient() = default;
};

}  // namespace pgtenant::proxy
