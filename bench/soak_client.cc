// One soak client (bench/soak_driver.cc describes the actions): its connection, its tenant, its random
// stream, and the must-be checks of every action.
#include "bench/soak_client.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <thread>

namespace pgtenant::soak {

Stats g_stats;
std::atomic<bool> g_stop{false};

namespace {

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

}  // namespace

void RunClient(const Options& options, uint64_t seed, std::atomic<int64_t>* heartbeat) {
  Client client(options, seed, heartbeat);
  client.Run();
}

}  // namespace pgtenant::soak
