// ClientSession moving between workers (proxy/worker/worker_group.h, SessionHost::HandOver): once routed, a session goes to the
// worker that owns its pool. The socket is duplicated, closed on this loop and opened on that one.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "protocol/sqlstate.h"
#include "proxy/session/client_session.h"
#include "proxy/telemetry/log.h"

namespace pgtenant::proxy {

void ClientSession::MoveTo(int home) {
  moving_to_ = static_cast<int16_t>(home);
  Pause(kPauseMoving);
  (void)outbox_.Uncork();
  if (!outbox_.HasBacklog()) FinishMove();  // otherwise OnOutboxEvent does, once it is written
}

void ClientSession::FinishMove() {
  uv_os_fd_t fd = -1;
  const int copy = uv_fileno(reinterpret_cast<uv_handle_t*>(&socket_), &fd) == 0 ? ::fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
  if (copy < 0) {
    moving_to_ = -1;
    Terminate(Status::Error(sqlstate::kConnectionFailure, "pgtenant: could not hand the connection to its worker: " +
                                                              std::string(std::strerror(errno))));
    return;
  }
  moving_fd_ = copy;
  host_->ReleaseSession(this);
  reading_ = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&socket_), &ClientSession::OnMovedOut);
}

void ClientSession::OnMovedOut(uv_handle_t* handle) noexcept {
  auto* self = static_cast<ClientSession*>(handle->data);
  if (self->host_->HandOver(self, self->moving_to_, self->moving_fd_)) return;
  ::close(self->moving_fd_);
  delete self;
}

void ClientSession::Arrive(SessionHost& home, int fd) {
  host_ = &home;
  uv_tcp_init(home.loop(), &socket_);
  socket_.data = this;
  moving_to_ = -1;
  moving_fd_ = -1;
  if (int rc = uv_tcp_open(&socket_, fd); rc != 0) {
    ::close(fd);
    Terminate(Status::Error(sqlstate::kConnectionFailure,
                            std::string("pgtenant: could not take over the connection: ") + uv_strerror(rc)));
    return;
  }
  if (home.shutting_down() && !DrainWaitsForTransaction()) {
    end_reason_ = "shutdown";
    Terminate(Status::Error(sqlstate::kAdminShutdown, "terminating connection due to administrator command"));
    return;
  }
  if (home.shutting_down()) shutdown_requested_ = true;  // its transaction first (BeginShutdown)
  if (rejoining_) {
    Rejoin();
    return;
  }
  // The pool may have moved while the session was on its way.
  if (const int now_home = home.HomeOf(*route_); now_home != home.index()) {
    MoveTo(now_home);
    return;
  }
  Routed();
  Resume(kPauseMoving);
}

bool ClientSession::MayMigrate() const {
  // Nothing of it may be left behind: no server, nothing owed to the client or the server, no
  // place in this worker's throttle queue or PAUSE list.
  return transaction_pooling_ && server_ == nullptr && state_ == State::kActive && !throttled_ && !admin_held_ &&
         relay_.Quiescent() && moving_to_ < 0;
}

void ClientSession::Migrate(int home) {
  if (cancel_pid_ != 0) host_->UnregisterCancelTarget(this, cancel_pid_);
  pool_ = nullptr;
  rejoining_ = true;
  MoveTo(home);
}

void ClientSession::Rejoin() {
  rejoining_ = false;
  login_ = host_->InternLogin(std::move(login_));
  relay_.settings().SetStartup(&login_->params);  // the relay points at the login it now shares
  if (cancel_pid_ != 0) host_->AdoptCancelTarget(this, cancel_pid_);
  if (const int now_home = host_->HomeOf(*route_); now_home != host_->index()) {
    Migrate(now_home);  // it has moved on meanwhile
    return;
  }
  pool_ = host_->PoolFor(*route_);
  pool_->StayHere();  // the placement says so, whatever this worker last heard
  Resume(kPauseMoving);  // the request that was waiting goes on (StartTransaction)
}

}  // namespace pgtenant::proxy
