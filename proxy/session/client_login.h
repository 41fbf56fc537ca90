// ClientLogin: who a client session logged in as — what it presented (routing::ClientIdentity),
// its login name, and the allowlisted startup parameters pgtenant sets on its server connections.
//
// Filled in during startup and authentication; fixed afterwards. Sessions of one worker with equal
// logins share one copy (ProxyServer::InternLogin), so an idle session holds a pointer, not strings.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "relay/session_settings.h"
#include "routing/route.h"

namespace pgtenant::proxy {

struct ClientLogin {
  routing::ClientIdentity identity;
  std::string username;  // the login name: the startup user without a tenant suffix
  relay::StartupSettings params;  // allowlisted, to SET on the server; its serial set once final

  bool operator==(const ClientLogin&) const = default;
  // The application_name startup parameter, or empty.
  const std::string& application_name() const;
  // A hash of every field, for interning.
  size_t Hash() const;
};

}  // namespace pgtenant::proxy
