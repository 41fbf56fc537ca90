// Free TCP ports for the integration suite: a range below the ephemeral ports, leased with flock.
#include "tests/integration/harness/free_port.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace pgtenant::integration {
namespace {

constexpr char kLeaseDirectory[] = "/tmp/pgtenant-it-ports";
constexpr int kRangeSize = 10000;
constexpr int kLowestPort = 10000;

// [first, last] of the ports to hand out: the kRangeSize ports just below the ephemeral range.
std::pair<int, int> PortRange() {
  int ephemeral_low = 32768, ephemeral_high = 60999;
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  range >> ephemeral_low >> ephemeral_high;
  const int last = ephemeral_low - 1;
  if (last - kRangeSize + 1 >= kLowestPort) return {last - kRangeSize + 1, last};
  // An unusual ephemeral range: the ports above it instead.
  return {ephemeral_high + 1, std::min(65535, ephemeral_high + kRangeSize)};
}

// True when a server could bind 127.0.0.1:port now (with SO_REUSEADDR, as PostgreSQL and libuv do).
bool CanBind(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

// The lock file descriptor of `port` if this process now holds its lease, else -1.
int TryLease(int port) {
  const std::string path = std::string(kLeaseDirectory) + "/" + std::to_string(port);
  const int fd = open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) return -1;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

struct Leases {
  std::mutex mu;
  std::deque<int> fds;  // GUARDED_BY(mu), oldest first
  std::mt19937 random{std::random_device{}()};  // GUARDED_BY(mu)
};

Leases& Held() {
  static Leases* leases = new Leases();  // leaked: leases last until the process exits
  return *leases;
}

}  // namespace

int FreePort() { return FreePorts(1); }

int FreePorts(int count_wanted) {
  // World-writable and sticky like /tmp, so root and other users share it.
  if (mkdir(kLeaseDirectory, 01777) == 0) chmod(kLeaseDirectory, 01777);
  const auto [first, last] = PortRange();
  const int count = last - first + 1;
  Leases& leases = Held();
  std::lock_guard<std::mutex> lock(leases.mu);
  const int start = std::uniform_int_distribution<int>(0, count - 1)(leases.random);
  for (int i = 0; i < count; ++i) {
    const int port = first + (start + i) % count;
    if (port + count_wanted - 1 > last) continue;
    std::vector<int> fds;
    bool free = true;
    for (int p = port; free && p < port + count_wanted; ++p) {
      const int fd = TryLease(p);
      if (fd >= 0) fds.push_back(fd);
      free = fd >= 0 && CanBind(p);
    }
    if (!free) {
      for (int fd : fds) close(fd);
      continue;
    }
    for (int fd : fds) {
      leases.fds.push_back(fd);
      if (leases.fds.size() > static_cast<size_t>(kMaxPortLeases)) {
        close(leases.fds.front());
        leases.fds.pop_front();
      }
    }
    return port;
  }
  throw std::runtime_error("no free port in " + std::to_string(first) + ".." + std::to_string(last) +
                           " (leases in " + kLeaseDirectory + ")");
}

}  // namespace pgtenant::integration
