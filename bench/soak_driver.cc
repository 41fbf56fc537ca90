// soak_driver: the client side of bench/soak — mixed tenants through pgtenant for a while, with random
// disconnects, cancels and blocked statements, checking every transaction's isolation (issue 8, item 4).
//
// Usage: soak_driver --port P --password PW --seconds S [--clients N] [--think-ms M] [--seed X]
//                    [--proxy-pid PID] [--audit FILE] [--max-rss-growth-kb K]
//                    --tenant NAME:UUID:rls|schema[:SCHEMA] ...   (at least two)
// Clients log in as soak.<tenant> (one user, member of every tenant). Each client thread loops over
// random actions (connection to a random tenant, re-chosen on every reconnect):
//   - a read-write transaction: BEGIN; its context (current_setting of the tenant setting, search_path);
//     INSERT a row; read every row of `items`; sometimes DELETE old rows; COMMIT or ROLLBACK
//   - the same checks in autocommit and with the extended protocol (PQexecParams, PQprepare)
//   - a statement pgtenant must block (SET of the tenant setting, set_config(), RESET ALL, another
//     tenant's schema; simple and extended protocol, in and out of transactions): ERROR 42501 expected
//   - a pg_sleep cancelled with PQcancel after a random delay
//   - an abrupt disconnect (socket shut down) mid-transaction, mid-query or mid-COPY (FROM STDIN for
//     schema tenants, TO STDOUT read in part for RLS ones, where COPY FROM is refused); the
//     rows it wrote are marked 'abandoned' and must never be seen committed
//   - a polite disconnect, then a new connection to another random tenant
// Prints a progress line every minute (stderr) and the report (stdout). Exit status 1 when a must-be
// condition fails: rows of another tenant seen, a wrong context, an abandoned row seen, a blocked
// statement that passed, blocked statements refused != audit statement_blocked events, a client hung,
// or pgtenant's RSS grew more than --max-rss-growth-kb from the end of the warm-up to the end.
#include <libpq-fe.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Tenant {
  std::string name;
  std::string id;
  bool schema_mode = false;
  std::string schema;
};

struct Options {
  int port = 0;
  std::string password;
  double seconds = 0;
  int clients = 16;
  int think_ms = 5;
  uint64_t seed = 0;
  long proxy_pid = 0;
  std::string audit_path;
  long max_rss_growth_kb = 32768;
  std::vector<Tenant> tenants;
};

// Counters shared by every client thread.
struct Stats {
  std::atomic<uint64_t> committed{0}, rolled_back{0}, autocommit_reads{0}, extended_checks{0};
  std::atomic<uint64_t> rows_checked{0}, cross_tenant_rows{0}, context_mismatches{0}, abandoned_rows_seen{0};
  std::atomic<uint64_t> connects{0}, connect_failures{0}, polite_disconnects{0}, connections_lost{0};
  std::atomic<uint64_t> abrupt_mid_transaction{0}, abrupt_mid_query{0}, abrupt_mid_copy{0};
  std::atomic<uint64_t> cancels_sent{0}, cancelled{0}, cancel_too_late{0}, stray_cancels{0};
  std::atomic<uint64_t> blocked_sent{0}, blocked_refused{0}, blocked_passed{0}, blocked_other_error{0};

  std::mutex mu;
  std::map<std::string, uint64_t> errors;           // GUARDED_BY(mu): SQLSTATE (or "connection") -> count
  std::map<std::string, std::string> error_example;  // GUARDED_BY(mu): SQLSTATE -> its first message
  std::map<std::string, uint64_t> blocked_by_rule;  // GUARDED_BY(mu)
  std::vector<std::string> samples;                 // GUARDED_BY(mu): first few failures of must-be checks

  void Error(const std::string& what, const std::string& example = "") {
    std::lock_guard<std::mutex> lock(mu);
    const std::string key = what.empty() ? "(none)" : what;
    ++errors[key];
    if (!example.empty() && error_example.count(key) == 0) error_example[key] = example;
  }
  void Error(const PGresult* r) {
    if (r == nullptr) return Error("no result");
    const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char* message = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    Error(state == nullptr ? "connection" : state, message == nullptr ? PQresultErrorMessage(r) : message);
  }
  void Sample(const std::string& text) {
    std::lock_guard<std::mutex> lock(mu);
    if (samples.size() < 20) samples.push_back(text);
  }
};

Stats g_stats;
std::atomic<bool> g_stop{false};

struct ResultCloser {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultCloser>;

std::string Sqlstate(const PGresult* r) {
  const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  return s == nullptr ? "" : s;
}
std::string Message(const PGresult* r) {
  const char* s = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
  return s == nullptr ? PQresultErrorMessage(r) : s;
}
bool Ok(const PGresult* r) {
  const ExecStatusType s = PQresultStatus(r);
  return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

long RssKb(long pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

uint64_t AuditBlockedEvents(const std::string& path) {
  if (path.empty()) return 0;
  std::ifstream in(path);
  std::string line;
  uint64_t n = 0;
  while (std::getline(in, line)) {
    if (line.find("\"type\":\"statement_blocked\"") != std::string::npos) ++n;
  }
  return n;
}

// One client: its connection, its tenant, its random stream.
class Client {
 public:
  Client(const Options& options, uint64_t seed, std::atomic<int64_t>* heartbeat)
      : options_(options), random_(seed), heartbeat_(heartbeat) {}
  ~Client() { Close(); }

  void Run() {
    while (!g_stop.load()) {
      Beat();
      if (conn_ == nullptr && !Open()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        continue;
      }
      const int action = static_cast<int>(Below(100));
      last_action_ = next_action_;
      next_action_ = ActionName(action);
      if (action < 45) {
        Transaction();
      } else if (action < 55) {
        AutocommitRead();
      } else if (action < 63) {
        ExtendedRead();
      } else if (action < 75) {
        Blocked();
      } else if (action < 83) {
        Cancel();
      } else if (action < 89) {
        AbruptDisconnect();
      } else if (action < 93) {
        ++g_stats.polite_disconnects;
        Close();
      } else {
        ContextOnly();
      }
      if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_BAD) {
        ++g_stats.connections_lost;
        g_stats.Error("connection lost");
        Close();
      }
      if (options_.think_ms > 0) {
        std::this_thread::sleep_for(std::chrono::microseconds(Below(2000 * static_cast<uint64_t>(options_.think_ms))));
      }
    }
    Close();
  }

 private:
  uint64_t Below(uint64_t n) { return random_() % n; }
  static const char* ActionName(int action) {
    if (action < 45) return "transaction";
    if (action < 55) return "autocommit read";
    if (action < 63) return "extended read";
    if (action < 75) return "blocked";
    if (action < 83) return "cancel";
    if (action < 89) return "abrupt disconnect";
    if (action < 93) return "polite disconnect";
    return "context";
  }
  void Beat() { heartbeat_->store(std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count()); }

  bool Open() {
    tenant_ = &options_.tenants[Below(options_.tenants.size())];
    const std::string conninfo = "host=127.0.0.1 port=" + std::to_string(options_.port) + " user=soak." +
                                 tenant_->name + " password=" + options_.password +
                                 " dbname=soak sslmode=disable gssencmode=disable connect_timeout=10"
                                 " application_name=soak";
    conn_ = PQconnectdb(conninfo.c_str());
    ++g_stats.connects;
    if (PQstatus(conn_) != CONNECTION_OK) {
      ++g_stats.connect_failures;
      std::string message = PQerrorMessage(conn_);
      g_stats.Error("connect: " + message.substr(0, message.find('\n')));
      PQfinish(conn_);
      conn_ = nullptr;
      return false;
    }
    PQsetErrorVerbosity(conn_, PQERRORS_VERBOSE);
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
    return true;
  }

  void Close() {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = nullptr;
    prepared_ = false;
  }

  // Runs a statement; on an error, counts its SQLSTATE and returns null.
  Result Exec(const std::string& sql) {
    Result r(PQexec(conn_, sql.c_str()));
    if (r == nullptr) {
      g_stats.Error("no result");
      return nullptr;
    }
    if (!Ok(r.get())) {
      g_stats.Error(r.get());
      // Only Cancel() cancels: a 57014 elsewhere is a cancel request that reached the wrong query.
      if (Sqlstate(r.get()) == "57014") {
        ++g_stats.stray_cancels;
        g_stats.Sample("tenant " + tenant_->name + ": '" + sql + "' was cancelled (previous action: " + last_action_ +
                       ")");
      }
      return nullptr;
    }
    return r;
  }

  void Rollback() {
    if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) != PQTRANS_IDLE) {
      Result r(PQexec(conn_, "ROLLBACK"));
    }
  }

  // The context row: tenant setting and search_path. Checks both against the tenant.
  bool CheckContext(const PGresult* r, int row = 0) {
    const std::string setting = PQgetvalue(r, row, 0);
    const std::string search_path = PQgetvalue(r, row, 1);
    bool ok = setting == tenant_->id;
    if (tenant_->schema_mode && search_path.find(tenant_->schema) == std::string::npos) ok = false;
    if (!ok) {
      ++g_stats.context_mismatches;
      g_stats.Sample("tenant " + tenant_->name + " saw context '" + setting + "', search_path '" + search_path + "'");
    }
    return ok;
  }

  // Every row of `r` (org_id, payload) must be the tenant's and none may be abandoned.
  void CheckRows(const PGresult* r) {
    for (int i = 0; i < PQntuples(r); ++i) {
      ++g_stats.rows_checked;
      const std::string org = PQgetvalue(r, i, 0);
      const std::string payload = PQgetvalue(r, i, 1);
      if (org != tenant_->id) {
        ++g_stats.cross_tenant_rows;
        g_stats.Sample("tenant " + tenant_->name + " saw a row of " + org + ": " + payload);
      }
      if (payload.rfind("abandoned", 0) == 0) {
        ++g_stats.abandoned_rows_seen;
        g_stats.Sample("tenant " + tenant_->name + " saw an abandoned row: " + payload);
      }
    }
  }

  static constexpr char kContextSql[] =
      "SELECT current_setting('app.current_organization_id', true), current_setting('search_path')";

  void Transaction() {
    if (!Exec("BEGIN")) return Rollback();
    Result context = Exec(kContextSql);
    if (!context) return Rollback();
    CheckContext(context.get());
    if (!Exec("INSERT INTO items (org_id, payload) VALUES ('" + tenant_->id + "', 'soak " + tenant_->name + "')"))
      return Rollback();
    Result rows = Exec("SELECT org_id::text, payload FROM items");
    if (!rows) return Rollback();
    CheckRows(rows.get());
    if (Below(10) == 0 && !Exec("DELETE FROM items WHERE id < (SELECT max(id) - 100 FROM items)")) return Rollback();
    if (Below(5) == 0) {
      if (Exec("ROLLBACK")) ++g_stats.rolled_back;
    } else if (Exec("COMMIT")) {
      ++g_stats.committed;
    }
  }

  void AutocommitRead() {
    Result rows = Exec("SELECT org_id::text, payload FROM items");
    if (!rows) return;
    CheckRows(rows.get());
    ++g_stats.autocommit_reads;
  }

  void ContextOnly() {
    Result context = Exec(kContextSql);
    if (context) CheckContext(context.get());
  }

  // Extended protocol: a parameterised count of foreign rows (must be 0), and a named prepared statement.
  void ExtendedRead() {
    const char* params[1] = {tenant_->id.c_str()};
    Result foreign(PQexecParams(conn_,
                                "SELECT count(*) FILTER (WHERE org_id <> $1::uuid), "
                                "count(*) FILTER (WHERE payload LIKE 'abandoned%') FROM items",
                                1, nullptr, params, nullptr, nullptr, 0));
    if (!foreign || !Ok(foreign.get())) {
      g_stats.Error(foreign.get());
      return;
    }
    const long others = std::strtol(PQgetvalue(foreign.get(), 0, 0), nullptr, 10);
    const long abandoned = std::strtol(PQgetvalue(foreign.get(), 0, 1), nullptr, 10);
    if (others != 0) {
      g_stats.cross_tenant_rows += static_cast<uint64_t>(others);
      g_stats.Sample("tenant " + tenant_->name + " counted " + std::to_string(others) + " foreign rows");
    }
    if (abandoned != 0) {
      g_stats.abandoned_rows_seen += static_cast<uint64_t>(abandoned);
      g_stats.Sample("tenant " + tenant_->name + " counted " + std::to_string(abandoned) + " abandoned rows");
    }
    // A named statement per connection, prepared once (pgtenant maps it onto pooled server connections).
    if (!prepared_) {
      Result prepared(PQprepare(conn_, "soak_context", kContextSql, 0, nullptr));
      if (!prepared || !Ok(prepared.get())) {
        g_stats.Error(prepared.get());
        return;
      }
      prepared_ = true;
    }
    Result context(PQexecPrepared(conn_, "soak_context", 0, nullptr, nullptr, nullptr, 0));
    if (!context || !Ok(context.get())) {
      g_stats.Error(context.get());
      return;
    }
    CheckContext(context.get());
    ++g_stats.extended_checks;
  }

  const Tenant* OtherTenant() {
    for (;;) {
      const Tenant* t = &options_.tenants[Below(options_.tenants.size())];
      if (t != tenant_) return t;
    }
  }
  const Tenant* OtherSchemaTenant() {
    std::vector<const Tenant*> others;
    for (const Tenant& t : options_.tenants)
      if (t.schema_mode && &t != tenant_) others.push_back(&t);
    return others.empty() ? nullptr : others[Below(others.size())];
  }

  // A statement the policy must refuse with 42501 and audit; counted by rule.
  void Blocked() {
    const Tenant* other = OtherTenant();
    const bool in_transaction = Below(4) == 0;
    if (in_transaction && !Exec("BEGIN")) return Rollback();
    Result r;
    const uint64_t kind = Below(7);
    if (kind == 0) {
      r.reset(PQexec(conn_, ("SET app.current_organization_id = '" + other->id + "'").c_str()));
    } else if (kind == 1) {
      r.reset(PQexec(conn_, ("SELECT set_config('app.current_organization_id', '" + other->id + "', false)").c_str()));
    } else if (kind == 2) {
      r.reset(PQexec(conn_, "RESET ALL"));
    } else if (kind == 3) {
      const char* params[2] = {"app.current_organization_id", other->id.c_str()};
      r.reset(PQexecParams(conn_, "SELECT set_config($1, $2, true)", 2, nullptr, params, nullptr, nullptr, 0));
    } else if (kind == 4) {
      r.reset(PQexec(conn_, ("SET LOCAL app.current_organization_id TO '" + other->id + "'").c_str()));
    } else if (kind == 5) {
      const std::string sql = "SELECT org_id::text, payload FROM items WHERE payload = (SELECT "
                              "pg_catalog.set_config('app.current_organization_id', '" + other->id + "', true))";
      r.reset(PQexec(conn_, sql.c_str()));
    } else {
      const Tenant* schema_tenant = OtherSchemaTenant();
      if (schema_tenant == nullptr) {
        r.reset(PQexec(conn_, "DISCARD ALL"));
      } else {
        r.reset(PQexec(conn_, ("SELECT org_id::text, payload FROM " + schema_tenant->schema + ".items").c_str()));
      }
    }
    ++g_stats.blocked_sent;
    if (r == nullptr) {
      g_stats.Error("no result");
    } else if (Ok(r.get())) {
      ++g_stats.blocked_passed;
      g_stats.Sample("tenant " + tenant_->name + ": blocked statement kind " + std::to_string(kind) + " passed");
      if (PQnfields(r.get()) == 2) CheckRows(r.get());
    } else if (Sqlstate(r.get()) == "42501" && Message(r.get()).rfind("pgtenant: blocked by rule ", 0) == 0) {
      ++g_stats.blocked_refused;
      const std::string message = Message(r.get());
      const size_t start = std::strlen("pgtenant: blocked by rule ");
      std::lock_guard<std::mutex> lock(g_stats.mu);
      ++g_stats.blocked_by_rule[message.substr(start, message.find(':', start) - start)];
    } else {
      ++g_stats.blocked_other_error;
      g_stats.Error(r.get());
    }
    if (in_transaction) Rollback();
    // The session must still carry its own context after the refusal.
    ContextOnly();
  }

  // A pg_sleep cancelled with PQcancel after a random delay (sometimes inside a transaction).
  void Cancel() {
    const bool in_transaction = Below(3) == 0;
    if (in_transaction && !Exec("BEGIN")) return Rollback();
    if (PQsendQuery(conn_, "SELECT pg_sleep(3)") != 1) {
      g_stats.Error("connection");
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + Below(200)));
    PGcancel* cancel = PQgetCancel(conn_);
    char error[256] = {0};
    ++g_stats.cancels_sent;
    if (cancel == nullptr || PQcancel(cancel, error, sizeof error) != 1) g_stats.Error("cancel request failed", error);
    if (cancel != nullptr) PQfreeCancel(cancel);
    bool seen_cancel = false;
    while (Result r{PQgetResult(conn_)}) {
      if (Sqlstate(r.get()) == "57014") {
        seen_cancel = true;
      } else if (!Ok(r.get())) {
        g_stats.Error(r.get());
      }
    }
    if (seen_cancel) {
      ++g_stats.cancelled;
    } else {
      ++g_stats.cancel_too_late;
    }
    if (in_transaction) Rollback();
  }

  // Writes 'abandoned' rows (or runs a query), then shuts the socket down without a Terminate.
  void AbruptDisconnect() {
    const uint64_t kind = Below(3);
    if (kind == 0) {
      if (!Exec("BEGIN")) return Rollback();
      if (!Exec("INSERT INTO items (org_id, payload) VALUES ('" + tenant_->id + "', 'abandoned " + tenant_->name + "')"))
        return Rollback();
      ++g_stats.abrupt_mid_transaction;
    } else if (kind == 1) {
      if (PQsendQuery(conn_, "SELECT pg_sleep(1)") != 1) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(Below(50)));
      ++g_stats.abrupt_mid_query;
    } else if (tenant_->schema_mode) {
      // COPY FROM is refused on tables with row-level security: schema tenants only.
      Result copy(PQexec(conn_, "COPY items (org_id, payload) FROM STDIN"));
      if (!copy || PQresultStatus(copy.get()) != PGRES_COPY_IN) return g_stats.Error(copy.get());
      std::string data;
      for (int i = 0; i < 100; ++i) data += tenant_->id + "\tabandoned copy " + tenant_->name + "\n";
      PQputCopyData(conn_, data.data(), static_cast<int>(data.size()));
      PQflush(conn_);
      ++g_stats.abrupt_mid_copy;
    } else {
      // A large COPY TO read only in part: the server is still sending when the client goes.
      Result copy(PQexec(conn_, "COPY (SELECT org_id, payload, g FROM items, generate_series(1, 2000) g) TO STDOUT"));
      if (!copy || PQresultStatus(copy.get()) != PGRES_COPY_OUT) return g_stats.Error(copy.get());
      for (int i = 0; i < 10; ++i) {
        char* row = nullptr;
        if (PQgetCopyData(conn_, &row, 0) < 0) break;
        PQfreemem(row);
      }
      ++g_stats.abrupt_mid_copy;
    }
    shutdown(PQsocket(conn_), SHUT_RDWR);
    Close();
  }

  const Options& options_;
  std::mt19937_64 random_;
  std::atomic<int64_t>* heartbeat_;
  PGconn* conn_ = nullptr;
  const Tenant* tenant_ = nullptr;
  bool prepared_ = false;
  std::string last_action_, next_action_;  // for failure samples: the previous action's number
};

bool ParseTenant(const std::string& spec, Tenant* tenant) {
  std::vector<std::string> parts;
  std::stringstream in(spec);
  std::string part;
  while (std::getline(in, part, ':')) parts.push_back(part);
  if (parts.size() < 3) return false;
  tenant->name = parts[0];
  tenant->id = parts[1];
  tenant->schema_mode = parts[2] == "schema";
  if (tenant->schema_mode) {
    if (parts.size() != 4) return false;
    tenant->schema = parts[3];
  }
  return parts[2] == "rls" || parts[2] == "schema";
}

int Usage() {
  std::fprintf(stderr,
               "usage: soak_driver --port P --password PW --seconds S [--clients N] [--think-ms M] [--seed X]\n"
               "                   [--proxy-pid PID] [--audit FILE] [--max-rss-growth-kb K]\n"
               "                   --tenant NAME:UUID:rls|schema[:SCHEMA] ...\n");
  return 2;
}

std::string Errors() {
  std::lock_guard<std::mutex> lock(g_stats.mu);
  std::string out;
  for (const auto& [state, n] : g_stats.errors) {
    out += "    " + state + ": " + std::to_string(n);
    const auto example = g_stats.error_example.find(state);
    if (example != g_stats.error_example.end()) out += " (first: " + example->second + ")";
    out += "\n";
  }
  return out.empty() ? "    none\n" : out;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  options.seed = std::random_device{}();
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return Usage();
    const std::string value = argv[++i];
    if (arg == "--port") options.port = std::atoi(value.c_str());
    else if (arg == "--password") options.password = value;
    else if (arg == "--seconds") options.seconds = std::atof(value.c_str());
    else if (arg == "--clients") options.clients = std::atoi(value.c_str());
    else if (arg == "--think-ms") options.think_ms = std::atoi(value.c_str());
    else if (arg == "--seed") options.seed = std::strtoull(value.c_str(), nullptr, 10);
    else if (arg == "--proxy-pid") options.proxy_pid = std::atol(value.c_str());
    else if (arg == "--audit") options.audit_path = value;
    else if (arg == "--max-rss-growth-kb") options.max_rss_growth_kb = std::atol(value.c_str());
    else if (arg == "--tenant") {
      Tenant tenant;
      if (!ParseTenant(value, &tenant)) return Usage();
      options.tenants.push_back(tenant);
    } else {
      return Usage();
    }
  }
  if (options.port <= 0 || options.seconds <= 0 || options.clients <= 0 || options.tenants.size() < 2) return Usage();

  std::printf("soak: %.0f s, %d clients, %zu tenants, seed %llu\n", options.seconds, options.clients,
              options.tenants.size(), static_cast<unsigned long long>(options.seed));
  std::fflush(stdout);
  const long rss_start = RssKb(options.proxy_pid);
  long rss_warm = 0;
  long rss_max = rss_start;
  const double warmup = std::min(60.0, options.seconds / 10);

  std::vector<std::atomic<int64_t>> heartbeats(static_cast<size_t>(options.clients));
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int i = 0; i < options.clients; ++i) {
    heartbeats[static_cast<size_t>(i)].store(
        std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count());
    threads.emplace_back([&options, &heartbeats, i] {
      Client client(options, options.seed + static_cast<uint64_t>(i) * 7919, &heartbeats[static_cast<size_t>(i)]);
      client.Run();
    });
  }

  // Watch: RSS, progress once a minute, clients that stop making progress.
  int64_t stalled_max = 0;
  double next_report = 60;
  for (;;) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const long rss = RssKb(options.proxy_pid);
    rss_max = std::max(rss_max, rss);
    if (rss_warm == 0 && elapsed >= warmup) rss_warm = rss;
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
    for (const auto& beat : heartbeats) stalled_max = std::max(stalled_max, now - beat.load());
    if (elapsed >= next_report) {
      next_report += 60;
      std::fprintf(stderr, "soak: %4.0f min: %llu committed, %llu blocked, %llu cancels, rss %ld kB, foreign rows %llu\n",
                   elapsed / 60, static_cast<unsigned long long>(g_stats.committed.load()),
                   static_cast<unsigned long long>(g_stats.blocked_sent.load()),
                   static_cast<unsigned long long>(g_stats.cancels_sent.load()), rss,
                   static_cast<unsigned long long>(g_stats.cross_tenant_rows.load()));
    }
    if (elapsed >= options.seconds) break;
  }
  g_stop.store(true);

  // Clients finish their current action (a cancelled pg_sleep takes at most 3 s); a client stuck for
  // 60 s is a hang: report it and leave without joining.
  const auto join_deadline = Clock::now() + std::chrono::seconds(60);
  std::atomic<int> finished{0};
  std::thread joiner([&threads, &finished] {
    for (auto& t : threads) {
      t.join();
      ++finished;
    }
  });
  while (finished.load() < options.clients && Clock::now() < join_deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const int hung = options.clients - finished.load();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  // Audit events are written by pgtenant's writer thread: give it a moment to catch up.
  uint64_t audited = AuditBlockedEvents(options.audit_path);
  for (int i = 0; i < 50 && audited < g_stats.blocked_refused.load(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    audited = AuditBlockedEvents(options.audit_path);
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));  // idle: pools settle before the last RSS sample
  const long rss_end = RssKb(options.proxy_pid);
  audited = AuditBlockedEvents(options.audit_path);
  if (rss_warm == 0) rss_warm = rss_end;

  const auto n = [](const std::atomic<uint64_t>& v) { return static_cast<unsigned long long>(v.load()); };
  std::printf("soak: ran %.1f min with %d clients over %zu tenants\n", elapsed / 60, options.clients,
              options.tenants.size());
  std::printf("  transactions: %llu committed, %llu rolled back; %llu autocommit reads, %llu extended-protocol checks\n",
              n(g_stats.committed), n(g_stats.rolled_back), n(g_stats.autocommit_reads), n(g_stats.extended_checks));
  std::printf("  rows checked: %llu\n", n(g_stats.rows_checked));
  std::printf("  connections: %llu opened (%llu failed), %llu polite disconnects, %llu lost, abrupt: %llu mid-transaction, "
              "%llu mid-query, %llu mid-COPY\n",
              n(g_stats.connects), n(g_stats.connect_failures), n(g_stats.polite_disconnects), n(g_stats.connections_lost),
              n(g_stats.abrupt_mid_transaction), n(g_stats.abrupt_mid_query), n(g_stats.abrupt_mid_copy));
  std::printf("  cancels: %llu sent, %llu cancelled (57014), %llu finished first; %llu other statements cancelled\n",
              n(g_stats.cancels_sent), n(g_stats.cancelled), n(g_stats.cancel_too_late), n(g_stats.stray_cancels));
  std::printf("  blocked statements: %llu sent, %llu refused with 42501, %llu passed, %llu other errors; by rule:",
              n(g_stats.blocked_sent), n(g_stats.blocked_refused), n(g_stats.blocked_passed),
              n(g_stats.blocked_other_error));
  {
    std::lock_guard<std::mutex> lock(g_stats.mu);
    for (const auto& [rule, count] : g_stats.blocked_by_rule) std::printf(" %s %llu", rule.c_str(), static_cast<unsigned long long>(count));
  }
  std::printf("\n  audit statement_blocked events: %llu\n", static_cast<unsigned long long>(audited));
  std::printf("  errors by SQLSTATE:\n%s", Errors().c_str());
  std::printf("  pgtenant RSS: start %ld kB, after warm-up (%.0f s) %ld kB, end %ld kB, max %ld kB\n", rss_start, warmup,
              rss_warm, rss_end, rss_max);
  std::printf("  rows of another tenant seen: %llu\n", n(g_stats.cross_tenant_rows));
  std::printf("  wrong tenant context seen: %llu\n", n(g_stats.context_mismatches));
  std::printf("  rows of abandoned transactions seen: %llu\n", n(g_stats.abandoned_rows_seen));
  std::printf("  longest client stall: %lld s; hung clients at the end: %d\n", static_cast<long long>(stalled_max), hung);

  std::vector<std::string> failures;
  if (g_stats.cross_tenant_rows.load() != 0) failures.push_back("rows of another tenant were seen");
  if (g_stats.context_mismatches.load() != 0) failures.push_back("a wrong tenant context was seen");
  if (g_stats.abandoned_rows_seen.load() != 0) failures.push_back("rows of abandoned transactions were committed");
  if (g_stats.blocked_passed.load() != 0) failures.push_back("blocked statements passed");
  if (g_stats.blocked_refused.load() != g_stats.blocked_sent.load())
    failures.push_back("not every blocked statement was refused with 42501");
  if (!options.audit_path.empty() && audited != g_stats.blocked_refused.load())
    failures.push_back("audit statement_blocked events != blocked statements refused");
  if (hung != 0 || stalled_max > 60) failures.push_back("a client hung");
  if (options.proxy_pid > 0 && rss_end - rss_warm > options.max_rss_growth_kb)
    failures.push_back("pgtenant RSS grew by " + std::to_string(rss_end - rss_warm) + " kB after the warm-up");
  if (g_stats.committed.load() == 0) failures.push_back("no transaction committed");
  {
    std::lock_guard<std::mutex> lock(g_stats.mu);
    for (const std::string& sample : g_stats.samples) std::printf("  sample: %s\n", sample.c_str());
  }
  if (failures.empty()) {
    std::printf("soak: PASS\n");
  } else {
    for (const std::string& f : failures) std::printf("soak: FAIL: %s\n", f.c_str());
  }
  std::fflush(stdout);
  if (hung != 0) std::_Exit(1);  // the hung threads cannot be joined
  joiner.join();
  return failures.empty() ? 0 : 1;
}
