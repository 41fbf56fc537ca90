// ServiceNotify: readiness and state messages for the service manager (systemd's sd_notify protocol),
// without libsystemd.
//
// Contract
//   - NotifyServiceManager(state) sends `state` ("READY=1", "STOPPING=1", "RELOADING=1\nMONOTONIC_USEC=..."),
//     one datagram, to the AF_UNIX socket named by the environment's NOTIFY_SOCKET: a path, or an
//     abstract address written with a leading '@'. Without NOTIFY_SOCKET (not started by systemd with
//     Type=notify) it does nothing and returns Ok.
//   - An error (socket, sendto) names the socket and the reason; the caller logs it, nothing else fails.
//   - ReloadingState() is "RELOADING=1" with MONOTONIC_USEC (CLOCK_MONOTONIC now), as systemd 253+
//     requires of Type=notify-reload and 252 accepts.
// Thread-safety: any thread; each call opens and closes its own socket.
#pragma once

#include <string>
#include <string_view>

#include "protocol/status.h"

namespace pgtenant::proxy {

Status NotifyServiceManager(std::string_view state);
std::string ReloadingState();

// The same, logging a failure under "systemd" instead of returning it.
void NotifyServiceManagerOrLog(std::string_view state);

}  // namespace pgtenant::proxy
