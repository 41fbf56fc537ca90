// AdminState: what the admin console has switched on the running proxy — paused and disabled
// tenants, the client sessions a PAUSE holds, and console commands waiting for a PAUSE to settle.
//
// PAUSE (all tenants or one) lets transactions in flight finish and holds every new transaction
// of a paused tenant (the session stops reading) until RESUME; DISABLE refuses new connections
// of a tenant while existing ones keep working. None of it survives a restart, and a reload does
// not change it.
//
// Thread-safety: loop thread only. Sessions and waiters register themselves and must unregister
// (Forget / RemoveWaiter) before they are destroyed.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "protocol/status.h"
#include "proxy/server/server_connection.h"  // Clock

namespace pgtenant::proxy {

class ClientSession;

class AdminState {
 public:
  // A console command waiting for something to settle (PAUSE); asked again on every tick.
  class Waiter {
   public:
    virtual void OnAdminTick() = 0;

   protected:
    ~Waiter() = default;
  };

  AdminState() = default;
  AdminState(const AdminState&) = delete;
  AdminState& operator=(const AdminState&) = delete;

  // `tenant` nullopt: every tenant. Errors are 55000 (already paused / not paused).
  Status Pause(const std::optional<std::string>& tenant);
  // Lifts the pause and wakes the sessions it held (ClientSession::OnAdminResume).
  Status Resume(const std::optional<std::string>& tenant);
  bool IsPaused(const std::string& tenant) const {
    return paused_all_ || (!paused_.empty() && paused_.count(tenant) != 0);  // asked every transaction
  }
  bool paused_all() const { return paused_all_; }

  Status Disable(const std::string& tenant);
  Status Enable(const std::string& tenant);
  bool IsDisabled(const std::string& tenant) const { return disabled_.count(tenant) != 0; }
  // Ok, or the FATAL a new connection of a disabled tenant gets (55000).
  Status CheckNewConnection(const std::string& tenant) const;

  // A session of `tenant` whose next transaction waits for RESUME.
  void Hold(ClientSession* session, const std::string& tenant);
  void Forget(ClientSession* session);
  // When the session was held, if it is.
  std::optional<Clock::time_point> HeldSince(const ClientSession* session) const;

  void AddWaiter(Waiter* waiter);
  void RemoveWaiter(Waiter* waiter);
  bool has_waiters() const { return !waiters_.empty(); }
  // Told when a waiter is added (the proxy ticks often enough for it).
  void set_on_waiter(std::function<void()> on_waiter) { on_waiter_ = std::move(on_waiter); }
  // Called by the proxy's periodic tick.
  void Tick();

 private:
  struct Held {
    std::string tenant;
    Clock::time_point since;
  };
  void Wake(const std::optional<std::string>& tenant);

  bool paused_all_ = false;
  std::set<std::string> paused_;
  std::set<std::string> disabled_;
  std::unordered_map<const ClientSession*, Held> held_;
  std::vector<Waiter*> waiters_;
  std::function<void()> on_waiter_;
};

}  // namespace pgtenant::proxy
