// AdminConsole: the console's message loop (simple query protocol, PostgreSQL docs 55.2.2) and
// its commands. The SHOW answers are built in admin_show.cc.
#include "proxy/admin/admin_console.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <vector>

#include "protocol/ascii_case.h"
#include "protocol/frame_reader.h"
#include "protocol/message_builder.h"
#include "protocol/sqlstate.h"
#include "protocol/wire.h"
#include "proxy/admin/admin_show.h"
#include "proxy/session/client_session.h"
#include "proxy/telemetry/log.h"
#include "proxy/worker/proxy_server.h"

namespace pgtenant::proxy {

std::unique_ptr<SessionConsole> ProxyServer::OpenConsole(ClientSession* session, std::string user,
                                                         std::string client_address, std::string session_id) {
  return std::make_unique<AdminConsole>(this, session, std::move(user), std::move(client_address),
                                        std::move(session_id));
}

namespace {

using protocol::DecodeStatus;
using protocol::FrontendTag;

// Admin commands are a few words; a longer message is not one.
constexpr uint32_t kMaxAdminMessageLength = 64 * 1024;
// PostgreSQL's undefined_object: the tenant named does not exist.
constexpr std::string_view kUndefinedObject = "42704";
// An unknown command is recorded (audit, log) by its first word only, cut to this length.
constexpr size_t kMaxRecordedWord = 32;


// Words separated by white space; "double quotes" around a word are dropped (psql users quote
// names out of habit).
std::vector<std::string> Words(std::string_view statement) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < statement.size()) {
    while (i < statement.size() && std::isspace(static_cast<unsigned char>(statement[i]))) ++i;
    size_t start = i;
    while (i < statement.size() && !std::isspace(static_cast<unsigned char>(statement[i]))) ++i;
    if (i > start) {
      std::string word(statement.substr(start, i - start));
      if (word.size() >= 2 && word.front() == '"' && word.back() == '"') word = word.substr(1, word.size() - 2);
      words.push_back(std::move(word));
    }
  }
  return words;
}

std::string CommandList() {
  std::string list;
  for (const auto& [command, description] : AdminCommandHelp()) {
    if (!list.empty()) list += ", ";
    list += command;
  }
  return list;
}

}  // namespace

AdminConsole::AdminConsole(ProxyServer* proxy, ClientSession* session, std::string user, std::string client_address,
                           std::string session_id)
    : proxy_(proxy),
      session_(session),
      user_(std::move(user)),
      client_address_(std::move(client_address)),
      session_id_(std::move(session_id)) {}

AdminConsole::~AdminConsole() { Detach(); }

void AdminConsole::Detach() {
  if (pause_) proxy_->admin().RemoveWaiter(this);
  pause_.reset();
  pending_.clear();
  detached_ = true;
}

size_t AdminConsole::OnClientBytes(std::span<const uint8_t> data) {
  size_t pos = 0;
  while (pos < data.size() && !pause_ && !detached_) {
    protocol::FrameDecode d = protocol::DecodeFrameHeader(data.subspan(pos), kMaxAdminMessageLength);
    if (d.status == DecodeStatus::kNeedMoreData) break;
    if (d.status == DecodeStatus::kInvalid) {
      session_->Terminate(d.error());
      return data.size();
    }
    if (data.size() - pos < d.header.total()) break;
    std::span<const uint8_t> body = data.subspan(pos + protocol::kHeaderSize, d.header.body_size());
    pos += d.header.total();
    switch (static_cast<FrontendTag>(d.header.tag)) {
      case FrontendTag::kQuery: {
        if (skipping_to_sync_) break;  // like PostgreSQL after an error: everything up to Sync is ignored
        auto end = std::find(body.begin(), body.end(), uint8_t{0});
        RunQuery(std::string_view(reinterpret_cast<const char*>(body.data()), static_cast<size_t>(end - body.begin())));
        break;
      }
      case FrontendTag::kSync:
        skipping_to_sync_ = false;
        protocol::AppendReadyForQuery(out_, protocol::TransactionStatus::kIdle);
        Flush();
        break;
      case FrontendTag::kTerminate:
        session_->AdminClose();
        return data.size();
      case FrontendTag::kFlush:
      case FrontendTag::kCopyData:
      case FrontendTag::kCopyDone:
      case FrontendTag::kCopyFail:
        break;  // nothing is pending and no COPY runs here
      case FrontendTag::kParse:
      case FrontendTag::kBind:
      case FrontendTag::kDescribe:
      case FrontendTag::kExecute:
      case FrontendTag::kClose:
      case FrontendTag::kFunctionCall: {
        if (skipping_to_sync_) break;
        protocol::AppendErrorResponse(
            out_, Status::Error(sqlstate::kFeatureNotSupported,
                                "pgtenant: the admin console accepts only the simple query protocol",
                                "Send commands as plain queries (psql -c, PQexec); prepared statements, "
                                "PQexecParams and function calls are not supported here."));
        if (d.header.tag == static_cast<uint8_t>(FrontendTag::kFunctionCall)) {
          protocol::AppendReadyForQuery(out_, protocol::TransactionStatus::kIdle);  // a request of its own
        } else {
          skipping_to_sync_ = true;
        }
        Flush();
        break;
      }
      default:
        session_->Terminate(Status::Error(sqlstate::kProtocolViolation,
                                          "invalid frontend message type " + std::to_string(d.header.tag)));
        return data.size();
    }
  }
  return pos;
}

void AdminConsole::RunQuery(std::string_view sql) {
  pending_.clear();
  size_t start = 0;
  while (start <= sql.size()) {
    size_t end = sql.find(';', start);
    if (end == std::string_view::npos) end = sql.size();
    std::string_view statement = sql.substr(start, end - start);
    if (!Words(statement).empty()) pending_.emplace_back(statement);
    start = end + 1;
  }
  if (pending_.empty()) {
    protocol::AppendEmptyQueryResponse(out_);
    protocol::AppendReadyForQuery(out_, protocol::TransactionStatus::kIdle);
    Flush();
    return;
  }
  RunPending();
}

void AdminConsole::RunPending() {
  while (!pending_.empty() && !detached_) {
    std::string statement = std::move(pending_.front());
    pending_.pop_front();
    Outcome outcome = Execute(statement);
    if (detached_) return;
    if (outcome == Outcome::kWaiting) {
      Flush();  // what ran before the PAUSE is answered now
      return;
    }
    if (outcome == Outcome::kFailed) pending_.clear();
    if (outcome == Outcome::kShutdown) {
      pending_.clear();
      protocol::AppendReadyForQuery(out_, protocol::TransactionStatus::kIdle);
      Flush();
      // Like SIGTERM: this session, between transactions, is told and closed with the others.
      proxy_->RequestShutdown("admin command SHUTDOWN by user \"" + user_ + "\"");
      return;
    }
  }
  protocol::AppendReadyForQuery(out_, protocol::TransactionStatus::kIdle);
  Flush();
}

AdminConsole::Outcome AdminConsole::Execute(const std::string& statement) {
  const std::vector<std::string> words = Words(statement);
  const std::string verb = protocol::AsciiUpper(words[0]);
  const std::vector<std::string> args(words.begin() + 1, words.end());
  std::string command = verb;
  for (const std::string& arg : args) command += " " + (verb == "SHOW" ? protocol::AsciiUpper(arg) : arg);

  const std::shared_ptr<const config::Config>& config = proxy_->config();
  // The tenant named by the single argument of PAUSE, RESUME, DISABLE, ENABLE and KILL.
  auto tenant_argument = [&](bool optional, std::optional<std::string>& tenant, Outcome& failed) -> bool {
    if (args.empty() && optional) return true;
    if (args.size() != 1) {
      failed = Fail(command, sqlstate::kSyntaxError,
                    "pgtenant: " + verb + (optional ? " takes at most one tenant" : " takes one tenant"),
                    "Example: " + verb + " acme" + (optional ? " (or " + verb + " alone for every tenant)" : "") + ".");
      return false;
    }
    if (config->FindTenant(args[0]) == nullptr) {
      failed = Fail(command, kUndefinedObject, "pgtenant: no tenant named \"" + args[0] + "\"",
                    "SHOW TENANTS lists the configured tenants (names are case-sensitive).");
      return false;
    }
    tenant = args[0];
    return true;
  };
  auto status_outcome = [&](const Status& s, std::string_view tag, const std::string& note = "") {
    return s.ok() ? Done(command, tag, note) : Fail(command, s.sqlstate(), s.message(), s.hint());
  };

  if (verb == "SHOW") {
    // How each worker's part becomes one answer (Table::Merge): HELP, STATS, CONFIG and VERSION
    // are the same everywhere; sessions, pools and servers each live on one worker.
    struct Item {
      const char* name;
      void (*show)(ProxyServer&, Table&);
      bool per_worker;
      size_t key_columns;
      std::vector<std::string> sum, max;
    };
    static const std::vector<Item> kShows = {
        {"HELP", &ShowHelp, false, 0, {}, {}},
        {"TENANTS", &ShowTenants, true, 1, {"current_clients"}, {}},
        {"POOLS",
         &ShowPools,
         true,
         2,
         {"cl_active", "cl_waiting", "sv_active", "sv_idle", "sv_used", "sv_login", "pools"},
         {"maxwait", "maxwait_us"}},
        {"CLIENTS", &ShowClients, true, 0, {}, {}},
        {"SERVERS", &ShowServers, true, 0, {}, {}},
        {"BACKENDS", &ShowBackends, true, 2, {"sv_open"}, {"current"}},
        {"DATABASES", &ShowDatabases, true, 1, {"current_connections"}, {}},
        {"USERS", &ShowUsers, true, 1, {"current_client_connections"}, {}},
        {"LISTS", &ShowLists, true, 1, {"items"}, {}},
        {"STATS", &ShowStats, false, 0, {}, {}},
        {"TOTALS", &ShowTotals, false, 0, {}, {}},
        {"CONFIG", &ShowConfig, false, 0, {}, {}},
        {"VERSION", &ShowVersion, false, 0, {}, {}}};
    const std::string what = args.size() == 1 ? protocol::AsciiUpper(args[0]) : "";
    for (const Item& item : kShows) {
      if (item.name != what) continue;
      Table table;
      if (item.per_worker) {
        std::vector<Table> parts(static_cast<size_t>(proxy_->group().size()));
        proxy_->group().RunOnAll(*proxy_, [&](ProxyServer& worker) {
          item.show(worker, parts[static_cast<size_t>(worker.index())]);
        });
        table = Table::Merge(std::move(parts), item.key_columns, item.sum, item.max);
      } else {
        item.show(*proxy_, table);
      }
      table.Write(out_);
      Audit(command, "ok", "");
      return Outcome::kDone;
    }
    if (args.empty())
      return Fail("SHOW", sqlstate::kSyntaxError, "pgtenant: SHOW needs an item", "Items: " + ShowItemList() + ".");
    return Fail("SHOW (unknown)", sqlstate::kSyntaxError,
                "pgtenant: unknown SHOW item \"" + args[0].substr(0, kMaxRecordedWord) + "\"",
                "Items: " + ShowItemList() + ".");
  }
  std::optional<std::string> tenant;
  Outcome failed = Outcome::kFailed;
  if (verb == "RELOAD" || verb == "SHUTDOWN") {
    if (!args.empty())
      return Fail(command, sqlstate::kSyntaxError, "pgtenant: " + verb + " takes no argument");
    if (verb == "SHUTDOWN") {
      Done(command, "SHUTDOWN");
      return Outcome::kShutdown;
    }
    Status reloaded = proxy_->Reload(user_);
    if (reloaded.ok()) return Done(command, "RELOAD");
    return Fail(command, sqlstate::kConfigFileError,
                "pgtenant: reload refused, the running configuration stays: " + reloaded.message(),
                "Fix the file and run RELOAD again.");
  }
  if (verb == "PAUSE") {
    if (!tenant_argument(true, tenant, failed)) return failed;
    Status paused = OnEveryWorker([&](AdminState& admin) { return admin.Pause(tenant); });
    if (!paused.ok()) return Fail(command, paused.sqlstate(), paused.message(), paused.hint());
    if (!TransactionsInFlight(tenant)) return Done(command, "PAUSE");
    protocol::ErrorFields notice;
    notice.severity = "NOTICE";
    notice.sqlstate = std::string(sqlstate::kSuccessfulCompletion);
    notice.message = "pgtenant: waiting for the transactions in flight to finish; new ones wait for RESUME";
    protocol::AppendNoticeResponse(out_, notice);
    pause_ = PendingPause{tenant, command};
    proxy_->admin().AddWaiter(this);
    LogInfo("admin", "user \"" + user_ + "\": " + command + ": waiting for transactions in flight");
    return Outcome::kWaiting;
  }
  if (verb == "RESUME") {
    if (!tenant_argument(true, tenant, failed)) return failed;
    return status_outcome(OnEveryWorker([&](AdminState& admin) { return admin.Resume(tenant); }), "RESUME");
  }
  if (verb == "DISABLE") {
    if (!tenant_argument(false, tenant, failed)) return failed;
    return status_outcome(OnEveryWorker([&](AdminState& admin) { return admin.Disable(*tenant); }), "DISABLE");
  }
  if (verb == "ENABLE") {
    if (!tenant_argument(false, tenant, failed)) return failed;
    return status_outcome(OnEveryWorker([&](AdminState& admin) { return admin.Enable(*tenant); }), "ENABLE");
  }
  if (verb == "KILL") {
    if (!tenant_argument(false, tenant, failed)) return failed;
    std::atomic<size_t> killed{0};
    proxy_->group().RunOnAll(*proxy_, [&](ProxyServer& worker) {
      std::vector<ClientSession*> victims;
      for (ClientSession* s : worker.sessions())
        if (s->tenant_name() == *tenant && s->state() != ClientSession::State::kClosing) victims.push_back(s);
      for (ClientSession* s : victims) s->KillByAdmin(command);
      killed += victims.size();
    });
    const std::string note = "closed " + std::to_string(killed.load()) + " client connection" +
                             (killed.load() == 1 ? "" : "s") + " of tenant " + *tenant;
    protocol::ErrorFields notice;
    notice.severity = "NOTICE";
    notice.sqlstate = std::string(sqlstate::kSuccessfulCompletion);
    notice.message = "pgtenant: " + note;
    protocol::AppendNoticeResponse(out_, notice);
    return Done(command, "KILL", note);
  }
  if (verb == "RECONNECT") {
    if (!tenant_argument(true, tenant, failed)) return failed;
    std::atomic<size_t> pools{0};
    proxy_->group().RunOnAll(*proxy_, [&](ProxyServer& worker) {
      for (const auto& [identity, pool] : worker.pools()) {
        // A shared pool serves every tenant: only RECONNECT without a tenant closes its connections.
        if (tenant ? identity.shared() || identity.tenant != *tenant : false) continue;
        pool->Reconnect();
        ++pools;
      }
    });
    return Done(command, "RECONNECT",
                std::to_string(pools.load()) + " pool" + (pools.load() == 1 ? "" : "s") + " reconnecting");
  }
  if (verb == "KILL_CLIENT") return KillClient(command, args);
  std::string first = words[0].substr(0, kMaxRecordedWord);
  return Fail("(unknown) " + protocol::AsciiUpper(first), sqlstate::kSyntaxError,
              "pgtenant: unknown admin command \"" + first + "\"", "Commands: " + CommandList() + ".");
}

AdminConsole::Outcome AdminConsole::KillClient(const std::string& command, const std::vector<std::string>& args) {
  uint64_t id = 0;
  const std::string_view text = args.size() == 1 ? std::string_view(args[0]) : std::string_view();
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (args.size() != 1 || error != std::errc() || end != text.data() + text.size() || id == 0) {
    return Fail(command, sqlstate::kSyntaxError, "pgtenant: KILL_CLIENT takes the id of one client connection",
                "SHOW CLIENTS prints each client's id; example: KILL_CLIENT 42.");
  }
  std::atomic<bool> killed{false};
  std::string user;  // of the client closed, for the note
  proxy_->group().RunOnAll(*proxy_, [&](ProxyServer& worker) {
    for (ClientSession* s : worker.sessions()) {
      if (s->id() != id || s->state() == ClientSession::State::kClosing) continue;
      if (s == session_) return;  // not the console asking
      user = s->Describe().user;
      s->KillByAdmin(command);
      killed = true;
      return;
    }
  });
  if (!killed) {
    return Fail(command, kUndefinedObject, "pgtenant: no client connection with id " + std::to_string(id),
                "SHOW CLIENTS lists the open client connections and their ids (your own console cannot be killed).");
  }
  const std::string note = "closed client connection " + std::to_string(id) + " of user \"" + user + "\"";
  protocol::ErrorFields notice;
  notice.severity = "NOTICE";
  notice.sqlstate = std::string(sqlstate::kSuccessfulCompletion);
  notice.message = "pgtenant: " + note;
  protocol::AppendNoticeResponse(out_, notice);
  return Done(command, "KILL_CLIENT", note);
}

AdminConsole::Outcome AdminConsole::Fail(const std::string& command, std::string_view sqlstate,
                                         const std::string& message, const std::string& hint) {
  protocol::AppendErrorResponse(out_, Status::Error(sqlstate, message, hint));
  LogInfo("admin", "user \"" + user_ + "\": " + command + ": " + message);
  Audit(command, "error", message);
  return Outcome::kFailed;
}

AdminConsole::Outcome AdminConsole::Done(const std::string& command, std::string_view tag, const std::string& note) {
  protocol::AppendCommandComplete(out_, tag);
  LogInfo("admin", "user \"" + user_ + "\": " + command + ": ok" + (note.empty() ? "" : " (" + note + ")"));
  Audit(command, "ok", note);
  return Outcome::kDone;
}

bool AdminConsole::TransactionsInFlight(const std::optional<std::string>& tenant) const {
  std::atomic<bool> found{false};
  proxy_->group().RunOnAll(*proxy_, [&](ProxyServer& worker) {
    for (const ClientSession* s : worker.sessions()) {
      if (s->tenant_name().empty() || (tenant && s->tenant_name() != *tenant)) continue;
      if (s->in_transaction()) found = true;
    }
  });
  return found;
}

Status AdminConsole::OnEveryWorker(const std::function<Status(AdminState&)>& change) {
  // Every worker keeps the same AdminState, so each gives the same answer; this worker's is returned.
  Status mine;
  const int self = proxy_->index();
  proxy_->group().RunOnAll(*proxy_, [&](ProxyServer& worker) {
    Status s = change(worker.admin());
    if (worker.index() == self) mine = std::move(s);
  });
  return mine;
}

void AdminConsole::OnAdminTick() {
  if (!pause_ || detached_) return;
  const PendingPause pause = *pause_;
  const bool still_paused = pause.tenant ? proxy_->admin().IsPaused(*pause.tenant) : proxy_->admin().paused_all();
  if (still_paused && TransactionsInFlight(pause.tenant)) return;
  proxy_->admin().RemoveWaiter(this);
  pause_.reset();
  if (still_paused) {
    Done(pause.command, "PAUSE");
  } else {
    Fail(pause.command, sqlstate::kQueryCanceled,
         "pgtenant: PAUSE canceled: a RESUME ran before the transactions in flight had finished");
    pending_.clear();
  }
  RunPending();
  if (!detached_ && !pause_) session_->OnAdminCommandDone();
}

void AdminConsole::Audit(const std::string& command, const std::string& result, const std::string& message) {
  if (!proxy_->auditing()) return;
  policy::AuditEvent event;
  event.type = policy::AuditEventType::kAdminCommand;
  event.user = user_;
  event.client_address = client_address_;
  event.session_id = session_id_;
  event.fields = {{"command", command}, {"result", result}};
  if (!message.empty()) event.fields.emplace_back("message", message);
  proxy_->Audit(std::move(event));
}

void AdminConsole::Flush() {
  if (out_.empty() || detached_) return;
  std::string out;
  out.swap(out_);
  session_->SendAdminReply(out);  // on failure the session closes and detaches this console
}

}  // namespace pgtenant::proxy
