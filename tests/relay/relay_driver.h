// RelayDriver: a Relay run the way ClientSession runs it, against FakeBackend servers instead of
// sockets, for the relay's tests and fuzzer. It is the RelayHost: it keeps the client's unconsumed
// bytes (carry), gets a server from a pool of two when the relay needs one (so transaction pooling
// moves the client between server connections), lets that server answer whatever reached it, and
// records what the client received and what the session was told to do.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/frame_reader.h"
#include "protocol/message_builder.h"
#include "relay/relay.h"
#include "tests/relay/fake_backend.h"

namespace pgtenant::relay::testing {

inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

class RelayDriver final : public RelayHost {
 public:
  // How server answers reach the relay: whole, or cut at `server_split` bytes (each batch).
  explicit RelayDriver(Relay::PoolMode mode, size_t server_split = 0, Relay::Limits limits = {})
      : relay_(*this, mode, limits), server_split_(server_split) {
    if (mode == Relay::PoolMode::kSession) Acquire();
  }

  // What the session is told, in order: "hold", "release", "end-of-transaction", "terminate <sqlstate>",
  // "close", "client-gone", "server-gone", "server-broken", "server-ended".
  std::vector<std::string> events;
  std::string to_client;            // every byte the client received
  std::string to_servers;           // every byte the server connections received, in order
  std::vector<std::string> judged;  // the SQL bodies the host was asked about
  std::string blocked_word = "forbidden";  // SQL containing this is blocked
  // Allowed SQL containing `rewrite_from` reaches the server with it replaced by `rewrite_to`.
  std::string rewrite_from;
  std::string rewrite_to;
  std::string channel_namespace;  // the tenant's LISTEN/NOTIFY namespace ("" : none)
  int hold_transactions = 0;       // AdmitTransaction says hold this many times
  bool shutdown_requested = false;  // OnTransactionEnd ends the session
  bool ended = false;
  // Invariant checks for the fuzzer: bytes reached a server the session did not hold.
  bool forwarded_without_server = false;
  // A server connection went back as clean while its server held part of a message (the next
  // client's first message would be read as its tail).
  bool released_mid_message = false;
  std::string shared_context_sql;  // set: the pool is shared, and this SQL sets the tenant context
  // Set: a shared pool whose server connections change tenants. Each connection carries a context
  // tag; one that does not carry `context_tag` gets these statements armed as ClientSession does
  // (TenantContextSwitch::Classify on the first message), or, for any other first message, the
  // context "in a round trip" (event "context-round-trip": nothing is sent, the tag is set).
  std::vector<std::string> context_statements;
  // False: the server role may not call currval()/lastval(); a switch resets no sequences.
  bool sequences_readable = true;
  std::string context_tag = "tenant-b";
  std::string server_context[2] = {"tenant-a", "tenant-a"};
  size_t servers_acquired = 0;

  // The client sends `bytes`; the session handles them and the servers answer until quiet.
  void ClientSends(std::string_view bytes) {
    carry_.append(bytes);
    Pump();
  }
  // RESUME after a hold.
  void Resume() { Pump(); }
  // The client's socket closes without a Terminate: the session lets go of its server.
  void ClientDisconnects() {
    if (!ended) End("client-disconnected");
  }
  // Whether server connection `i` may serve another client.
  bool server_clean(int i) const { return backends_[i].wire.IsClean(); }

  Relay& relay() { return relay_; }
  // The client's startup parameters; in session pooling the server gets them at once, as
  // ClientSession::PrepareServer does before the handshake ends.
  void Startup(const Settings& startup) {
    startup_ = {startup, StartupSettings::NextSerial()};
    relay_.settings().SetStartup(&startup_);
    if (held_ < 0) return;
    const std::string sql = relay_.settings().SyncServer(backends_[held_].wire.settings(), backends_[held_].wire.reported());
    std::string answers;
    std::string query;
    protocol::AppendQuery(query, sql);
    if (!sql.empty()) backends_[held_].backend.Receive(AsBytes(query), answers);
  }
  // What the policy would find in `sql` (the fake's statements: see fake_backend.h).
  static SessionEffects EffectsOf(std::string_view sql) {
    SessionEffects effects;
    size_t start = 0;
    while (start < sql.size()) {
      const size_t end = std::min(sql.find(';', start), sql.size());
      std::vector<std::string> words;  // the statement's words; the first two lowercase
      for (size_t pos = start; pos < end;) {
        const size_t next = std::min(sql.find(' ', pos), end);
        if (next > pos) words.emplace_back(sql.substr(pos, next - pos));
        pos = next + 1;
      }
      for (size_t i = 0; i < words.size() && i < 2; ++i)
        for (char& c : words[i]) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      const std::string verb = words.empty() ? "" : words[0];
      const std::string name = words.size() > 1 ? words[1] : "";
      if (verb == "set" && words.size() > 2) {
        const size_t first = words[2] == "to" || words[2] == "=" ? 3 : 2;
        std::string value;
        for (size_t i = first; i < words.size(); ++i) value += (i > first ? " " : "") + words[i];
        if (value.size() >= 2 && value.front() == '\'') value = value.substr(1, value.size() - 2);
        effects.push_back({SessionEffect::Kind::kSet, name, value});
      } else if (verb == "reset") {
        effects.push_back({name == "all" ? SessionEffect::Kind::kResetAll : SessionEffect::Kind::kReset,
                           name == "all" ? "" : name, ""});
      } else if (verb == "discard") {
        effects.push_back({SessionEffect::Kind::kDiscardAll, "", ""});
      } else if (verb == "deallocate") {
        effects.push_back({name == "all" ? SessionEffect::Kind::kDeallocateAll : SessionEffect::Kind::kDeallocate,
                           name == "all" ? "" : name, ""});
      } else if (verb == "rollback") {
        effects.push_back({SessionEffect::Kind::kRollback, "", ""});
      }
      start = end + 1;
    }
    return effects;
  }
  // The server connection `i` (0 or 1) of the pool.
  FakeBackend& backend(int i) { return backends_[i].backend; }
  const std::string& carry() const { return carry_; }
  FakeBackend* held_backend() { return held_ < 0 ? nullptr : &backends_[held_].backend; }
  bool holds_server() const { return held_ >= 0; }

  // RelayHost
  bool ForwardToServer(std::span<const uint8_t> bytes) override { return ToServer(bytes); }
  bool SendToServer(std::span<const uint8_t> bytes) override { return ToServer(bytes); }
  bool ForwardToClient(std::span<const uint8_t> bytes) override { return ToClient(bytes); }
  bool SendToClient(std::span<const uint8_t> bytes) override { return ToClient(bytes); }
  bool JudgeStatement(uint8_t tag, std::span<const uint8_t> body, std::string& blocked_error, SessionEffects& effects,
                      std::string& replacement) override {
    std::string sql(reinterpret_cast<const char*>(body.data()), body.size());
    judged.push_back(sql);
    if (sql.find(blocked_word) == std::string::npos) {
      if (const size_t at = rewrite_from.empty() ? std::string::npos : sql.find(rewrite_from); at != std::string::npos)
        replacement = sql.substr(0, at) + rewrite_to + sql.substr(at + rewrite_from.size());
      if (tag == 'P') sql = sql.substr(sql.find('\0') + 1);  // after the statement name
      effects = EffectsOf(sql.substr(0, sql.find('\0')));
      return true;
    }
    protocol::ErrorFields e;
    e.severity = "ERROR";
    e.sqlstate = "42501";
    e.message = "pgtenant: blocked by rule test";
    protocol::AppendErrorResponse(blocked_error, e);
    return false;
  }
  Admission AdmitTransaction(bool, bool terminating) override {
    Admission a;
    if (!terminating && hold_transactions > 0) {
      --hold_transactions;
      a.kind = Admission::Kind::kHold;
    }
    return a;
  }
  Status OnTransactionEnd() override {
    events.push_back("end-of-transaction");
    if (shutdown_requested) return Status::Error("57P01", "terminating connection due to administrator command");
    return Status();
  }
  void OnServerParameterStatus(std::span<const uint8_t>) override {}
  // Server connection i runs as process kServerPid + i; the client was given kClientPid.
  static constexpr int32_t kServerPid = 4000;
  static constexpr int32_t kClientPid = 77;
  int32_t NotifierPidForClient(int32_t server_pid) override {
    return held_ >= 0 && server_pid == kServerPid + held_ ? kClientPid : server_pid;
  }
  std::string_view SharedContextSql() const override { return shared_context_sql; }
  void OnContextSettled(bool holds) override {
    events.push_back(holds ? "context-held" : "context-unknown");
    if (holds && held_ >= 0) server_context[held_] = context_tag;
  }
  std::string ChannelNamespace() const override { return channel_namespace; }

 private:
  struct Server {
    ServerWire wire;
    FakeBackend backend;
    std::string pending;  // answers not yet given to the relay
  };

  bool ToServer(std::span<const uint8_t> bytes) {
    if (held_ < 0) {
      forwarded_without_server = true;
      return false;
    }
    Server& s = backends_[held_];
    to_servers.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (!s.backend.Receive(bytes, s.pending)) broken_backend_ = true;
    return true;
  }
  bool ToClient(std::span<const uint8_t> bytes) {
    to_client.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return true;
  }

  void Acquire() {
    // Round robin over clean servers: each transaction may land on the other connection. A shared
    // pool prefers one that carries the client's context, as ServerPool::Acquire does.
    if (!context_statements.empty())
      for (int i = 0; i < 2; ++i)
        if (server_context[i] == context_tag && backends_[i].wire.IsClean()) next_ = i;
    for (int i = 0; i < 2; ++i) {
      int candidate = (next_ + i) % 2;
      if (backends_[candidate].wire.IsClean()) {
        held_ = candidate;
        next_ = candidate + 1;
        ++servers_acquired;
        relay_.AttachServer(backends_[held_].wire);
        if (!context_statements.empty() && server_context[held_] != context_tag) ArmContext();
        return;
      }
    }
  }
  void ArmContext() {
    auto d = protocol::DecodeFrameHeader(AsBytes(carry_), protocol::kMaxMessageLength);
    const bool whole = d.status == protocol::DecodeStatus::kReady && carry_.size() >= d.header.total();
    using FirstMessage = TenantContextSwitch::FirstMessage;
    const FirstMessage first =
        whole ? TenantContextSwitch::Classify(
                    d.header.tag, AsBytes(std::string_view(carry_).substr(protocol::kHeaderSize, d.header.body_size())))
              : FirstMessage::kRoundTrip;
    if (first != FirstMessage::kRoundTrip) {
      server_context[held_] = "";
      // As routing::Route keeps them: each ended by ';'. The switch views them until it is sent.
      armed_statements_.clear();
      for (const std::string& sql : context_statements) armed_statements_.append(sql).push_back(';');
      relay_.ArmContextSwitch(armed_statements_, TenantContextSwitch::SequenceResetFor(sequences_readable, first));
      return;
    }
    events.push_back("context-round-trip");
    server_context[held_] = context_tag;
  }
  void Release() {
    relay_.DetachServer();
    if (backends_[held_].wire.IsClean() && backends_[held_].backend.pending_input() > 0) released_mid_message = true;
    held_ = -1;
  }
  void End(const char* event) {
    events.push_back(event);
    ended = true;
    if (held_ >= 0) Release();
  }
  bool Handle(Relay::Step step) {
    switch (step.outcome) {
      case Relay::Outcome::kNeedMore:
        return true;
      case Relay::Outcome::kHold:
        events.push_back("hold");
        return false;
      case Relay::Outcome::kAwaitContext:
        events.push_back("await-context");  // the server's answers come next in Pump
        return true;
      case Relay::Outcome::kReleaseServer:
        events.push_back("release");
        Release();
        return true;
      case Relay::Outcome::kTerminate:
        End("terminate");
        events.back() += " " + relay_.end_status().sqlstate();
        return false;
      case Relay::Outcome::kServerBroken:
        End("server-broken");
        return false;
      case Relay::Outcome::kServerEnded:
        End("server-ended");
        return false;
      case Relay::Outcome::kClose:
        End("close");
        return false;
      case Relay::Outcome::kClientGone:
        End("client-gone");
        return false;
      case Relay::Outcome::kServerGone:
        End("server-gone");
        return false;
    }
    return false;
  }

  // Offers the client's bytes, then the held server's answers, until neither moves.
  void Pump() {
    for (int rounds = 0; rounds < 100000 && !ended; ++rounds) {
      bool moved = false;
      if (!carry_.empty()) {
        if (relay_.needs_server()) {
          auto d = protocol::DecodeFrameHeader(AsBytes(carry_), protocol::kMaxMessageLength);
          if (d.status == protocol::DecodeStatus::kInvalid) {
            End("terminate 08P01");
            return;
          }
          if (d.status == protocol::DecodeStatus::kReady && d.header.tag == 'X') {
            End("close");
            return;
          }
          // A shared pool awaits the first message whole, as ClientSession::StartTransaction does.
          const bool whole = d.status == protocol::DecodeStatus::kReady && carry_.size() >= d.header.total();
          if (d.status == protocol::DecodeStatus::kReady && (context_statements.empty() || whole)) Acquire();
        }
        if (!relay_.needs_server()) {
          const std::string input = carry_;  // the relay may hold views into it until it returns
          Relay::Step step = relay_.OnClientBytes(AsBytes(input));
          carry_.erase(0, step.consumed);
          if (!Handle(step)) return;
          moved = moved || step.consumed > 0;
        }
      }
      if (held_ >= 0 && !backends_[held_].pending.empty()) {
        Server& s = backends_[held_];
        std::string answers;
        answers.swap(s.pending);
        std::string_view rest = answers;
        size_t offered = 0;
        std::string server_carry;
        while (offered < rest.size() || !server_carry.empty()) {
          size_t piece = server_split_ == 0 ? rest.size() - offered : std::min(server_split_, rest.size() - offered);
          server_carry.append(rest.substr(offered, piece));
          offered += piece;
          const std::string input = server_carry;
          Relay::Step step = relay_.OnServerBytes(AsBytes(input));
          server_carry.erase(0, step.consumed);
          if (!Handle(step)) return;
          if (step.outcome == Relay::Outcome::kReleaseServer) {
            // The rest stays with the released server (nothing is owed: it is empty).
            s.pending = server_carry + std::string(rest.substr(offered));
            break;
          }
          if (step.consumed == 0 && offered == rest.size()) {
            s.pending = server_carry;  // an incomplete message: wait for more (cannot happen here)
            break;
          }
        }
        moved = true;
      }
      if (broken_backend_) {
        End("server-broken");
        return;
      }
      if (!moved) return;
    }
  }

  std::string armed_statements_;  // what an armed tenant switch views (ArmContext)
  Relay relay_;
  size_t server_split_;
  Server backends_[2];
  int held_ = -1;
  int next_ = 0;
  bool broken_backend_ = false;
  std::string carry_;
  StartupSettings startup_;  // the client's startup parameters (the session's login holds them)
};

}  // namespace pgtenant::relay::testing
