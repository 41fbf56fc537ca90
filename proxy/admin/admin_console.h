// AdminConsole: the virtual database "pgtenant", where an admin user (admin.users) runs SHOW,
// RELOAD, PAUSE/RESUME, DISABLE/ENABLE, KILL, KILL_CLIENT, RECONNECT and SHUTDOWN with psql, close
// to PgBouncer's console.
//
// The console speaks the simple query protocol only: each Query may hold several commands
// separated by ';', each answered with rows (RowDescription, DataRow, CommandComplete, text
// format) or a CommandComplete, then one ReadyForQuery. The first failing command ends the
// Query with an ERROR (42601 unknown command, 42704 unknown tenant or client, 55000 wrong state, F0000 bad
// configuration file); the session stays usable. The extended protocol is refused with 0A000
// (skipping to Sync). Every command is logged and audited (admin_command).
//
// Ownership: a ClientSession owns its console once an admin has authenticated for "pgtenant" and
// Detach()es it when it closes. Thread-safety: loop thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/status.h"
#include "proxy/session/admin_state.h"
#include "proxy/session/client_view.h"
#include "proxy/session/session_host.h"

namespace pgtenant::proxy {

class ClientSession;
class ProxyServer;

class AdminConsole final : public AdminState::Waiter, public SessionConsole {
 public:
  AdminConsole(ProxyServer* proxy, ClientSession* session, std::string user, std::string client_address,
               std::string session_id);
  ~AdminConsole();
  AdminConsole(const AdminConsole&) = delete;
  AdminConsole& operator=(const AdminConsole&) = delete;

  // SessionConsole (a command still running is PAUSE waiting for transactions).
  size_t OnClientBytes(std::span<const uint8_t> data) override;
  void Detach() override;

  void OnAdminTick() override;

 private:
  enum class Outcome { kDone, kFailed, kWaiting, kShutdown };
  struct PendingPause {
    std::optional<std::string> tenant;
    std::string command;
  };

  void RunQuery(std::string_view sql);
  // Runs queued commands until one waits or fails or none is left; then ReadyForQuery.
  void RunPending();
  Outcome Execute(const std::string& statement);
  Outcome Fail(const std::string& command, std::string_view sqlstate, const std::string& message,
               const std::string& hint = "");
  Outcome Done(const std::string& command, std::string_view tag, const std::string& note = "");
  // KILL_CLIENT id: one client connection, by the id SHOW CLIENTS prints, on whichever worker.
  Outcome KillClient(const std::string& command, const std::vector<std::string>& args);
  // True when some session of `tenant` (every tenant when nullopt) is inside a transaction.
  // Applies an AdminState change on every worker (they keep equal copies).
  Status OnEveryWorker(const std::function<Status(AdminState&)>& change);
  bool TransactionsInFlight(const std::optional<std::string>& tenant) const;
  void Audit(const std::string& command, const std::string& result, const std::string& message);
  void Flush();

  ProxyServer* proxy_;
  ClientSession* session_;
  std::string user_;
  std::string client_address_;
  std::string session_id_;
  bool detached_ = false;
  bool skipping_to_sync_ = false;  // after refusing an extended-protocol message
  std::string out_;                 // replies not yet sent
  std::deque<std::string> pending_;  // commands of the current Query not yet run
  std::optional<PendingPause> pause_;  // a PAUSE waiting for transactions in flight
};

}  // namespace pgtenant::proxy
