// AdminConsole: the virtual database "pgtenant", where an admin user (admin.users) runs SHOW,
// RELOAD, PAUSE/RESUME, DISABLE/ENABLE, KILL and SHUTDOWN with psql, close to PgBouncer's console.
//
// The console speaks the simple query protocol only: each Query may hold several commands
// separated by ';', each answered with rows (RowDescription, DataRow, CommandComplete, text
// format) or a CommandComplete, then one ReadyForQuery. The first failing command ends the
// Query with an ERROR (42601 unknown command, 42704 unknown tenant, 55000 wrong state, F0000 bad
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

#include "protocol/status.h"
#include "proxy/admin/admin_state.h"

namespace pgtenant::proxy {

class ClientSession;
class ProxyServer;

// The name of the console's virtual database.
inline constexpr std::string_view kAdminDatabase = "pgtenant";

// What SHOW CLIENTS and SHOW POOLS need to know about one client session.
struct ClientView {
  std::string session_id;
  std::string user;
  std::string tenant;    // "" before routing and for admin sessions
  std::string database;  // as the client asked
  std::string state;     // login | idle | active | waiting | closing | admin
  std::string address;   // "ip:port"
  std::string application_name;
  std::string pool;      // ServerPool::name() of the session's pool, "" if none
  bool admin = false;
  bool tls = false;
  bool waiting = false;  // for a server, or held by PAUSE
  bool in_transaction = false;
  Clock::time_point connected_at{};
  Clock::time_point last_request{};
  Clock::time_point waiting_since{};  // when `waiting`
};

class AdminConsole final : public AdminState::Waiter {
 public:
  AdminConsole(ProxyServer* proxy, ClientSession* session, std::string user, std::string client_address,
               std::string session_id);
  ~AdminConsole();
  AdminConsole(const AdminConsole&) = delete;
  AdminConsole& operator=(const AdminConsole&) = delete;

  // Handles the whole messages at the front of `data` and returns the bytes consumed; 0 when a
  // message is incomplete or a command is still running (PAUSE waiting for transactions): the
  // session keeps the bytes and offers them again after ClientSession::OnAdminCommandDone.
  size_t OnClientBytes(std::span<const uint8_t> data);
  // The session is closing: nothing more is sent and nothing waits.
  void Detach();

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
