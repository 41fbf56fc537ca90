// PeerCancel: instance ids in cancel keys, and forwarding unknown cancel requests to peers once.
#include "proxy/worker/peer_cancel.h"

#include "protocol/random.h"
#include "proxy/worker/cancel_forwarder.h"
#include "proxy/telemetry/log.h"

namespace pgtenant::proxy {

Status PeerCancel::Configure(const std::vector<config::PeerConfig>& peers) {
  std::lock_guard<std::mutex> lock(mu_);
  peers_ = peers;
  if (peers_.empty()) return Status::Ok();
  if (!instance_id_) {
    return Status::Error("peers are configured, but this instance has no id: start it with --instance-id N "
                         "or PGTENANT_INSTANCE_ID=N, N being its id under peers");
  }
  for (const config::PeerConfig& peer : peers_) {
    if (peer.id == *instance_id_) return Status::Ok();
  }
  return Status::Error("this instance's id " + std::to_string(*instance_id_) +
                       " is not listed under peers; list every instance, this one included");
}

int32_t PeerCancel::NewPid(int worker) const {
  const auto id = static_cast<uint32_t>(instance_id());
  const auto worker_bits = static_cast<uint32_t>(worker) & (kMaxWorkers - 1);
  const uint32_t random_mask = (uint32_t{1} << kWorkerShift) - 1;
  for (;;) {
    const uint32_t random = static_cast<uint32_t>(protocol::RandomInt32()) & random_mask;
    const auto pid = static_cast<int32_t>((id << kRandomPidBits) | (worker_bits << kWorkerShift) | random);
    if (pid != 0) return pid;
  }
}

bool PeerCancel::Forward(uv_loop_t* loop, int32_t pid, int32_t key, Clock::time_point now) {
  const int target = InstanceOf(pid);
  std::lock_guard<std::mutex> lock(mu_);
  if (peers_.empty() || target == instance_id()) return false;  // ours (ended, or a wrong key): nobody else's
  const config::PeerConfig* peer = nullptr;
  for (const config::PeerConfig& p : peers_) {
    if (p.id == target) peer = &p;
  }
  if (peer == nullptr) {
    LogInfo("cancel", "cancel request for instance " + std::to_string(target) + ", which is not under peers: ignored");
    return false;
  }
  while (!recent_.empty() && now - recent_.front().at >= kForwardWindow) {
    recent_set_.erase(recent_.front().request);
    recent_.pop_front();
  }
  const uint64_t request = (uint64_t{static_cast<uint32_t>(pid)} << 32) | static_cast<uint32_t>(key);
  if (recent_set_.count(request) != 0) {
    LogInfo("cancel", "cancel request already forwarded once: not forwarded again (peer addresses may be wrong)");
    return false;
  }
  if (recent_.size() >= kMaxRemembered) {
    LogWarning("cancel", "too many cancel requests to forward: dropped");
    return false;
  }
  recent_.push_back({now, request});
  recent_set_.insert(request);
  LogInfo("cancel", "cancel request for instance " + std::to_string(target) + ": forwarded to " + peer->host + ":" +
                        std::to_string(peer->port));
  CancelForwarder::Send(loop, peer->host, peer->port, pid, key);
  return true;
}

}  // namespace pgtenant::proxy
