// Reading pgtenant's Prometheus endpoint from a test.
#include "tests/integration/harness/metrics_scrape.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/harness/poll.h"

namespace pgtenant::integration {

std::string ScrapeMetrics(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const std::string request = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::write(fd, request.data(), request.size()) < 0) {
    ::close(fd);
    return "";
  }
  std::string response;
  char buffer[8192];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof(buffer))) > 0;) response.append(buffer, static_cast<size_t>(n));
  ::close(fd);
  const size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

double MetricSample(const std::string& scrape, const std::string& series) {
  const size_t at = scrape.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  const size_t start = at + series.size() + 2;
  return std::stod(scrape.substr(start, scrape.find('\n', start) - start));
}

std::string AwaitScrape(int port, const std::function<bool(const std::string&)>& holds,
                        std::chrono::milliseconds timeout) {
  std::string scrape;
  PollUntil([&] { return holds(scrape = ScrapeMetrics(port)); }, timeout, std::chrono::milliseconds(50));
  return scrape;
}

bool AwaitMetric(int port, const std::string& series, double value, std::chrono::milliseconds timeout) {
  return MetricSample(AwaitScrape(port, [&](const std::string& scrape) { return MetricSample(scrape, series) == value; },
                                  timeout),
                      series) == value;
}

}  // namespace pgtenant::integration
