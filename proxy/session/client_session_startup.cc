// ClientSession from the startup packet to a routed session: startup parameters, authentication
// (SCRAM, md5, trust; cert and JWT in client_session_tls.cc), routing, and admission on the worker
// that owns the route's pool.
#include <algorithm>
#include <cctype>

#include "protocol/frame_reader.h"
#include "protocol/message_builder.h"
#include "protocol/message_reader.h"
#include "protocol/sqlstate.h"
#include "protocol/wire.h"
#include "proxy/session/client_session.h"
#include "proxy/telemetry/log.h"
#include "proxy/session/admin_state.h"
#include "routing/startup_options.h"
#include "relay/session_wire.h"

namespace pgtenant::proxy {

using relay::EqualsIgnoreCase;
using relay::TagName;

namespace {

using protocol::DecodeStatus;
using protocol::FrontendTag;

// Startup parameters a client may set besides the config's session_parameters; they are applied on
// the server with SET.
constexpr std::string_view kAllowedParameters[] = {"application_name", "client_encoding", "DateStyle",
                                                  "TimeZone",         "IntervalStyle",   "extra_float_digits"};
// Password-type messages are small; anything larger during authentication is an attack.
constexpr uint32_t kMaxAuthMessageLength = 8192;

// Encodings in which the bytes of ' and \ can be the second byte of a multibyte character.
bool IsSafeClientEncoding(std::string_view value) {
  std::string normalized;
  for (char c : value)
    if (std::isalnum(static_cast<unsigned char>(c))) normalized.push_back(static_cast<char>(std::toupper(c)));
  for (std::string_view unsafe : {"SJIS", "SHIFTJIS", "SHIFTJIS2004", "BIG5", "GBK", "UHC", "GB18030", "JOHAB",
                                  "WIN932", "WIN936", "WIN949", "WIN950", "CP932", "CP936", "CP949", "CP950"})
    if (normalized == unsafe) return false;
  return true;
}

}  // namespace

size_t ClientSession::HandleStartup(std::span<const uint8_t> data) {
  // A Terminate message ('X', length 4) where a startup packet belongs: a client that gives up before
  // logging in (after an SSLRequest answered 'N', for one). PostgreSQL closes without a word; read as
  // a startup packet, its length would earn a FATAL the client does not wait for.
  static constexpr uint8_t kTerminate[] = {static_cast<uint8_t>(FrontendTag::kTerminate), 0, 0, 0, 4};
  const size_t compared = std::min(data.size(), sizeof kTerminate);
  if (compared > 0 && std::equal(data.begin(), data.begin() + compared, kTerminate)) {
    if (compared < sizeof kTerminate) return 0;  // maybe Terminate: wait for its last bytes
    Close();
    return data.size();
  }
  protocol::StartupDecode d = protocol::DecodeStartupPacket(data);
  if (d.status == DecodeStatus::kNeedMoreData) return 0;
  if (d.status == DecodeStatus::kInvalid) {
    Terminate(d.error);
    return data.size();
  }
  const protocol::StartupPacket& packet = d.packet;
  switch (packet.kind) {
    case protocol::StartupKind::kSslRequest:
      return HandleSslRequest(data, d.consumed);  // 'S' and a TLS handshake, or 'N'
    case protocol::StartupKind::kGssEncRequest:
      // GSS encryption is not offered: 'N' lets the client continue (or ask for TLS instead).
      Send("N");
      return d.consumed;
    case protocol::StartupKind::kCancelRequest:
      host_->HandleCancelRequest(packet.cancel_pid, packet.cancel_key);
      Close();
      return data.size();
    case protocol::StartupKind::kStartup:
      break;
  }
  if (Status transport = CheckTransport(); !transport.ok()) {
    Terminate(transport);
    return data.size();
  }
  if (over_capacity_) {
    end_reason_ = "max_client_connections";
    Terminate(Status::Error(sqlstate::kTooManyConnections, "sorry, too many clients already",
                            "pgtenant's limits.max_client_connections is reached."));
    return data.size();
  }
  Status s = CheckStartupParameters(packet);
  if (!s.ok()) {
    Terminate(s);
    return data.size();
  }
  if (packet.protocol_version != protocol::kProtocolVersion3) {
    std::vector<std::string> unrecognized;
    for (const auto& [name, value] : packet.parameters)
      if (name.rfind("_pq_.", 0) == 0) unrecognized.push_back(name);
    std::string out;
    protocol::AppendNegotiateProtocolVersion(out, 0, unrecognized);
    if (!Send(out)) return data.size();
  }
  BeginAuthentication();
  return d.consumed;
}

Status ClientSession::CheckStartupParameters(const protocol::StartupPacket& packet) {
  ClientLogin& login = handshake_->login;
  routing::ClientIdentity& identity = login.identity;
  for (const auto& [name, value] : packet.parameters) {
    if (name == "user") {
      identity.startup_user = value;
    } else if (name == "database") {
      identity.database = value;
    } else if (name.rfind("_pq_.", 0) == 0) {
      continue;  // protocol extensions: declined in NegotiateProtocolVersion
    } else if (name == "options") {
      // Session parameters (-c TimeZone=UTC) are the client's own, as startup parameters; routing
      // judges the rest: only the tenant may be named there.
      identity.options = routing::ExtractSessionSettings(
          value, [&](std::string_view setting) { return config_->IsSessionParameter(setting); }, login.params.values);
    } else if (config_->IsSessionParameter(name)) {
      login.params.values.emplace_back(name, value);
    } else {
      auto allowed = std::find_if(std::begin(kAllowedParameters), std::end(kAllowedParameters),
                                  [&](std::string_view a) { return EqualsIgnoreCase(a, name); });
      if (allowed == std::end(kAllowedParameters)) {
        std::string hint = "Allowed startup parameters: user, database";
        for (std::string_view a : kAllowedParameters) hint.append(", ").append(a);
        for (const std::string& a : config_->session_parameters) hint.append(", ").append(a);
        return Status::Error(sqlstate::kFeatureNotSupported, "pgtenant: unsupported startup parameter \"" + name + "\"",
                             hint + ".");
      }
      if (*allowed == "client_encoding" && !IsSafeClientEncoding(value)) {
        return Status::Error(sqlstate::kFeatureNotSupported,
                             "pgtenant: client_encoding \"" + value + "\" is not supported",
                             "Use UTF8. Client-only encodings (SJIS, BIG5, GBK, UHC, GB18030, JOHAB) can hide quote "
                             "and backslash bytes inside multibyte characters, so the policy parser and the server "
                             "would read the same statement differently.");
      }
      login.params.values.emplace_back(std::string(*allowed), value);
    }
  }
  login.params.serial = relay::StartupSettings::SerialOf(login.params.values);  // final now
  if (identity.database.empty()) identity.database = identity.startup_user;
  login.username = routing::SplitLoginName(*config_, identity.startup_user).user;
  return Status::Ok();
}

void ClientSession::BeginAuthentication() {
  Handshake& h = *handshake_;
  h.user = config_->FindUser(h.login.username);
  if (BeginCredentialAuthentication()) return;
  h.auth = std::make_unique<ClientAuthenticator>(config_->auth_method, h.user, h.login.username, host_->mock_secret());
  std::string out;
  ClientAuthenticator::Step step = h.auth->Start(out);
  if (!Send(out)) return;
  if (step == ClientAuthenticator::Step::kAuthenticated) {
    Authenticated();
    return;
  }
  TransitionTo(State::kAuthenticating);
}

size_t ClientSession::HandleAuthentication(std::span<const uint8_t> data) {
  if (handshake_->awaiting_jwt) return HandleJwtPassword(data);
  protocol::FrameDecode d = protocol::DecodeFrameHeader(data, kMaxAuthMessageLength);
  if (d.status == DecodeStatus::kNeedMoreData) return 0;
  if (d.status == DecodeStatus::kInvalid) {
    Terminate(d.error());
    return data.size();
  }
  if (data.size() < d.header.total()) return 0;
  if (d.header.tag != static_cast<uint8_t>(FrontendTag::kPassword)) {
    Terminate(Status::Error(sqlstate::kProtocolViolation,
                            "expected a password response, got message type " + TagName(d.header.tag)));
    return data.size();
  }
  std::string out;
  auto step = handshake_->auth->OnPasswordMessage(data.subspan(protocol::kHeaderSize, d.header.body_size()), out);
  if (!step.ok()) {
    LogInfo("auth", "authentication failed for user \"" + login().username + "\": " + step.status().message(),
            {{"user", login().username}});
    if (host_->auditing()) {
      policy::AuditEvent event = NewAuditEvent(policy::AuditEventType::kAuthenticationFailed);
      event.fields = {{"method", std::string(config::ToString(config_->auth_method))},
                      {"sqlstate", step.status().sqlstate()},
                      {"message", step.status().message()}};
      host_->Audit(std::move(event));
    }
    end_reason_ = "authentication_failed";
    {
      auto named = routing::SplitLoginName(*config_, login().identity.startup_user).suffix_tenant;
      std::string label = named && config_->FindTenant(*named) ? *named : "unknown";
      host_->metrics().ForTenant(label)->auth_failures->Increment();
    }
    Terminate(step.status());
    return data.size();
  }
  if (!Send(out)) return data.size();
  if (*step == ClientAuthenticator::Step::kAuthenticated) Authenticated();
  return d.header.total();
}

void ClientSession::Authenticated() {
  const config::UserConfig* user = handshake_->user;
  login_ = std::make_shared<const ClientLogin>(std::move(handshake_->login));
  handshake_.reset();
  const std::string& username = login_->username;
  if (user == nullptr) {  // trust with an unknown user: still nobody we know
    Terminate(Status::Error(sqlstate::kInvalidAuthorizationSpecification,
                            "role \"" + username + "\" is not known to pgtenant"));
    return;
  }
  if (login_->identity.database == kAdminDatabase ||
      (login_->identity.database == kPgBouncerAdminDatabase && config_->IsAdmin(username))) {
    OpenAdminConsole();
    return;
  }
  auto route = host_->RouteFor(login_->identity, *config_, *user);
  if (!route.ok()) {
    LogInfo("session", "refused user \"" + username + "\": " + route.status().message(), {{"user", username}});
    AuditTenantRefused(route.status().message() == "pgtenant: tenant required" ? "no_tenant" : "not_a_member",
                       route.status());
    end_reason_ = "tenant_refused";
    Terminate(route.status());
    return;
  }
  if (Status open = host_->admin().CheckNewConnection((*route)->tenant->name); !open.ok()) {  // DISABLE
    LogInfo("session", "refused user \"" + username + "\": " + open.message(),
            {{"tenant", (*route)->tenant->name}, {"user", username}});
    AuditTenantRefused("disabled", open);
    end_reason_ = "tenant_refused";
    Terminate(open);
    return;
  }
  SetRoute(std::move(route.value()));
  const int home = host_->HomeOf(*route_);
  if (home != host_->index()) {
    MoveTo(home);
    return;
  }
  Routed();
}

void ClientSession::Routed() {
  if (!host_->AdmitTenantClient(*route_->tenant)) {
    end_reason_ = "max_clients";
    AuditTenantRefused("over_limit", Status::Error(sqlstate::kTooManyConnections, "max_clients reached"));
    Terminate(Status::Error(sqlstate::kTooManyConnections,
                            "pgtenant: too many clients for tenant \"" + route_->tenant->name + "\" (max_clients " +
                                std::to_string(route_->tenant->max_clients) + ")",
                            "Close idle connections or raise tenants." + route_->tenant->name + ".max_clients."));
    return;
  }
  admitted_ = true;
  login_ = host_->InternLogin(std::move(login_));
  tally_ = Metrics::TallyTarget(host_->metrics().ForTenant(route_->tenant->name));
  transaction_pooling_ = route_->pool.mode == config::PoolMode::kTransaction;
  relay_.Configure(transaction_pooling_ ? relay::Relay::PoolMode::kTransaction : relay::Relay::PoolMode::kSession,
                   RelayLimits());
  relay_.settings().SetStartup(&login_->params);
  pool_ = host_->PoolFor(*route_);
  TransitionTo(State::kWaitingForServer);
  state_since_ = LoopNow();
  ServerConnection* server = pool_->Acquire(this, route_->context_tag());
  if (server != nullptr) OnServerAssigned(server);
}

}  // namespace pgtenant::proxy
