// null_hop: the cheapest hop a proxy can be — the floor bench/run measures the proxies against.
//
// Usage: null_hop LISTEN_PORT BACKEND
//   Listens on 127.0.0.1:LISTEN_PORT. Each client gets its own connection to BACKEND (a Unix-domain
//   socket path when it starts with '/', else a TCP port on 127.0.0.1) and the bytes are passed on
//   unread, both ways: one thread, one epoll set, one read and one write per arrival. No pooling, no
//   authentication, no parsing. Whatever pgtenant or PgBouncer costs beyond this, they cost by what
//   they do; what this costs, any separate proxy process on the machine pays (two more socket
//   operations per direction and the wake-ups that go with them).
//   Prints "listening" once ready; runs until SIGTERM/SIGINT.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr int kListenBacklog = 1024;
constexpr int kEventsPerWait = 256;
constexpr size_t kReadSize = 64 * 1024;

// One end of a forwarded pair. Bytes read here go to `peer`; bytes the peer could not take yet wait
// in the peer's `unsent` (and this side stops reading until they are gone: backpressure).
struct End {
  int peer = -1;  // -1: no connection on this descriptor
  std::vector<char> unsent;  // bytes for THIS socket that a write did not take
};

std::vector<End> ends;  // indexed by file descriptor
int epoll_fd = -1;

End& EndOf(int fd) {
  if (size_t(fd) >= ends.size()) ends.resize(size_t(fd) + 1);
  return ends[size_t(fd)];
}

// Reads from `fd` while its peer has nothing waiting; writes out what `fd` itself has waiting.
void Watch(int fd, int op) {
  End& end = EndOf(fd);
  epoll_event event{};
  event.data.fd = fd;
  if (EndOf(end.peer).unsent.empty()) event.events |= EPOLLIN;
  if (!end.unsent.empty()) event.events |= EPOLLOUT;
  epoll_ctl(epoll_fd, op, fd, &event);
}

void ClosePair(int fd) {
  const int peer = EndOf(fd).peer;
  for (int each : {fd, peer}) {
    if (each < 0 || EndOf(each).peer < 0) continue;
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, each, nullptr);
    close(each);
    EndOf(each) = End{};
  }
}

// Writes `bytes` to `fd`, keeping what the socket does not take. False when the connection failed.
bool Send(int fd, const char* bytes, size_t size) {
  End& end = EndOf(fd);
  while (size > 0 && end.unsent.empty()) {
    const ssize_t n = write(fd, bytes, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) return false;
    bytes += n;
    size -= size_t(n);
  }
  if (size == 0) return true;
  const bool was_empty = end.unsent.empty();
  end.unsent.insert(end.unsent.end(), bytes, bytes + size);
  if (was_empty) {
    Watch(fd, EPOLL_CTL_MOD);
    Watch(end.peer, EPOLL_CTL_MOD);
  }
  return true;
}

int ConnectBackend(const std::string& backend) {
  int fd;
  if (!backend.empty() && backend[0] == '/') {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (backend.size() >= sizeof address.sun_path) return -1;
    std::memcpy(address.sun_path, backend.c_str(), backend.size() + 1);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      close(fd);
      return -1;
    }
  } else {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(uint16_t(std::atoi(backend.c_str())));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      close(fd);
      return -1;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return fd;
}

void Accept(int listener, const std::string& backend) {
  for (;;) {
    const int client = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK);
    if (client < 0) return;
    const int one = 1;
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const int server = ConnectBackend(backend);
    if (server < 0) {
      std::fprintf(stderr, "null_hop: cannot reach %s: %s\n", backend.c_str(), std::strerror(errno));
      close(client);
      continue;
    }
    // The connect above was blocking (loopback: immediate); from here on nothing blocks.
    fcntl(server, F_SETFL, fcntl(server, F_GETFL) | O_NONBLOCK);
    EndOf(client) = End{server, {}};
    EndOf(server) = End{client, {}};
    Watch(client, EPOLL_CTL_ADD);
    Watch(server, EPOLL_CTL_ADD);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: null_hop LISTEN_PORT BACKEND (socket path or TCP port)\n");
    return 2;
  }
  const std::string backend = argv[2];
  signal(SIGPIPE, SIG_IGN);

  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(uint16_t(std::atoi(argv[1])));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      listen(listener, kListenBacklog) != 0) {
    std::fprintf(stderr, "null_hop: cannot listen on port %s: %s\n", argv[1], std::strerror(errno));
    return 1;
  }
  epoll_fd = epoll_create1(0);
  epoll_event listen_event{};
  listen_event.events = EPOLLIN;
  listen_event.data.fd = listener;
  epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listener, &listen_event);
  std::printf("listening\n");
  std::fflush(stdout);

  std::vector<char> buffer(kReadSize);
  epoll_event events[kEventsPerWait];
  for (;;) {
    const int ready = epoll_wait(epoll_fd, events, kEventsPerWait, -1);
    if (ready < 0 && errno != EINTR) return 1;
    for (int i = 0; i < ready; ++i) {
      const int fd = events[i].data.fd;
      if (fd == listener) {
        Accept(listener, backend);
        continue;
      }
      if (EndOf(fd).peer < 0) continue;  // closed earlier in this batch
      if (events[i].events & EPOLLOUT) {
        End& end = EndOf(fd);
        std::vector<char> waiting;
        waiting.swap(end.unsent);
        if (!Send(fd, waiting.data(), waiting.size())) {
          ClosePair(fd);
          continue;
        }
        if (end.unsent.empty()) {
          Watch(fd, EPOLL_CTL_MOD);
          Watch(end.peer, EPOLL_CTL_MOD);
        }
      }
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        const ssize_t n = read(fd, buffer.data(), buffer.size());
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n <= 0 || !Send(EndOf(fd).peer, buffer.data(), size_t(n))) ClosePair(fd);
      }
    }
  }
}
