// SessionHost: everything a ClientSession asks of the worker it runs on, and nothing else.
//
// The worker (proxy/worker/proxy_server.h) implements it; sessions see only this interface, so the
// session code does not include the worker's or the admin console's headers (the layers are
// io, server, telemetry < session < worker < admin). Like Envoy's decoder callbacks: the session
// decides, the host owns what is shared between sessions (pools, cancel keys, tenant limits).
//
// Thread-safety: called on the host's loop thread only; a session that moves to another worker
// (HandOver) is handed the new host in ClientSession::Arrive.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "config/config.h"
#include "policy/audit_event.h"
#include "policy/policy_engine.h"
#include "protocol/status.h"
#include "proxy/session/client_login.h"
#include "proxy/telemetry/metrics.h"
#include "routing/route.h"

namespace pgtenant::proxy {

class AdminState;
class ClientSession;
class ServerPool;

// The name of the admin console's virtual database.
inline constexpr std::string_view kAdminDatabase = "pgtenant";
// PgBouncer's name for it, which tools written for PgBouncer hard-code (prometheus-pgbouncer-exporter):
// it opens the console for an admin user; for anyone else it is an ordinary database name.
inline constexpr std::string_view kPgBouncerAdminDatabase = "pgbouncer";

// An admin console as its session sees it (proxy/admin/admin_console.h).
class SessionConsole {
 public:
  virtual ~SessionConsole() = default;
  // Handles the whole messages at the front of `data` and returns the bytes consumed; 0 when a
  // message is incomplete or a command is still running: the session keeps the bytes and offers
  // them again after ClientSession::OnAdminCommandDone.
  virtual size_t OnClientBytes(std::span<const uint8_t> data) = 0;
  // The session is closing: nothing more is sent and nothing waits.
  virtual void Detach() = 0;
};

class SessionHost {
 public:
  SessionHost(const SessionHost&) = delete;
  SessionHost& operator=(const SessionHost&) = delete;

  virtual uv_loop_t* loop() = 0;
  // The newest config snapshot and its generation (reloads: 32 bits are plenty); sessions adopt it at
  // transaction boundaries.
  virtual const std::shared_ptr<const config::Config>& config() const = 0;
  virtual uint32_t config_generation() const = 0;
  virtual bool shutting_down() const = 0;
  // The SCRAM secret unknown users are challenged with (no user enumeration).
  virtual std::string_view mock_secret() const = 0;

  // Routing (ProxyServer::RouteFor), the pool of a route, the shared copy of an equal login.
  virtual Result<std::shared_ptr<const routing::Route>> RouteFor(const routing::ClientIdentity& identity,
                                                                 const config::Config& config,
                                                                 const config::UserConfig& user) = 0;
  virtual ServerPool* PoolFor(const routing::Route& route) = 0;
  virtual std::shared_ptr<const ClientLogin> InternLogin(std::shared_ptr<const ClientLogin> login) = 0;

  // Workers: this one's index and the one that owns a route's pool (proxy/worker/worker_group.h).
  virtual int index() const = 0;
  virtual int HomeOf(const routing::Route& route) = 0;
  // The session has left this worker (its socket is closing here).
  virtual void ReleaseSession(ClientSession* session) = 0;
  // Sends `session`, with `fd`, its socket's duplicate, to worker `to`, which adopts it and calls
  // ClientSession::Arrive. False if that worker has stopped: the session is no longer counted
  // anywhere, and closes `fd` and frees itself.
  virtual bool HandOver(ClientSession* session, int to, int fd) = 0;
  // The session's socket has closed; it is freed next.
  virtual void OnSessionClosed(ClientSession* session) = 0;

  // Tenant limits: max_clients (every admitted session leaves once) and the transaction rate
  // (false: `session` is resumed by ClientSession::OnThrottleLifted when a token is free).
  virtual bool AdmitTenantClient(const config::TenantConfig& tenant) = 0;
  virtual void LeaveTenant(const std::string& tenant) = 0;
  virtual bool TakeTransactionToken(const config::TenantConfig& tenant, ClientSession* session) = 0;
  virtual void CancelThrottleWait(const std::string& tenant, ClientSession* session) = 0;

  // Cancel keys: the (pid, key) a client gets, and a CancelRequest matched or passed on.
  virtual int32_t RegisterCancelTarget(ClientSession* session, int32_t* key) = 0;
  virtual void AdoptCancelTarget(ClientSession* session, int32_t pid) = 0;
  virtual void UnregisterCancelTarget(ClientSession* session, int32_t pid) = 0;
  virtual void HandleCancelRequest(int32_t pid, int32_t key) = 0;
  virtual void ForwardCancel(const config::BackendConfig& backend, int32_t pid, int32_t key) = 0;

  // Policy, with this loop's verdict memo; metrics; audit events (a no-op without sinks).
  virtual policy::PolicyEngine& policy() = 0;
  virtual policy::VerdictMemo& verdict_memo() = 0;
  virtual Metrics& metrics() = 0;
  virtual bool auditing() const = 0;
  virtual void Audit(policy::AuditEvent event) = 0;

  // Admin console: what PAUSE and DISABLE have switched, and a console for an admin's session.
  virtual AdminState& admin() = 0;
  virtual std::unique_ptr<SessionConsole> OpenConsole(ClientSession* session, std::string user,
                                                      std::string client_address, std::string session_id) = 0;

 protected:
  SessionHost() = default;
  ~SessionHost() = default;
};

}  // namespace pgtenant::proxy
