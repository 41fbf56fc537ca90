// ClientSession: preparing the server connection a session was given for its client (a shared pool's
// tenant switch, the client's parameters) and what it learns of the tenant context afterwards
// (relay/tenant_context_switch.h). The rest of the session's life is in client_session.cc.
#include "proxy/session/client_session.h"

#include <span>
#include <string>
#include <utility>

#include "policy/effective_policy.h"
#include "protocol/sqlstate.h"

namespace pgtenant::proxy {

void ClientSession::PrepareServer() {
  TransitionTo(State::kPreparingServer);
  // The hashes first: they differ at nearly every switch, and the route's text is cold.
  const bool switch_context = route_->shared_pool && (server_->context_hash() != route_->context_hash ||
                                                      server_->context_tag() != route_->context_tag());
  // Session pooling resets at release; in transaction pooling the policy keeps session state from
  // outliving a transaction (pooling.session_state), so a reset protects against nothing unless a
  // client without that rule used the connection (README: "What a shared connection keeps").
  const bool reset = switch_context && (transaction_pooling_ ? server_->wire().may_hold_session_state()
                                                             : !server_->context_tag().empty());
  if (reset) {
    // Another tenant used this connection: nothing of its session may remain.
    server_->statements().Clear();
    server_->wire().settings().Clear();
    server_->wire().NoteDiscarded();
    server_->forget_context();
    server_->RunInternalQuery("DISCARD ALL", [this](ServerConnection*, const Status& result) {
      if (!result.ok()) {
        ReleaseServer();
        Terminate(Status::Error(sqlstate::kConnectionFailure, "pgtenant: could not reset a shared server connection: " +
                                                                 result.message()));
        return;
      }
      PrepareServer();
    });
    return;
  }
  using FirstMessage = relay::TenantContextSwitch::FirstMessage;
  if (switch_context && handshake_done_ && transaction_pooling_ && first_message_ != FirstMessage::kRoundTrip &&
      !route_->context_statements().empty()) {
    // No round trip: the context goes with the client's first message (relay/tenant_context_switch.h).
    // A connection known to be read-only, or not, as this client needs gets the tenant alone: the
    // policy keeps clients from changing that (readonly.write, pooling.session_state), and a
    // connection that let session state through was reset above and carries no known context.
    std::string_view statements = route_->context_statements();
    if (!server_->context_tag().empty() && server_->context_read_only() == route_->context_read_only)
      statements = statements.substr(0, route_->context_first_length);
    // Until that transaction commits, what the connection carries is unknown.
    server_->ExpectContext(route_->context_tag(), route_->context_read_only);
    relay_.ArmContextSwitch(statements, relay::TenantContextSwitch::SequenceResetFor(server_->sequences_readable(),
                                                                                      first_message_));
    Activate();
    return;
  }
  std::string sql;
  if (switch_context) sql = route_->context_sql + ";";
  // currval() and lastval() of the previous tenant (no DISCARD ALL ran), if the clients can call them.
  if (switch_context && handshake_done_ && server_->sequences_readable())
    sql.append(relay::TenantContextSwitch::kDiscardSequences).append(";");
  // The client's parameters (startup values, and what it SET since) replace whatever the previous
  // client left. Before the handshake this runs here (the client's ParameterStatus block comes from
  // the server after it); later the relay sends it with the client's first message.
  if (!handshake_done_ || switch_context) sql += relay_.settings().SyncServer(server_->wire().settings(), server_->params());
  if (sql.empty()) {
    Activate();
    return;
  }
  // Forgotten below on failure.
  if (switch_context) server_->set_context(route_->context_tag(), route_->context_read_only);
  server_->RunInternalQuery(std::move(sql), [this](ServerConnection* server, const Status& result) {
    if (!result.ok()) {
      server->forget_context();
      // The query ran as one transaction and none of it holds: DISCARD ALL takes the server back
      // to its defaults, whatever pgtenant believed it carries.
      server_ = nullptr;
      pool_->Release(server, /*reset=*/true);
      if (result.sqlstate().starts_with("08")) {  // the server went away or stopped answering: not the client's doing
        Terminate(result);
        return;
      }
      Terminate(Status::Error(result.sqlstate().empty() ? sqlstate::kInvalidParameterValue : result.sqlstate(),
                              "invalid startup parameter: " + result.message()));
      return;
    }
    Activate();
  });
}

void ClientSession::SetRoute(std::shared_ptr<const routing::Route> route) {
  // A tenant switch armed and not sent yet views this route's context text (PrepareServer).
  if (route_ != nullptr) relay_.KeepContextText(route_);
  route_ = std::move(route);
  rate_limited_ = route_->tenant != nullptr && route_->tenant->max_transactions_per_second > 0;
  // Asked at each checkout from a shared pool; resolved here, where the route or the config changes.
  session_state_guarded_ =
      route_->shared_pool &&
      policy::ResolveEffectivePolicy(*config_, route_->tenant, route_->role).Enabled("pooling.session_state");
}

void ClientSession::OnContextSettled(bool holds) {
  if (server_ != nullptr) server_->SettleContext(holds);
}

}  // namespace pgtenant::proxy
