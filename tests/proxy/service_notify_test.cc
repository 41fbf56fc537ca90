// NotifyServiceManager: the sd_notify datagram reaches NOTIFY_SOCKET (path and abstract address).
#include "proxy/telemetry/service_notify.h"

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstddef>
#include <cstring>
#include <string>

namespace pgtenant::proxy {
namespace {

// A datagram socket bound to `name` (a path, or '@' + an abstract name) that plays systemd's part.
class FakeServiceManager {
 public:
  explicit FakeServiceManager(const std::string& name) : fd_(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    REQUIRE(fd_ >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, name.data(), name.size());
    if (name[0] == '@') address.sun_path[0] = '\0';
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) == 0);
    REQUIRE(::setenv("NOTIFY_SOCKET", name.c_str(), 1) == 0);
  }
  ~FakeServiceManager() {
    ::unsetenv("NOTIFY_SOCKET");
    ::close(fd_);
  }
  // The next datagram, or "" if none arrives within 5 s.
  std::string Receive() {
    pollfd ready{fd_, POLLIN, 0};
    if (::poll(&ready, 1, 5000) != 1) return "";
    char buffer[512];
    const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
    return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "";
  }

 private:
  int fd_;
};

TEST_CASE("READY=1 reaches a NOTIFY_SOCKET path", "[service_notify]") {
  char dir[] = "/tmp/pgtenant-notify-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  const std::string path = std::string(dir) + "/notify";
  {
    FakeServiceManager manager(path);
    REQUIRE(NotifyServiceManager("READY=1").ok());
    CHECK(manager.Receive() == "READY=1");
  }
  ::unlink(path.c_str());
  ::rmdir(dir);
}

TEST_CASE("an abstract NOTIFY_SOCKET (@name) is reached too", "[service_notify]") {
  FakeServiceManager manager("@pgtenant-notify-test-" + std::to_string(::getpid()));
  REQUIRE(NotifyServiceManager("STOPPING=1").ok());
  CHECK(manager.Receive() == "STOPPING=1");
  const std::string reloading = ReloadingState();
  REQUIRE(NotifyServiceManager(reloading).ok());
  CHECK(manager.Receive() == reloading);
  CHECK(reloading.rfind("RELOADING=1\nMONOTONIC_USEC=", 0) == 0);
}

TEST_CASE("without NOTIFY_SOCKET nothing is sent and nothing fails", "[service_notify]") {
  ::unsetenv("NOTIFY_SOCKET");
  CHECK(NotifyServiceManager("READY=1").ok());
}

TEST_CASE("a NOTIFY_SOCKET nobody listens on is an error naming it", "[service_notify]") {
  REQUIRE(::setenv("NOTIFY_SOCKET", "/nonexistent/pgtenant-notify", 1) == 0);
  Status s = NotifyServiceManager("READY=1");
  ::unsetenv("NOTIFY_SOCKET");
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("/nonexistent/pgtenant-notify") != std::string::npos);
  REQUIRE(::setenv("NOTIFY_SOCKET", "relative", 1) == 0);
  CHECK_FALSE(NotifyServiceManager("READY=1").ok());
  ::unsetenv("NOTIFY_SOCKET");
}

}  // namespace
}  // namespace pgtenant::proxy
