// The sd_notify datagram (see systemd's sd_notify(3), "NOTIFY_SOCKET"): a few lines of AF_UNIX instead
// of a dependency on libsystemd.
#include "proxy/telemetry/service_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "proxy/telemetry/log.h"

namespace pgtenant::proxy {

Status NotifyServiceManager(std::string_view state) {
  const char* socket_name = std::getenv("NOTIFY_SOCKET");
  if (socket_name == nullptr || *socket_name == '\0') return Status::Ok();
  const std::string_view name(socket_name);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if ((name[0] != '/' && name[0] != '@') || name.size() >= sizeof(address.sun_path)) {
    return Status::Error("NOTIFY_SOCKET \"" + std::string(name) + "\" is neither a path nor an abstract address");
  }
  std::memcpy(address.sun_path, name.data(), name.size());
  if (name[0] == '@') address.sun_path[0] = '\0';  // Linux's abstract namespace
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() + (name[0] == '/' ? 1 : 0));

  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Error(std::string("cannot open a socket for NOTIFY_SOCKET: ") + std::strerror(errno));
  const ssize_t sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&address), length);
  const int error = errno;
  ::close(fd);
  if (sent < 0) return Status::Error("cannot notify " + std::string(name) + ": " + std::strerror(error));
  return Status::Ok();
}

std::string ReloadingState() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const long long usec = static_cast<long long>(now.tv_sec) * 1'000'000 + now.tv_nsec / 1'000;
  return "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec);
}

void NotifyServiceManagerOrLog(std::string_view state) {
  if (Status s = NotifyServiceManager(state); !s.ok()) LogWarning("systemd", s.message());
}

}  // namespace pgtenant::proxy
