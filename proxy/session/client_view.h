// ClientView: what the admin console's SHOW CLIENTS and SHOW POOLS know of one client session
// (ClientSession::Describe).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "proxy/io/loop_clock.h"

namespace pgtenant::proxy {

// What SHOW CLIENTS and SHOW POOLS need to know about one client session.
struct ClientView {
  uint64_t id = 0;  // ClientSession::id(): unique in the process (KILL_CLIENT takes it)
  std::string session_id;
  std::string user;
  std::string tenant;    // "" before routing and for admin sessions
  std::string database;  // as the client asked
  std::string state;     // login | idle | active | waiting | closing | admin
  std::string address;   // "ip:port"
  std::optional<std::pair<std::string, int>> local_address;  // this end of the client's socket
  std::string application_name;
  std::string pool;      // ServerPool::name() of the session's pool, "" if none
  bool admin = false;
  bool tls = false;
  bool waiting = false;  // for a server, or held by PAUSE
  bool in_transaction = false;
  const void* ptr = nullptr;         // the session, as PgBouncer's ptr/link columns identify a connection
  const void* server_ptr = nullptr;  // the server connection the session holds, if any
  size_t prepared_statements = 0;  // the client's named statements pgtenant tracks (transaction pooling)
  Clock::time_point connected_at{};
  Clock::time_point last_request{};
  Clock::time_point waiting_since{};  // when `waiting`
};

}  // namespace pgtenant::proxy
