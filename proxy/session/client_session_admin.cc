// ClientSession and the admin console: the console's handshake for database "pgtenant", what
// SHOW CLIENTS sees of a session, PAUSE holding a session's next transaction, and KILL.
#include <algorithm>

#include "protocol/message_builder.h"
#include "protocol/random.h"
#include "protocol/sqlstate.h"
#include "proxy/build_info.h"
#include "proxy/io/socket_address.h"
#include "proxy/session/client_session.h"
#include "proxy/telemetry/log.h"
#include "proxy/session/admin_state.h"

namespace pgtenant::proxy {

void ClientSession::OpenAdminConsole() {
  if (!host_->config()->IsAdmin(login().username)) {
    // The newest snapshot decides: a RELOAD that adds or removes an admin applies at once.
    Status refused = Status::Error(sqlstate::kInvalidAuthorizationSpecification,
                                   "pgtenant: user \"" + login().username + "\" is not an admin; database \"" +
                                       std::string(kAdminDatabase) + "\" is pgtenant's admin console",
                                   "Admins are the users listed under admin.users in pgtenant's configuration.");
    LogInfo("session", "refused user \"" + login().username + "\": not an admin");
    AuditTenantRefused("not_an_admin", refused);
    end_reason_ = "tenant_refused";
    Terminate(refused);
    return;
  }
  admin_console_ = host_->OpenConsole(this, login().username, client_address_, session_id());
  const std::string& application_name = login().application_name();
  // What psql and libpq expect of a server (section 55.2.1); the console talks UTF8 and ISO dates.
  std::string out;
  const std::pair<const char*, std::string> params[] = {
      {"server_version", "15.0 (pgtenant " + std::string(kBuildVersion) + " admin console)"},
      {"server_encoding", "UTF8"},
      {"client_encoding", "UTF8"},
      {"DateStyle", "ISO, MDY"},
      {"IntervalStyle", "postgres"},
      {"TimeZone", "UTC"},
      {"integer_datetimes", "on"},
      {"standard_conforming_strings", "on"},
      {"is_superuser", "off"},
      {"session_authorization", login().username},
      {"application_name", application_name},
  };
  for (const auto& [name, value] : params) protocol::AppendParameterStatus(out, name, value);
  // Cancel requests are not served by the console: the key matches nothing.
  protocol::AppendBackendKeyData(out, protocol::RandomInt32() & 0x7fffffff, protocol::RandomInt32());
  protocol::AppendReadyForQuery(out, protocol::TransactionStatus::kIdle);
  if (!Send(out)) return;
  handshake_done_ = true;
  LogInfo("admin", "user \"" + login().username + "\" opened the admin console from " + client_address_);
  if (host_->auditing()) {
    policy::AuditEvent event = NewAuditEvent(policy::AuditEventType::kConnectionAccepted);
    event.fields = {{"backend", ""}, {"isolation", "admin_console"}, {"tls", tls_ != nullptr ? "true" : "false"}};
    host_->Audit(std::move(event));
  }
  TransitionTo(State::kActive);
  Resume(kPausePending);
}

bool ClientSession::HeldByAdmin() {
  if (route_->tenant == nullptr || !host_->admin().IsPaused(route_->tenant->name)) return false;
  if (!admin_held_) {
    admin_held_ = true;
    host_->admin().Hold(this, route_->tenant->name);
  }
  Pause(kPauseAdmin);  // under transaction pooling the caller gives a clean server back (ForwardClientMessages)
  return true;
}

void ClientSession::OnAdminResume() {
  admin_held_ = false;
  Resume(kPauseAdmin);
}

void ClientSession::KillByAdmin(const std::string& command) {
  end_reason_ = "admin_kill";
  Terminate(Status::Error(sqlstate::kAdminShutdown,
                          "pgtenant: terminating connection due to administrator command \"" + command + "\"",
                          "An administrator closed this tenant's connections from pgtenant's admin console."));
}

bool ClientSession::SendAdminReply(std::string_view bytes) {
  if (state_ == State::kClosing) return false;
  return Send(bytes);
}

void ClientSession::OnAdminCommandDone() {
  if (state_ != State::kClosing && !carry_.empty()) HandleBytes({});
}

ClientView ClientSession::Describe() const {
  ClientView view;
  view.id = id();
  view.ptr = this;
  view.server_ptr = server_;
  view.prepared_statements = relay_.client_statement_count();
  view.local_address = LocalAddress(&socket_);
  view.session_id = session_id();
  view.user = login().username;
  view.tenant = tenant_name();
  view.database = login().identity.database;
  view.address = client_address_;
  view.admin = admin_console_ != nullptr;
  view.tls = tls_ != nullptr;
  view.in_transaction = in_transaction();
  view.connected_at = accepted_at_;
  view.last_request = last_activity_;
  if (pool_ != nullptr) view.pool = pool_->name();
  view.application_name = login().application_name();
  switch (state_) {
    case State::kStartup:
    case State::kAuthenticating:
      view.state = "login";
      break;
    case State::kWaitingForServer:
      view.state = "waiting";
      view.waiting = true;
      view.waiting_since = state_since_;
      break;
    case State::kPreparingServer:
      view.state = "active";
      break;
    case State::kActive:
      view.state = view.admin ? "admin" : in_transaction() ? "active" : "idle";
      break;
    case State::kClosing:
      view.state = "closing";
      break;
  }
  if (std::optional<Clock::time_point> held = host_->admin().HeldSince(this)) {
    view.state = "waiting";
    view.waiting = true;
    view.waiting_since = *held;
  }
  return view;
}

}  // namespace pgtenant::proxy
