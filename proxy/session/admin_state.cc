// AdminState: pause, disable, held sessions, waiting console commands.
#include "proxy/session/admin_state.h"

#include <algorithm>

#include "protocol/sqlstate.h"
#include "proxy/session/client_session.h"

namespace pgtenant::proxy {

namespace {
// PostgreSQL's object_not_in_prerequisite_state: the command does not fit the present state.
constexpr std::string_view kNotInPrerequisiteState = "55000";
}  // namespace

Status AdminState::Pause(const std::optional<std::string>& tenant) {
  if (paused_all_)
    return Status::Error(kNotInPrerequisiteState, "pgtenant: every tenant is already paused",
                         "RESUME lets their transactions run again.");
  if (!tenant) {
    paused_all_ = true;
    paused_.clear();  // RESUME undoes the whole pause at once
    return Status::Ok();
  }
  if (!paused_.insert(*tenant).second)
    return Status::Error(kNotInPrerequisiteState, "pgtenant: tenant \"" + *tenant + "\" is already paused",
                         "RESUME " + *tenant + " lets its transactions run again.");
  return Status::Ok();
}

Status AdminState::Resume(const std::optional<std::string>& tenant) {
  if (!tenant) {
    if (!paused_all_ && paused_.empty())
      return Status::Error(kNotInPrerequisiteState, "pgtenant: nothing is paused");
    paused_all_ = false;
    paused_.clear();
    Wake(std::nullopt);
    return Status::Ok();
  }
  if (paused_all_)
    return Status::Error(kNotInPrerequisiteState,
                         "pgtenant: every tenant is paused; one tenant cannot be resumed alone",
                         "RESUME without a tenant resumes them all.");
  if (paused_.erase(*tenant) == 0)
    return Status::Error(kNotInPrerequisiteState, "pgtenant: tenant \"" + *tenant + "\" is not paused");
  Wake(tenant);
  return Status::Ok();
}

Status AdminState::Disable(const std::string& tenant) {
  if (!disabled_.insert(tenant).second)
    return Status::Error(kNotInPrerequisiteState, "pgtenant: tenant \"" + tenant + "\" is already disabled");
  return Status::Ok();
}

Status AdminState::Enable(const std::string& tenant) {
  if (disabled_.erase(tenant) == 0)
    return Status::Error(kNotInPrerequisiteState, "pgtenant: tenant \"" + tenant + "\" is not disabled");
  return Status::Ok();
}

Status AdminState::CheckNewConnection(const std::string& tenant) const {
  if (!IsDisabled(tenant)) return Status::Ok();
  return Status::Error(kNotInPrerequisiteState,
                       "pgtenant: tenant \"" + tenant + "\" is disabled and does not accept new connections",
                       "An administrator disabled it (admin console DISABLE); connections already open keep "
                       "working. Try again once it is enabled.");
}

void AdminState::Hold(ClientSession* session, const std::string& tenant) {
  held_.emplace(session, Held{tenant, Clock::now()});
}

void AdminState::Forget(ClientSession* session) { held_.erase(session); }

std::optional<Clock::time_point> AdminState::HeldSince(const ClientSession* session) const {
  auto it = held_.find(session);
  if (it == held_.end()) return std::nullopt;
  return it->second.since;
}

void AdminState::Wake(const std::optional<std::string>& tenant) {
  std::vector<ClientSession*> woken;
  for (auto it = held_.begin(); it != held_.end();) {
    if (!tenant || it->second.tenant == *tenant) {
      woken.push_back(const_cast<ClientSession*>(it->first));
      it = held_.erase(it);
    } else {
      ++it;
    }
  }
  // Waking a session runs its held messages, which may hold or close other sessions: the map
  // is settled first.
  for (ClientSession* session : woken) session->OnAdminResume();
}

void AdminState::AddWaiter(Waiter* waiter) {
  waiters_.push_back(waiter);
  if (on_waiter_) on_waiter_();
}

void AdminState::RemoveWaiter(Waiter* waiter) {
  waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), waiter), waiters_.end());
}

void AdminState::Tick() {
  std::vector<Waiter*> waiters = waiters_;
  for (Waiter* waiter : waiters) {
    // A waiter may finish (and remove itself or others) during the loop.
    if (std::find(waiters_.begin(), waiters_.end(), waiter) != waiters_.end()) waiter->OnAdminTick();
  }
}

}  // namespace pgtenant::proxy
