// ProxyServer's part of adaptive placement (proxy/worker/worker_group.h): pools moving to and from this
// worker, taking new connections or not, and the load it reports.
#include <unistd.h>

#include <ctime>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "proxy/telemetry/log.h"
#include "proxy/worker/proxy_server.h"

namespace pgtenant::proxy {

void ProxyServer::PoolMovedAway(const std::string& pool_name, int to) {
  for (auto& [identity, pool] : pools_)
    if (pool->name() == pool_name) pool->MoveAway(to);
}

void ProxyServer::PoolMovedHere(const std::string& pool_name) {
  for (auto& [identity, pool] : pools_)
    if (pool->name() == pool_name) pool->StayHere();
}

void ProxyServer::StopAccepting() {
  if (pending_listen_fd_ >= 0) ::close(pending_listen_fd_);
  pending_listen_fd_ = -1;
  if (index_ == 0 || !listening_) return;
  listening_ = false;
  listener_closing_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&listener_), [](uv_handle_t* handle) {
    auto* self = static_cast<ProxyServer*>(handle->data);
    self->listener_closing_ = false;
    const int fd = std::exchange(self->pending_listen_fd_, -1);
    if (fd >= 0) self->StartAccepting(fd);
  });
}

void ProxyServer::StartAccepting(int fd) {
  if (index_ == 0 || listening_ || shutting_down_ || stopped_) {
    ::close(fd);
    return;
  }
  if (listener_closing_) {
    if (pending_listen_fd_ >= 0) ::close(pending_listen_fd_);
    pending_listen_fd_ = fd;
    return;
  }
  uv_tcp_init(&loop_, &listener_);
  listener_.data = this;
  int rc = uv_tcp_open(&listener_, fd);
  if (rc != 0) ::close(fd);  // not the handle's
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), kListenBacklog, &ProxyServer::OnConnection);
  if (rc != 0) {
    LogWarning("workers", "worker " + std::to_string(index_) + " cannot accept on the listen socket again: " +
                              uv_strerror(rc));
    listener_closing_ = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_),
             [](uv_handle_t* handle) { static_cast<ProxyServer*>(handle->data)->listener_closing_ = false; });
    return;
  }
  listening_ = true;
}

void ProxyServer::ReportLoad() {
  timespec cpu{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
  const double cpu_seconds = static_cast<double>(cpu.tv_sec) + static_cast<double>(cpu.tv_nsec) / 1e9;
  const Clock::time_point now = Clock::now();
  const double wall = std::chrono::duration<double>(now - reported_at_).count();
  const bool first = reported_at_ == Clock::time_point{};
  const double share = first || wall <= 0 ? 0.0 : (cpu_seconds - reported_cpu_seconds_) / wall;
  reported_cpu_seconds_ = cpu_seconds;
  reported_at_ = now;
  std::vector<std::pair<std::string, double>> transactions;
  std::unordered_map<const ServerPool*, uint64_t> acquisitions;
  for (const auto& [identity, pool] : pools_) {
    auto before = reported_acquisitions_.find(pool.get());
    const uint64_t since = pool->acquisitions() - (before == reported_acquisitions_.end() ? 0 : before->second);
    transactions.emplace_back(pool->name(), static_cast<double>(since));
    acquisitions.emplace(pool.get(), pool->acquisitions());
  }
  reported_acquisitions_ = std::move(acquisitions);
  if (!first) group_->ReportLoad(index_, share, std::move(transactions));
}

}  // namespace pgtenant::proxy
