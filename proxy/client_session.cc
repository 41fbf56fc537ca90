// ClientSession: startup (protocol section 55.2.1), authentication, and forwarding (55.2.2-55.2.7).
#include "proxy/client_session.h"

#include <algorithm>
#include <cctype>

#include "protocol/frame_reader.h"
#include "protocol/message_builder.h"
#include "protocol/message_reader.h"
#include "protocol/random.h"
#include "protocol/sqlstate.h"
#include "protocol/wire.h"
#include "proxy/log.h"
#include "proxy/proxy_server.h"
#include "proxy/read_buffer.h"
#include "policy/policy_engine.h"

namespace pgtenant::proxy {

namespace {

using protocol::BackendTag;
using protocol::DecodeStatus;
using protocol::FrontendTag;

// Startup parameters a client may set; they are re-applied on the server with SET.
constexpr std::string_view kAllowedParameters[] = {"application_name", "client_encoding", "DateStyle",
                                                  "TimeZone",         "IntervalStyle",   "extra_float_digits"};
// A FunctionCall is an OID and a few arguments; anything larger is refused.
constexpr uint32_t kMaxFunctionCallLength = 1 << 20;
// Password-type messages are small; anything larger during authentication is an attack.
constexpr uint32_t kMaxAuthMessageLength = 8192;
// Client bytes held while no server is linked (libpq sends nothing then; others may pipeline).
constexpr size_t kMaxPendingClientBytes = 256 * 1024;
// A closing session whose client does not read its last error is dropped after this.
constexpr auto kCloseFlushTimeout = std::chrono::seconds(5);
// A session idle this long gives back its per-request state (TrimIdle); busy ones keep it between requests.
constexpr auto kTrimIdleAfter = std::chrono::seconds(1);

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool IsForwardableFrontendTag(uint8_t tag) {
  switch (static_cast<FrontendTag>(tag)) {
    case FrontendTag::kBind:
    case FrontendTag::kClose:
    case FrontendTag::kCopyData:
    case FrontendTag::kCopyDone:
    case FrontendTag::kCopyFail:
    case FrontendTag::kDescribe:
    case FrontendTag::kExecute:
    case FrontendTag::kFlush:
    case FrontendTag::kFunctionCall:
    case FrontendTag::kParse:
    case FrontendTag::kQuery:
    case FrontendTag::kSync:
      return true;
    default:
      return false;
  }
}

std::string QuoteLiteral(std::string_view value) {
  bool backslash = value.find('\\') != std::string_view::npos;
  std::string out = backslash ? "E'" : "'";
  for (char c : value) {
    if (c == '\'') out.push_back('\'');
    if (c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

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

std::string TagName(uint8_t tag) {
  if (std::isprint(tag)) return std::string("'") + static_cast<char>(tag) + "'";
  return std::to_string(tag);
}

}  // namespace

ClientSession::ClientSession(ProxyServer* proxy, std::shared_ptr<const config::Config> config, uint64_t id,
                             bool over_capacity)
    : proxy_(proxy),
      config_(std::move(config)),
      id_(id),
      route_(NoRoute()),
      session_tag_(static_cast<uint32_t>(protocol::RandomInt32()) >> 4),
      over_capacity_(over_capacity) {
  config_generation_ = proxy_->config_generation();
  uv_tcp_init(proxy_->loop(), &socket_);
  socket_.data = this;
  outbox_.Init(stream(), &ClientSession::OnOutboxEvent);
}

std::string ClientSession::session_id() const {
  char text[32];
  std::snprintf(text, sizeof(text), "%07x%08x", session_tag_, static_cast<uint32_t>(id_));
  return text;
}

std::shared_ptr<const routing::Route> ClientSession::NoRoute() {
  static const std::shared_ptr<const routing::Route> kNone = std::make_shared<const routing::Route>();
  return kNone;
}

void ClientSession::TransitionTo(State next) { state_ = next; }

void ClientSession::Start() {
  uv_tcp_nodelay(&socket_, 1);
  struct sockaddr_storage peer{};
  int length = sizeof(peer);
  if (uv_tcp_getpeername(&socket_, reinterpret_cast<sockaddr*>(&peer), &length) == 0) {
    char host[INET6_ADDRSTRLEN] = {0};
    if (peer.ss_family == AF_INET6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&peer);
      uv_ip6_name(a, host, sizeof(host));
      client_address_ = "[" + std::string(host) + "]:" + std::to_string(ntohs(a->sin6_port));
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&peer);
      uv_ip4_name(a, host, sizeof(host));
      client_address_ = std::string(host) + ":" + std::to_string(ntohs(a->sin_port));
    }
  }
  Resume(0);
}

policy::AuditEvent ClientSession::NewAuditEvent(policy::AuditEventType type) const {
  policy::AuditEvent event;
  event.type = type;
  if (route_->tenant != nullptr) policy::SetTenant(event, *route_->tenant);
  event.user = login().username;
  event.client_address = client_address_;
  event.session_id = session_id();
  return event;
}

void ClientSession::AuditTenantRefused(std::string reason, const Status& why) {
  if (!proxy_->auditing()) return;
  policy::AuditEvent event = NewAuditEvent(policy::AuditEventType::kTenantRefused);
  event.fields = {{"reason", std::move(reason)}, {"sqlstate", why.sqlstate()}, {"message", why.message()}};
  proxy_->Audit(std::move(event));
}

void ClientSession::Pause(unsigned reason) {
  paused_ |= reason;
  if (reading_ && paused_ != 0) {
    uv_read_stop(stream());
    reading_ = false;
  }
}

void ClientSession::Resume(unsigned reason) {
  paused_ &= ~reason;
  if (state_ == State::kClosing || paused_ != 0) return;
  if (!reading_ && uv_read_start(stream(), &AllocSharedReadBuffer, &ClientSession::OnRead) == 0) reading_ = true;
  if (!carry_.empty()) HandleBytes({});
}

bool ClientSession::Send(std::string_view bytes) {
  if (outbox_.Send(bytes)) return true;
  Close();
  return false;
}

void ClientSession::OnRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* self = static_cast<ClientSession*>(s->data);
  if (nread == 0) return;
  if (nread < 0) {
    self->Close();  // EOF or reset: the client is gone
    return;
  }
  self->last_activity_ = Clock::now();
  self->bytes_in_ += static_cast<uint64_t>(nread);
  std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread));
  if (self->tls_ != nullptr) {
    self->OnTlsBytes(bytes);
    return;
  }
  if (self->state_ == State::kStartup && self->carry_.empty() && bytes[0] == kTlsHandshakeRecordType) {
    if (self->StartDirectTls(bytes)) self->OnTlsBytes(bytes);
    return;
  }
  self->HandleBytes(bytes);
}

void ClientSession::HandleBytes(std::span<const uint8_t> data) {
  // The last authentication message and, when a server is at hand, the ParameterStatus, BackendKeyData
  // and ReadyForQuery after it go out in one write. (Once active, the server side is corked instead.)
  const bool handshake = state_ == State::kStartup || state_ == State::kAuthenticating;
  if (handshake) outbox_.Cork();
  HandleClientMessages(data);
  if (handshake && !outbox_.Uncork()) Close();
}

void ClientSession::HandleClientMessages(std::span<const uint8_t> data) {
  FeedBytes(carry_, data, [this](std::span<const uint8_t> bytes) -> size_t {
    size_t used = 0;
    while (used < bytes.size()) {
      size_t n = 0;
      switch (state_) {
        case State::kStartup:
          n = HandleStartup(bytes.subspan(used));
          break;
        case State::kAuthenticating:
          n = HandleAuthentication(bytes.subspan(used));
          break;
        case State::kActive:
          if (admin_console_ != nullptr) {
            n = admin_console_->OnClientBytes(bytes.subspan(used));
            break;
          }
          if (server_ == nullptr) {
            if (discarding_) {
              n = DiscardClientMessages(bytes.subspan(used));
              break;
            }
            if (!StartTransaction(bytes.subspan(used))) return used;
            continue;  // a server is linked: forward
          }
          n = ForwardClientMessages(bytes.subspan(used));
          break;
        case State::kClosing:
          return bytes.size();  // nothing more is read from a closing client
        default:
          break;  // held until a server is linked
      }
      if (n == 0) break;
      used += n;
    }
    return used;
  });
  if (state_ != State::kActive && state_ != State::kClosing && carry_.size() > kMaxPendingClientBytes)
    Pause(kPausePending);
}

size_t ClientSession::HandleStartup(std::span<const uint8_t> data) {
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
      proxy_->HandleCancelRequest(packet.cancel_pid, packet.cancel_key);
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
      identity.options = value;  // judged by routing: only the tenant may be named there
    } else {
      auto allowed = std::find_if(std::begin(kAllowedParameters), std::end(kAllowedParameters),
                                  [&](std::string_view a) { return EqualsIgnoreCase(a, name); });
      if (allowed == std::end(kAllowedParameters)) {
        std::string hint = "Allowed startup parameters: user, database";
        for (std::string_view a : kAllowedParameters) hint.append(", ").append(a);
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
      login.params.emplace_back(std::string(*allowed), value);
    }
  }
  if (identity.database.empty()) identity.database = identity.startup_user;
  login.username = routing::SplitLoginName(*config_, identity.startup_user).user;
  return Status::Ok();
}

void ClientSession::BeginAuthentication() {
  Handshake& h = *handshake_;
  h.user = config_->FindUser(h.login.username);
  if (BeginCredentialAuthentication()) return;
  h.auth = std::make_unique<ClientAuthenticator>(config_->auth_method, h.user, h.login.username, proxy_->mock_secret());
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
    Terminate(d.error);
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
    LogInfo("auth", "authentication failed for user \"" + login().username + "\": " + step.status().message());
    if (proxy_->auditing()) {
      policy::AuditEvent event = NewAuditEvent(policy::AuditEventType::kAuthenticationFailed);
      event.fields = {{"method", std::string(config::ToString(config_->auth_method))},
                      {"sqlstate", step.status().sqlstate()},
                      {"message", step.status().message()}};
      proxy_->Audit(std::move(event));
    }
    end_reason_ = "authentication_failed";
    {
      auto named = routing::SplitLoginName(*config_, login().identity.startup_user).suffix_tenant;
      std::string label = named && config_->FindTenant(*named) ? *named : "unknown";
      proxy_->metrics().ForTenant(label)->auth_failures->Increment();
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
  if (login_->identity.database == kAdminDatabase) {
    OpenAdminConsole();
    return;
  }
  auto route = routing::ResolveRoute(*config_, *user, login_->identity);
  if (!route.ok()) {
    LogInfo("session", "refused user \"" + username + "\": " + route.status().message());
    AuditTenantRefused(route.status().message() == "pgtenant: tenant required" ? "no_tenant" : "not_a_member",
                       route.status());
    end_reason_ = "tenant_refused";
    Terminate(route.status());
    return;
  }
  if (Status open = proxy_->admin().CheckNewConnection(route->tenant->name); !open.ok()) {  // DISABLE
    LogInfo("session", "refused user \"" + username + "\": " + open.message());
    AuditTenantRefused("disabled", open);
    end_reason_ = "tenant_refused";
    Terminate(open);
    return;
  }
  route_ = proxy_->InternRoute(std::move(route.value()));
  const int home = proxy_->group().HomeOf(*route_);
  if (home != proxy_->index()) {
    MoveTo(home);
    return;
  }
  Routed();
}

void ClientSession::Routed() {
  if (!proxy_->AdmitTenantClient(*route_->tenant)) {
    end_reason_ = "tenant_refused";
    AuditTenantRefused("over_limit", Status::Error(sqlstate::kTooManyConnections, "max_clients reached"));
    Terminate(Status::Error(sqlstate::kTooManyConnections,
                            "pgtenant: too many clients for tenant \"" + route_->tenant->name + "\" (max_clients " +
                                std::to_string(route_->tenant->max_clients) + ")",
                            "Close idle connections or raise tenants." + route_->tenant->name + ".max_clients."));
    return;
  }
  admitted_ = true;
  login_ = proxy_->InternLogin(std::move(login_));
  series_ = proxy_->metrics().ForTenant(route_->tenant->name);
  transaction_pooling_ = route_->pool.mode == config::PoolMode::kTransaction;
  session_policy_ = {config_.get(), route_->tenant, route_->role, transaction_pooling_, route_->shared_pool};
  pool_ = proxy_->PoolFor(*route_);
  TransitionTo(State::kWaitingForServer);
  wait_started_ = Clock::now();
  ServerConnection* server = pool_->Acquire(this, route_->context_tag);
  if (server != nullptr) OnServerAssigned(server);
}

void ClientSession::OnServerAssigned(ServerConnection* server) {
  if (state_ != State::kWaitingForServer) {  // cannot happen; give it back rather than leak it
    pool_->Release(server, /*reset=*/true);
    return;
  }
  server_ = server;
  series_->pool_wait_seconds->Observe(std::chrono::duration<double>(Clock::now() - wait_started_).count());
  PrepareServer();
}

void ClientSession::OnServerUnavailable(const Status& why) {
  if (state_ != State::kWaitingForServer) return;
  if (!handshake_done_) {
    Terminate(why);
    return;
  }
  // Transaction pooling: only this request fails; the session stays usable.
  TransitionTo(State::kActive);
  RejectRequest(why);
}

bool ClientSession::StartTransaction(std::span<const uint8_t> data) {
  protocol::FrameDecode d = protocol::DecodeFrameHeader(data, protocol::kMaxMessageLength);
  if (d.status == DecodeStatus::kNeedMoreData) return false;
  if (d.status == DecodeStatus::kInvalid) {
    Terminate(d.error);
    return false;
  }
  if (d.header.tag == static_cast<uint8_t>(FrontendTag::kTerminate)) {
    Close();
    return false;
  }
  if (!AdoptLatestConfig()) return false;
  if (HeldByAdmin()) return false;
  if (!TakeTransactionToken()) return false;
  TransitionTo(State::kWaitingForServer);
  wait_started_ = Clock::now();
  ServerConnection* server = pool_->Acquire(this, route_->context_tag);
  if (server != nullptr) OnServerAssigned(server);
  return state_ == State::kActive && server_ != nullptr;
}

bool ClientSession::TakeTransactionToken() {
  if (route_->tenant == nullptr || route_->tenant->max_transactions_per_second <= 0) return true;
  if (token_granted_) {
    token_granted_ = false;
    return true;
  }
  if (proxy_->TakeTransactionToken(*route_->tenant, this)) return true;
  throttled_ = true;
  Pause(kPauseThrottle);
  return false;
}

void ClientSession::OnThrottleLifted() {
  throttled_ = false;
  token_granted_ = true;
  Resume(kPauseThrottle);
}

void ClientSession::RejectRequest(const Status& why) {
  protocol::ErrorFields e;
  e.severity = "ERROR";
  e.sqlstate = why.sqlstate().empty() ? std::string(sqlstate::kInternalError) : why.sqlstate();
  e.message = why.message();
  e.hint = why.hint();
  std::string out;
  protocol::AppendErrorResponse(out, e);
  if (!Send(out)) return;
  discarding_ = true;
  c2s_remaining_ = 0;
  Resume(kPausePending);
}

size_t ClientSession::DiscardClientMessages(std::span<const uint8_t> data) {
  size_t pos = 0;
  while (pos < data.size() && discarding_) {
    if (c2s_remaining_ > 0) {
      size_t n = std::min(c2s_remaining_, data.size() - pos);
      pos += n;
      c2s_remaining_ -= n;
      continue;
    }
    protocol::FrameDecode d = protocol::DecodeFrameHeader(data.subspan(pos), protocol::kMaxMessageLength);
    if (d.status == DecodeStatus::kNeedMoreData) break;
    if (d.status == DecodeStatus::kInvalid) {
      Terminate(d.error);
      return data.size();
    }
    uint8_t tag = d.header.tag;
    if (tag == static_cast<uint8_t>(FrontendTag::kTerminate)) {
      Close();
      return data.size();
    }
    c2s_remaining_ = d.header.total();
    // The request ends at a simple Query or at Sync: ReadyForQuery tells the client so.
    if (tag == static_cast<uint8_t>(FrontendTag::kQuery) || tag == static_cast<uint8_t>(FrontendTag::kSync)) {
      std::string out;
      protocol::AppendReadyForQuery(out, protocol::TransactionStatus::kIdle);
      if (!Send(out)) return data.size();
      discarding_ = false;
      size_t n = std::min(c2s_remaining_, data.size() - pos);
      pos += n;
      c2s_remaining_ -= n;
      if (c2s_remaining_ > 0) discarding_ = true;  // finish skipping it first
    }
  }
  return pos;
}

void ClientSession::PrepareServer() {
  TransitionTo(State::kPreparingServer);
  if (route_->shared_pool && server_->context_tag() != route_->context_tag) {
    if (!server_->context_tag().empty()) {
      // Another tenant used this connection: nothing of its session may remain.
      server_->statements().Clear();
      server_->set_context_tag("");
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
  }
  std::string sql;
  bool set_context = route_->shared_pool && server_->context_tag() != route_->context_tag;
  if (set_context) sql = route_->context_sql + ";";
  for (const auto& [name, value] : login_->params) {
    auto current = std::find_if(server_->params().begin(), server_->params().end(),
                                [&](const auto& p) { return EqualsIgnoreCase(p.first, name); });
    if (current != server_->params().end() && current->second == value) continue;
    sql += "SET " + name + " = " + QuoteLiteral(value) + ";";
  }
  if (sql.empty()) {
    Activate();
    return;
  }
  if (set_context) server_->set_context_tag(route_->context_tag);  // cleared again below on failure
  server_->RunInternalQuery(std::move(sql), [this](ServerConnection* server, const Status& result) {
    if (!result.ok()) {
      server->set_context_tag("");
      ReleaseServer();
      Terminate(Status::Error(result.sqlstate().empty() ? sqlstate::kInvalidParameterValue : result.sqlstate(),
                              "invalid startup parameter: " + result.message()));
      return;
    }
    Activate();
  });
}

void ClientSession::Activate() {
  bool first = !handshake_done_;
  if (first) {
    std::string out;
    for (const auto& [name, value] : server_->params()) protocol::AppendParameterStatus(out, name, value);
    cancel_pid_ = proxy_->RegisterCancelTarget(this, &cancel_key_);
    protocol::AppendBackendKeyData(out, cancel_pid_, cancel_key_);
    protocol::AppendReadyForQuery(out, protocol::TransactionStatus::kIdle);
    if (!Send(out)) return;
    handshake_done_ = true;
    if (proxy_->auditing()) {
      policy::AuditEvent event = NewAuditEvent(policy::AuditEventType::kConnectionAccepted);
      event.fields = {{"backend", route_->backend->name},
                      {"isolation", std::string(config::ToString(route_->tenant->isolation))},
                      {"tls", "false"}};
      proxy_->Audit(std::move(event));
    }
  }
  TransitionTo(State::kActive);
  s2c_remaining_ = 0;
  if (cancel_pending_ && !first && transaction_pooling_) {
    cancel_pending_ = false;
    ReleaseServer();  // clean: nothing of the request was sent
    RejectRequest(Status::Error(sqlstate::kQueryCanceled, "canceling statement due to user request"));
    return;
  }
  server_->Link(this);
  // Transaction pooling: the server only served the handshake; idle clients hold none.
  if (first && transaction_pooling_ && server_->IsClean()) ReleaseServer();
  Resume(kPausePending);
}

size_t ClientSession::ForwardClientMessages(std::span<const uint8_t> data) {
  // What this read forwards reaches the server in one write (Outbox::Cork).
  ServerConnection* server = server_;
  server->Cork();
  const size_t pos = ForwardCorked(data);
  if (!server->Uncork() && server_ == server) {
    OnServerLost(Status::Error(sqlstate::kConnectionFailure, "could not send data to the server"));
    return data.size();
  }
  if (server_ != nullptr && server_->HasBacklog()) Pause(kPauseBackpressure);
  return pos;
}

size_t ClientSession::ForwardCorked(std::span<const uint8_t> data) {
  size_t pos = 0;
  size_t flushed = 0;
  auto flush = [&]() -> bool {
    bool ok = pos == flushed || server_->Send(data.subspan(flushed, pos - flushed));
    flushed = pos;
    return ok;
  };
  while (pos < data.size()) {
    if (c2s_remaining_ > 0) {
      size_t n = std::min(c2s_remaining_, data.size() - pos);
      pos += n;
      c2s_remaining_ -= n;
      continue;
    }
    protocol::FrameDecode d = protocol::DecodeFrameHeader(data.subspan(pos), protocol::kMaxMessageLength);
    if (d.status == DecodeStatus::kNeedMoreData) break;
    uint8_t tag = d.header.tag;
    if (d.status == DecodeStatus::kInvalid) {
      flush();
      Terminate(d.error);
      return data.size();
    }
    if (!in_transaction_ && server_->IsClean()) {
      if (!AdoptLatestConfig()) return data.size();
      if (tag != static_cast<uint8_t>(FrontendTag::kTerminate) && proxy_->admin().IsPaused(route_->tenant->name)) {
        flush();
        HeldByAdmin();  // PAUSE: this transaction starts at RESUME
        break;
      }
      in_transaction_ = true;
      transaction_started_ = Clock::now();
    }
    if (!transaction_pooling_ && route_->tenant->max_transactions_per_second > 0 && server_->IsClean() &&
        tag != static_cast<uint8_t>(FrontendTag::kTerminate) && !TakeTransactionToken()) {
      break;  // throttled: the rest waits in carry until a token frees
    }
    if (tag == static_cast<uint8_t>(FrontendTag::kTerminate)) {
      flush();
      Close();
      return data.size();
    }
    if (!IsForwardableFrontendTag(tag)) {
      flush();
      Terminate(Status::Error(sqlstate::kProtocolViolation, "invalid frontend message type " + TagName(tag)));
      return data.size();
    }
    const bool sql_bearing =
        tag == static_cast<uint8_t>(FrontendTag::kQuery) || tag == static_cast<uint8_t>(FrontendTag::kParse);
    if (sql_bearing || tag == static_cast<uint8_t>(FrontendTag::kFunctionCall)) {
      if (sql_bearing && d.header.body_size() > config_->max_query_size) {
        flush();
        Terminate(Status::Error(sqlstate::kProtocolViolation,
                                "pgtenant: statement of " + std::to_string(d.header.body_size()) +
                                    " bytes exceeds limits.max_query_size (" + std::to_string(config_->max_query_size) +
                                    " bytes)",
                                "Send large values as parameters (PQexecParams) or raise limits.max_query_size."));
        return data.size();
      }
      if (!sql_bearing && d.header.body_size() > kMaxFunctionCallLength) {
        flush();
        Terminate(Status::Error(sqlstate::kProtocolViolation, "pgtenant: FunctionCall message too large"));
        return data.size();
      }
      if (data.size() - pos < d.header.total()) break;  // SQL is judged whole before it is forwarded
      const policy::PolicyVerdict& verdict = Judge(tag, data.subspan(pos + protocol::kHeaderSize, d.header.body_size()));
      ++statements_seen_;
      series_->statements->Increment();
      if (verdict.allowed && sql_bearing && config_->audit.statements && proxy_->auditing()) {
        policy::AuditEvent event = NewAuditEvent(policy::AuditEventType::kStatement);
        event.fields = {{"fingerprint", verdict.fingerprint}, {"statement", verdict.normalized}};
        proxy_->Audit(std::move(event));
      }
      if (!verdict.allowed) {
        if (!flush() || !ForwardBlocked(tag, verdict)) {
          OnServerLost(Status::Error(sqlstate::kConnectionFailure, "could not send data to the server"));
          return data.size();
        }
        pos += d.header.total();
        flushed = pos;
        continue;
      }
    }
    if (tag == static_cast<uint8_t>(FrontendTag::kQuery) || tag == static_cast<uint8_t>(FrontendTag::kSync) ||
        tag == static_cast<uint8_t>(FrontendTag::kFunctionCall))
      ++batches_sent_;
    if (transaction_pooling_) {
      std::string to_server;
      std::string to_client;
      size_t consumed = 0;
      size_t stream_rest = 0;
      Rewrite r = RewriteForTransactionPooling(data.subspan(pos), d.header, to_server, to_client, consumed, stream_rest);
      if (r == Rewrite::kNeedMore) break;
      if (r == Rewrite::kFailed) {
        flush();
        return data.size();
      }
      if (r == Rewrite::kRewritten) {
        server_->NoteFrontendMessage(static_cast<FrontendTag>(tag));
        if (!flush() || !server_->Send(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(to_server.data()),
                                                                  to_server.size()))) {
          OnServerLost(Status::Error(sqlstate::kConnectionFailure, "could not send data to the server"));
          return data.size();
        }
        if (!to_client.empty() && !Send(to_client)) return data.size();
        pos += consumed;
        flushed = pos;
        c2s_remaining_ = stream_rest;
        continue;
      }
      if (!to_client.empty()) {
        flush();
        if (!Send(to_client)) return data.size();
      }
    }
    if (sql_bearing || tag == static_cast<uint8_t>(FrontendTag::kFunctionCall)) {
      server_->NoteFrontendMessage(static_cast<FrontendTag>(tag));
      pos += d.header.total();
      continue;
    }
    server_->NoteFrontendMessage(static_cast<FrontendTag>(tag));
    c2s_remaining_ = d.header.total();
  }
  if (!flush()) {
    OnServerLost(Status::Error(sqlstate::kConnectionFailure, "could not send data to the server"));
    return data.size();
  }
  return pos;
}

size_t ClientSession::OnServerBytes(std::span<const uint8_t> data) {
  // What this read brings goes to the client in one write, swallowed and synthesized parts and all.
  outbox_.Cork();
  const size_t pos = ForwardServerMessages(data);
  if (!outbox_.Uncork()) {
    Close();
    return data.size();
  }
  if (outbox_.HasBacklog() && server_ != nullptr) server_->PauseReading();
  return pos;
}

size_t ClientSession::ForwardServerMessages(std::span<const uint8_t> data) {
  size_t pos = 0;
  size_t flushed = 0;
  while (pos < data.size()) {
    if (s2c_remaining_ > 0) {
      size_t n = std::min(s2c_remaining_, data.size() - pos);
      pos += n;
      s2c_remaining_ -= n;
      continue;
    }
    protocol::FrameDecode d = protocol::DecodeFrameHeader(data.subspan(pos), protocol::kMaxMessageLength);
    if (d.status == DecodeStatus::kNeedMoreData) break;
    if (d.status == DecodeStatus::kInvalid) {
      if (pos > flushed) outbox_.Send(data.subspan(flushed, pos - flushed));
      ServerConnection* server = server_;
      server_ = nullptr;
      server->Unlink();
      server->Close();
      Terminate(Status::Error(sqlstate::kProtocolViolation, "pgtenant: server sent an invalid message"));
      return data.size();
    }
    uint8_t tag = d.header.tag;
    bool queued = transaction_pooling_ && exchange_ != nullptr && exchange_->responses.Completes(tag);
    bool substitute = tag == static_cast<uint8_t>(BackendTag::kErrorResponse) && HasBlockedBatch() &&
                      exchange_->blocked_batches.front().batch == batches_done_ &&
                      !exchange_->blocked_batches.front().answered;
    if (queued || substitute || tag == static_cast<uint8_t>(BackendTag::kReadyForQuery) ||
        tag == static_cast<uint8_t>(BackendTag::kParameterStatus)) {
      if (data.size() - pos < d.header.total()) break;
      auto body = data.subspan(pos + protocol::kHeaderSize, d.header.body_size());
      ResponseQueue::Outcome outcome;
      if (queued) outcome = exchange_->responses.OnServerMessage(tag);
      if (substitute) {
        // The marker failed on the server exactly where the blocked statement would have: the
        // client gets pgtenant's verdict in its place.
        if ((pos > flushed && !outbox_.Send(data.subspan(flushed, pos - flushed))) ||
            !outbox_.Send(exchange_->blocked_batches.front().error)) {
          Close();
          return data.size();
        }
        exchange_->blocked_batches.front().answered = true;
        outcome.swallow = false;
        flushed = pos + d.header.total();
      }
      for (const std::string& name : outcome.failed_parses) server_->statements().NotPrepared(name);
      if (!outcome.completed_parse.empty()) server_->statements().Prepared(outcome.completed_parse);
      if (outcome.swallow) {
        if (pos > flushed && !outbox_.Send(data.subspan(flushed, pos - flushed))) {
          Close();
          return data.size();
        }
        flushed = pos + d.header.total();
      }
      pos += d.header.total();
      if (!outcome.synthetic_after.empty()) {
        if ((pos > flushed && !outbox_.Send(data.subspan(flushed, pos - flushed))) ||
            !outbox_.Send(outcome.synthetic_after)) {
          Close();
          return data.size();
        }
        flushed = pos;
      }
      if (tag != static_cast<uint8_t>(BackendTag::kReadyForQuery) &&
          tag != static_cast<uint8_t>(BackendTag::kParameterStatus))
        continue;
      if (tag == static_cast<uint8_t>(BackendTag::kParameterStatus)) {
        auto p = protocol::ParseParameterStatus(body);
        if (p.ok()) server_->NoteParameterStatus(std::move(p->first), std::move(p->second));
        continue;
      }
      auto st = protocol::ParseReadyForQuery(body);
      server_->NoteReadyForQuery(st.ok() ? *st : protocol::TransactionStatus::kFailed);
      ++batches_done_;
      while (HasBlockedBatch() && exchange_->blocked_batches.front().batch < batches_done_)
        exchange_->blocked_batches.pop_front();
      if (in_transaction_ && server_->IsClean()) ReportTransactionEnd();
      if (shutdown_requested_ && server_->IsClean()) {
        if (pos > flushed) outbox_.Send(data.subspan(flushed, pos - flushed));
        Terminate(Status::Error(sqlstate::kAdminShutdown, "terminating connection due to administrator command"));
        return data.size();
      }
      if (transaction_pooling_ && server_->IsClean() && c2s_remaining_ == 0 && !AwaitsResponses()) {
        // The transaction is over and nothing is in flight: the server goes back to the pool.
        if (!outbox_.Send(data.subspan(flushed, pos - flushed))) {
          Close();
          return data.size();
        }
        bytes_out_ += pos;
        ReleaseServer();
        Resume(kPauseBackpressure);
        if (!carry_.empty() && paused_ == 0) HandleBytes({});
        return pos;
      }
      continue;
    }
    s2c_remaining_ = d.header.total();
  }
  if (pos > flushed && !outbox_.Send(data.subspan(flushed, pos - flushed))) {
    Close();
    return data.size();
  }
  bytes_out_ += pos;
  return pos;
}

void ClientSession::OnServerWritable() { Resume(kPauseBackpressure); }

bool ClientSession::AdoptLatestConfig() {
  // Generations only grow; a session that came from a worker that applied a reload first keeps its newer one.
  if (config_generation_ >= proxy_->config_generation()) return true;
  std::shared_ptr<const config::Config> next = proxy_->config();
  config_generation_ = proxy_->config_generation();
  const config::UserConfig* user = next->FindUser(login_->username);
  Result<routing::Route> route =
      user == nullptr ? Result<routing::Route>(Status::Error(sqlstate::kInvalidAuthorizationSpecification,
                                                             "user \"" + login_->username + "\" was removed"))
                      : routing::ResolveRoute(*next, *user, login_->identity);
  if (!route.ok()) {
    end_reason_ = "config_reload";
    Terminate(Status::Error(sqlstate::kAdminShutdown,
                            "pgtenant: this session ended because a configuration reload removed its access: " +
                                route.status().message()));
    return false;
  }
  // The tenant (and so the admission count) is the same: the identity did not change.
  config_ = std::move(next);
  route_ = proxy_->InternRoute(std::move(route.value()));
  session_policy_ = {config_.get(), route_->tenant, route_->role, transaction_pooling_, route_->shared_pool};
  if (server_ == nullptr) pool_ = proxy_->PoolFor(*route_);  // with a server held, its pool stays until release
  return true;
}

void ClientSession::BeginShutdown() {
  bool between_transactions = state_ != State::kActive || server_ == nullptr || server_->IsClean();
  if (between_transactions) {
    end_reason_ = "shutdown";
    Terminate(Status::Error(sqlstate::kAdminShutdown, "terminating connection due to administrator command"));
    return;
  }
  shutdown_requested_ = true;
}

void ClientSession::ReportTransactionEnd() {
  in_transaction_ = false;
  series_->transactions->Increment();
  series_->transaction_seconds->Observe(std::chrono::duration<double>(Clock::now() - transaction_started_).count());
  ReportBytes();
}

void ClientSession::ReportBytes() {
  if (series_ == nullptr) return;
  if (bytes_in_ > bytes_in_reported_) series_->bytes_in->Increment(static_cast<double>(bytes_in_ - bytes_in_reported_));
  if (bytes_out_ > bytes_out_reported_)
    series_->bytes_out->Increment(static_cast<double>(bytes_out_ - bytes_out_reported_));
  bytes_in_reported_ = bytes_in_;
  bytes_out_reported_ = bytes_out_;
}

void ClientSession::OnServerLost(const Status& why) {
  server_ = nullptr;  // the server connection is closing itself
  LogWarning("session", "server connection lost: " + why.message());
  Terminate(Status::Error(sqlstate::kConnectionFailure,
                          "pgtenant: server connection to backend \"" + (route_->backend ? route_->backend->name : "") +
                              "\" was lost: " + why.message(),
                          "Reconnect; pgtenant serves new connections as soon as the backend is back."));
}

void ClientSession::OnOutboxEvent(void* owner, bool ok) {
  auto* self = static_cast<ClientSession*>(owner);
  if (!ok) {
    self->close_after_flush_ = false;
    self->Close();
    return;
  }
  if (self->close_after_flush_) {
    self->close_after_flush_ = false;
    self->Close();
    return;
  }
  if (self->moving_to_ >= 0 && self->state_ != State::kClosing) {
    self->FinishMove();
    return;
  }
  if (self->server_ != nullptr && self->state_ == State::kActive) self->server_->ResumeReading();
}

void ClientSession::CancelRunningQuery() {
  // A request still queued for a pooled server connection has reached no server: cancel it here, as
  // PostgreSQL would have (ERROR 57014, the session goes on). Dropping the cancel let it run later.
  if (state_ == State::kWaitingForServer && handshake_done_ && pool_ != nullptr) {
    pool_->CancelWait(this);
    OnServerUnavailable(Status::Error(sqlstate::kQueryCanceled, "canceling statement due to user request"));
    return;
  }
  // Transaction pooling: the server is being prepared for this request (a shared connection switching
  // tenants); the request has not reached it. It is answered with 57014 once the server is ready.
  if (state_ == State::kPreparingServer && handshake_done_ && transaction_pooling_) {
    cancel_pending_ = true;
    return;
  }
  if (server_ == nullptr || state_ != State::kActive) return;
  proxy_->ForwardCancel(server_->backend(), server_->backend_pid(), server_->backend_key());
  server_->NoteCancelForwarded();
}

void ClientSession::CheckTimeouts(Clock::time_point now) {
  if (state_ == State::kClosing) {
    if (now - closing_since_ > kCloseFlushTimeout) {
      close_after_flush_ = false;
      Close();
    }
    return;
  }
  if ((state_ == State::kStartup || state_ == State::kAuthenticating) &&
      now - accepted_at_ > config_->startup_timeout) {
    Terminate(Status::Error(sqlstate::kProtocolViolation,
                            "pgtenant: startup and authentication not completed within " +
                                std::to_string(config_->startup_timeout.count()) + " ms"));
    return;
  }
  // Idle: between transactions. Under transaction pooling that is without a server at all.
  const bool idle = state_ == State::kActive && !in_transaction_ && (server_ == nullptr || server_->IsClean());
  if (!idle) return;
  if (config_->client_idle_timeout.count() > 0 && now - last_activity_ > config_->client_idle_timeout) {
    Terminate(Status::Error(sqlstate::kIdleSessionTimeout, "terminating connection due to idle-session timeout"));
    return;
  }
  if (now - last_activity_ > kTrimIdleAfter) TrimIdle();
}

void ClientSession::TrimIdle() {
  if (exchange_ != nullptr && exchange_->empty()) exchange_.reset();
  if (carry_.empty()) carry_.shrink_to_fit();
}

void ClientSession::ReleaseServer() {
  if (server_ == nullptr) return;
  ServerConnection* server = server_;
  server_ = nullptr;
  if (server->state() == ServerConnection::State::kLinked) server->Unlink();
  if (server->state() == ServerConnection::State::kInternalQuery) {
    server->Close();  // its callback points at us; a half-prepared server is not reused
    return;
  }
  pool_->Release(server, /*reset=*/!transaction_pooling_);
}

void ClientSession::Terminate(const Status& why) {
  if (state_ == State::kClosing) return;
  if (end_reason_ == "client_closed") {
    const std::string& code = why.sqlstate();
    end_reason_ = code == sqlstate::kProtocolViolation      ? "protocol_error"
                  : code == sqlstate::kAdminShutdown        ? "shutdown"
                  : code == sqlstate::kIdleSessionTimeout   ? "idle_timeout"
                  : code == sqlstate::kConnectionFailure    ? "backend_failed"
                  : code == sqlstate::kTooManyConnections   ? "no_server"
                                                            : "error";
  }
  if (tls_ != nullptr && !tls_->established()) {  // mid-handshake: the client could not read an error
    LogInfo("tls", "client " + client_address_ + ": " + why.message());
    Close();
    return;
  }
  protocol::ErrorFields e;
  e.severity = "FATAL";
  e.sqlstate = why.sqlstate().empty() ? std::string(sqlstate::kInternalError) : why.sqlstate();
  e.message = why.message();
  e.hint = why.hint();
  std::string out;
  protocol::AppendErrorResponse(out, e);
  bool sent = outbox_.Send(out) && outbox_.Uncork();
  close_after_flush_ = sent && outbox_.HasBacklog();
  Close();
}

void ClientSession::Close() {
  (void)outbox_.Uncork();  // what was sent before goes first (and may keep the socket open: close_after_flush_)
  if (state_ != State::kClosing) {
    if (state_ == State::kWaitingForServer && pool_ != nullptr) pool_->CancelWait(this);
    ReleaseServer();
    if (cancel_pid_ != 0) proxy_->UnregisterCancelTarget(this, cancel_pid_);
    cancel_pid_ = 0;
    if (throttled_) proxy_->CancelThrottleWait(route_->tenant->name, this);
    throttled_ = false;
    if (admin_held_) proxy_->admin().Forget(this);
    admin_held_ = false;
    if (admin_console_ != nullptr) admin_console_->Detach();
    if (admitted_) proxy_->LeaveTenant(route_->tenant->name);
    admitted_ = false;
    ReportBytes();
    if (handshake_done_ && proxy_->auditing()) {
      policy::AuditEvent event = NewAuditEvent(policy::AuditEventType::kSessionEnded);
      event.fields = {{"reason", std::string(end_reason_)}};
      event.numbers = {{"duration_ms", std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - accepted_at_).count()},
                       {"statements", static_cast<int64_t>(statements_seen_)},
                       {"bytes_in", static_cast<int64_t>(bytes_in_)},
                       {"bytes_out", static_cast<int64_t>(bytes_out_)},
                       {"blocked", static_cast<int64_t>(statements_blocked_)}};
      proxy_->Audit(std::move(event));
    }
    TransitionTo(State::kClosing);
    closing_since_ = Clock::now();
    Pause(kPauseBackpressure);
  }
  if (close_after_flush_) return;  // OnOutboxEvent closes once the error is written
  if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&socket_))) return;
  uv_close(reinterpret_cast<uv_handle_t*>(&socket_), &ClientSession::OnClosed);
}

void ClientSession::OnClosed(uv_handle_t* handle) noexcept {
  auto* self = static_cast<ClientSession*>(handle->data);
  self->proxy_->OnSessionClosed(self);
  delete self;
}

}  // namespace pgtenant::proxy
