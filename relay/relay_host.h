// RelayHost: what a Relay (relay/relay.h) asks of the session that runs it. The relay decides; the
// host reads, writes, closes, judges SQL with the policy engine and talks to the pool.
//
// Every call is made from inside Relay::OnClientBytes / OnServerBytes. A host must not call back
// into the relay from these methods, nor close or release anything: what the session must do next
// (terminate, close, give the server back, hold) is the Relay::Step those methods return.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "protocol/session_effect.h"
#include "protocol/status.h"

namespace pgtenant::relay {

// The host's answer when a message is about to reach a clean server (between transactions).
struct Admission {
  enum class Kind : uint8_t {
    kProceed,  // go on
    kHold,     // the transaction waits (admin PAUSE, tenant throttle): offer the bytes again later
    kRefuse,   // the session may not go on (a reload removed its access): terminate with `why`
  };
  Kind kind = Kind::kProceed;
  Status why;
};

class RelayHost {
 public:
  // Bytes for the server / the client. Forward: a range of the input being handled, which stays
  // valid until the relay call returns (a corked outbox may hold it uncopied until then). Send:
  // bytes of the relay's own, copied before the call returns. False: that peer is gone.
  virtual bool ForwardToServer(std::span<const uint8_t> bytes) = 0;
  virtual bool SendToServer(std::span<const uint8_t> bytes) = 0;
  // Send for one message of the relay's own in pieces, in order (a tenant context ahead of a client's
  // Query text: TenantContextSwitch::CarryQuery), so that none of them is copied into a buffer first.
  // A host may do better than one Send each (the server's TLS record: one, not one per piece).
  virtual bool SendPiecesToServer(std::span<const std::span<const uint8_t>> pieces) {
    for (std::span<const uint8_t> piece : pieces)
      if (!SendToServer(piece)) return false;
    return true;
  }
  virtual bool ForwardToClient(std::span<const uint8_t> bytes) = 0;
  virtual bool SendToClient(std::span<const uint8_t> bytes) = 0;

  // The policy verdict on a whole Query, Parse or FunctionCall (`body`: the message after its
  // header). True: allowed, and what the statement does to the session is appended to `effects`
  // (SET, RESET, DISCARD ALL... in text order). False: blocked, and `blocked_error` holds the
  // ErrorResponse the client gets in the statement's place (the host does its own auditing,
  // metrics and logging). An allowed statement the server must get rewritten (LISTEN/NOTIFY
  // channels in the tenant's namespace) leaves its new body in `replacement`.
  virtual bool JudgeStatement(uint8_t tag, std::span<const uint8_t> body, std::string& blocked_error,
                              protocol::SessionEffects& effects, std::string& replacement) = 0;

  // A message is about to reach a clean server. `starts_transaction`: it is the first of a
  // transaction (not a message retried after a hold); `terminating`: it is the client's Terminate.
  virtual Admission AdmitTransaction(bool starts_transaction, bool terminating) = 0;
  // ReadyForQuery left the server clean: the transaction is over. An error ends the session with it
  // (a shutdown that waited for the transaction's end).
  virtual Status OnTransactionEnd() = 0;
  // The server reported a run-time parameter (ParameterStatus body).
  virtual void OnServerParameterStatus(std::span<const uint8_t> body) = 0;
  // A NotificationResponse names the server process that raised it. Returns the process ID the
  // client sees in its place: the one the client was given in BackendKeyData when `server_pid` is
  // the server session the client holds now (so the client recognises its own notifications),
  // `server_pid` itself for any other.
  virtual int32_t NotifierPidForClient(int32_t server_pid) = 0;
  // The SQL that gives a shared server connection this client's tenant context (SET of the tenant
  // setting and of default_transaction_read_only), or "" when the server connection is the tenant's
  // own: its context is then in the server's startup packet and survives RESET ALL and DISCARD ALL.
  virtual std::string_view SharedContextSql() const = 0;
  // The transaction that carried a context switch (Relay::ArmContextSwitch) ended: `holds` when it
  // committed with no error and no ROLLBACK, so the server connection now carries this client's
  // context; otherwise what it carries is unknown.
  virtual void OnContextSettled(bool holds) = 0;
  // The tenant's LISTEN/NOTIFY namespace (policy/channel_namespace.h): notifications on channels in
  // it reach the client without it, others not at all. "" when channels pass as they are.
  virtual std::string ChannelNamespace() const = 0;

 protected:
  ~RelayHost() = default;
};

}  // namespace pgtenant::relay
