// tenant_load: the many-tenants load driver of bench/run — one connection per tenant, each running a
// point SELECT against an RLS table in a loop for a fixed time, checking the owner of every row read.
//
// Usage: tenant_load --host H --port P --dbname D --password PW --tenants N --seconds S
//                    [--user PATTERN] [--set-context SETTING] [--threads T] [--rows-per-tenant K]
//                    [--protocol simple|extended] [--cpu-of PID]
// Tenant i (1..N) has the id 00000000-0000-4000-8000-<i in 12 digits> and owns the rows
// aid (i-1)*K+1 .. i*K of tenant_accounts(aid, org_id, abalance) (bench/run creates it, with an RLS
// policy on org_id = current_setting('app.current_organization_id')). Client i logs in as PATTERN
// with {i} replaced by i (default "u{i}.t{i}": user u<i> naming tenant t<i>, as pgtenant expects).
// Each transaction is one statement (simple protocol by default, like pgbench -S):
//   SELECT aid, org_id FROM tenant_accounts WHERE aid IN (<a row of its own>, <a row of another tenant>)
// and must return exactly its own row: a row of another tenant is a foreign row, the own row missing
// is a missing row; both are printed loudly and make the exit status 1, as does any error.
// --set-context SETTING: for a pooler without tenants (PgBouncer), the client sets its tenant itself
// in the same Query message, before its SELECT ("SET SETTING = '<id>'; SELECT ..."): one round trip,
// and correct under transaction pooling, where a SET made once at connect would stay on whichever
// server connection ran it and never follow the client.
// Prints one line: tenants, transactions, tps, mean latency (ms), foreign and missing rows, errors;
// with --cpu-of PID also cpu_seconds: the CPU time (user + system) process PID used from the start
// of the timed run to its end, the window the transactions are counted in (logins are not in it).
// Connections are spread over T threads (default 2), each driving its share with non-blocking libpq.
#include <libpq-fe.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string dbname;
  std::string password;
  int tenants = 0;
  double seconds = 0;
  std::string user_pattern = "u{i}.t{i}";
  std::string set_context;  // empty: the proxy sets the context
  int threads = 2;
  int rows_per_tenant = 10;
  bool extended = false;
  int cpu_of = 0;  // a process whose CPU time over the timed run is printed (0: none)
};

// User + system CPU seconds of process `pid` so far (/proc/PID/stat), or -1.
double CpuSeconds(int pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) return -1;
  char buffer[1024];
  const size_t n = std::fread(buffer, 1, sizeof buffer - 1, file);
  std::fclose(file);
  buffer[n] = '\0';
  const char* fields = std::strrchr(buffer, ')');  // the command name may hold spaces
  if (fields == nullptr) return -1;
  unsigned long long utime = 0, stime = 0;
  // After ") ": state, then fields 4..13, then utime (14) and stime (15).
  if (std::sscanf(fields + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) return -1;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::string TenantId(int tenant) {
  char id[64];
  std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", tenant);
  return id;
}

std::string UserOf(const std::string& pattern, int tenant) {
  std::string user = pattern;
  for (size_t at = user.find("{i}"); at != std::string::npos; at = user.find("{i}", at))
    user.replace(at, 3, std::to_string(tenant));
  return user;
}

std::string ConninfoValue(const std::string& value) {
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "'";
}

// What every thread adds up.
struct Totals {
  std::atomic<uint64_t> transactions{0}, latency_us{0}, foreign_rows{0}, missing_rows{0}, errors{0};
  std::mutex mu;
  std::vector<std::string> samples;  // GUARDED_BY(mu): the first failures, printed at the end
  void Sample(const std::string& text) {
    std::lock_guard<std::mutex> lock(mu);
    if (samples.size() < 10) samples.push_back(text);
  }
};

struct Client {
  int tenant = 0;
  std::string id;
  PGconn* conn = nullptr;
  bool in_flight = false;
  bool broken = false;
  Clock::time_point sent;
  int own_aid = 0;
  int rows_seen = 0;
  bool own_seen = false;
  bool errored = false;  // this transaction got an error (counted there, not as a missing row)
};

class Driver {
 public:
  Driver(const Options& options, Totals* totals) : options_(options), totals_(totals) {}

  // Connects clients of the tenants `first`, `first + step`, ... Returns false on a failed login.
  bool Connect(int first, int step) {
    for (int tenant = first; tenant <= options_.tenants; tenant += step) {
      Client client;
      client.tenant = tenant;
      client.id = TenantId(tenant);
      const std::string conninfo = "host=" + ConninfoValue(options_.host) + " port=" + std::to_string(options_.port) +
                                   " dbname=" + ConninfoValue(options_.dbname) +
                                   " user=" + ConninfoValue(UserOf(options_.user_pattern, tenant)) +
                                   " password=" + ConninfoValue(options_.password) +
                                   " sslmode=disable connect_timeout=120 application_name=tenant_load";
      client.conn = PQconnectdb(conninfo.c_str());
      if (PQstatus(client.conn) != CONNECTION_OK) {
        std::fprintf(stderr, "tenant_load: login of tenant %d (%s) failed: %s", tenant,
                     UserOf(options_.user_pattern, tenant).c_str(), PQerrorMessage(client.conn));
        PQfinish(client.conn);
        return false;
      }
      PQsetnonblocking(client.conn, 1);
      clients_.push_back(client);
    }
    return true;
  }

  // Sends, reads and checks until `deadline`, then lets what is in flight finish. epoll, not poll:
  // with a thousand clients and a pool of 8, a wakeup finds a few ready, and a pass over every
  // connection per wakeup would cost the driver more than the proxy it measures.
  void Run(Clock::time_point start, Clock::time_point deadline) {
    start_ = start;
    deadline_ = deadline;
    std::mt19937 random(static_cast<unsigned>(std::random_device{}()));
    const int epoll = epoll_create1(EPOLL_CLOEXEC);
    if (epoll < 0) {
      std::perror("tenant_load: epoll_create1");
      std::exit(1);
    }
    for (size_t i = 0; i < clients_.size(); ++i) {
      epoll_event event{};
      event.events = EPOLLIN;
      event.data.u64 = i;
      if (epoll_ctl(epoll, EPOLL_CTL_ADD, PQsocket(clients_[i].conn), &event) != 0) {
        std::perror("tenant_load: epoll_ctl");
        std::exit(1);
      }
    }
    if (Clock::now() < deadline_)
      for (Client& c : clients_) Send(c, random);
    std::vector<epoll_event> ready(std::max<size_t>(clients_.size(), 1));
    const Clock::time_point drain_limit = deadline + std::chrono::seconds(30);
    while (in_flight_ > 0 && Clock::now() <= drain_limit) {
      const int n = epoll_wait(epoll, ready.data(), static_cast<int>(ready.size()), 1000);
      for (int k = 0; k < n; ++k) {
        Client& c = clients_[ready[k].data.u64];
        if (c.in_flight) Read(c);
        else if (!c.broken && !PQconsumeInput(c.conn)) c.broken = true;  // between queries: nothing is owed
        if (c.broken) {
          epoll_ctl(epoll, EPOLL_CTL_DEL, PQsocket(c.conn), nullptr);  // a closed socket would wake every turn
          continue;
        }
        if (!c.in_flight && Clock::now() < deadline_) Send(c, random);
      }
    }
    close(epoll);
    for (Client& c : clients_) PQfinish(c.conn);
  }

 private:
  void Fail(Client& c, const std::string& what) {
    ++totals_->errors;
    totals_->Sample("tenant t" + std::to_string(c.tenant) + ": " + what);
    c.broken = true;
    SetInFlight(c, false);
  }

  void SetInFlight(Client& c, bool in_flight) {
    if (c.in_flight == in_flight) return;
    c.in_flight = in_flight;
    in_flight_ += in_flight ? 1 : -1;
  }

  void Send(Client& c, std::mt19937& random) {
    const int k = options_.rows_per_tenant;
    c.own_aid = (c.tenant - 1) * k + 1 + static_cast<int>(random() % k);
    int other = c.tenant;
    if (options_.tenants > 1) {
      other = 1 + static_cast<int>(random() % (options_.tenants - 1));
      if (other >= c.tenant) ++other;
    }
    const int foreign_aid = (other - 1) * k + 1 + static_cast<int>(random() % k);
    c.rows_seen = 0;
    c.own_seen = false;
    c.errored = false;
    c.sent = Clock::now();
    int ok;
    if (options_.extended) {
      const std::string own = std::to_string(c.own_aid), foreign = std::to_string(foreign_aid);
      const char* values[2] = {own.c_str(), foreign.c_str()};
      ok = PQsendQueryParams(c.conn, "SELECT aid, org_id FROM tenant_accounts WHERE aid IN ($1, $2)", 2, nullptr,
                             values, nullptr, nullptr, 0);
    } else {
      std::string sql;
      if (!options_.set_context.empty()) sql = "SET " + options_.set_context + " = '" + c.id + "'; ";
      sql += "SELECT aid, org_id FROM tenant_accounts WHERE aid IN (" + std::to_string(c.own_aid) + ", " +
             std::to_string(foreign_aid) + ")";
      ok = PQsendQuery(c.conn, sql.c_str());
    }
    if (!ok) return Fail(c, std::string("send: ") + PQerrorMessage(c.conn));
    while (PQflush(c.conn) == 1) {  // a few dozen bytes: this loop hardly ever turns
      pollfd out{PQsocket(c.conn), POLLOUT, 0};
      poll(&out, 1, 1000);
    }
    SetInFlight(c, true);
  }

  void Read(Client& c) {
    if (!PQconsumeInput(c.conn)) return Fail(c, std::string("connection: ") + PQerrorMessage(c.conn));
    while (!PQisBusy(c.conn)) {
      PGresult* r = PQgetResult(c.conn);
      if (r == nullptr) return Finish(c);
      const ExecStatusType status = PQresultStatus(r);
      if (status == PGRES_TUPLES_OK) {
        for (int row = 0; row < PQntuples(r); ++row) {
          const std::string aid = PQgetvalue(r, row, 0), org = PQgetvalue(r, row, 1);
          if (org != c.id) {
            ++totals_->foreign_rows;
            std::fprintf(stderr, "tenant_load: FOREIGN ROW: the client of tenant t%d (%s) read aid %s of %s\n",
                         c.tenant, c.id.c_str(), aid.c_str(), org.c_str());
          } else if (aid == std::to_string(c.own_aid)) {
            c.own_seen = true;
          }
          ++c.rows_seen;
        }
      } else if (status != PGRES_COMMAND_OK) {
        c.errored = true;
        ++totals_->errors;
        totals_->Sample("tenant t" + std::to_string(c.tenant) + ": " + PQresultErrorMessage(r));
      }
      PQclear(r);
    }
  }

  void Finish(Client& c) {
    SetInFlight(c, false);
    const Clock::time_point now = Clock::now();
    if (!c.own_seen && !c.errored) {
      ++totals_->missing_rows;
      totals_->Sample("tenant t" + std::to_string(c.tenant) + ": its own row aid " + std::to_string(c.own_aid) +
                      " was not returned (" + std::to_string(c.rows_seen) + " rows)");
    }
    if (now <= deadline_ && c.sent >= start_) {
      ++totals_->transactions;
      totals_->latency_us += std::chrono::duration_cast<std::chrono::microseconds>(now - c.sent).count();
    }
  }

  const Options& options_;
  Totals* totals_;
  std::vector<Client> clients_;
  size_t in_flight_ = 0;  // clients with a query out
  Clock::time_point start_, deadline_;
};

[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr,
               "tenant_load: %s\nusage: tenant_load --host H --port P --dbname D --password PW --tenants N --seconds S "
               "[--user PATTERN] [--set-context SETTING] [--threads T] [--rows-per-tenant K] "
               "[--protocol simple|extended] [--cpu-of PID]\n",
               why);
  std::exit(2);
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) Usage(("missing value of " + flag).c_str());
    const std::string value = argv[++i];
    if (flag == "--host") o.host = value;
    else if (flag == "--port") o.port = std::atoi(value.c_str());
    else if (flag == "--dbname") o.dbname = value;
    else if (flag == "--password") o.password = value;
    else if (flag == "--tenants") o.tenants = std::atoi(value.c_str());
    else if (flag == "--seconds") o.seconds = std::atof(value.c_str());
    else if (flag == "--user") o.user_pattern = value;
    else if (flag == "--set-context") o.set_context = value;
    else if (flag == "--threads") o.threads = std::atoi(value.c_str());
    else if (flag == "--rows-per-tenant") o.rows_per_tenant = std::atoi(value.c_str());
    else if (flag == "--protocol" && (value == "simple" || value == "extended")) o.extended = value == "extended";
    else if (flag == "--cpu-of") o.cpu_of = std::atoi(value.c_str());
    else Usage(("unknown option or value: " + flag + " " + value).c_str());
  }
  if (o.port <= 0 || o.dbname.empty() || o.tenants <= 0 || o.seconds <= 0 || o.threads <= 0 || o.rows_per_tenant <= 0)
    Usage("--port, --dbname, --tenants and --seconds are required (and positive)");
  if (o.extended && !o.set_context.empty()) Usage("--set-context needs the simple protocol (two statements, one message)");
  for (char c : o.set_context)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) Usage("--set-context: a dotted name");
  o.threads = std::min(o.threads, o.tenants);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = Parse(argc, argv);
  Totals totals;
  std::vector<Driver> drivers;
  drivers.reserve(options.threads);
  for (int t = 0; t < options.threads; ++t) drivers.emplace_back(options, &totals);

  // Every thread logs its clients in; the clock starts when all are in.
  std::atomic<bool> login_failed{false};
  Clock::time_point start, deadline;
  std::atomic<bool> started{false};
  double cpu_at_start = -1, cpu_at_deadline = -1;
  std::barrier logged_in(options.threads, [&]() noexcept {
    if (options.cpu_of > 0) cpu_at_start = CpuSeconds(options.cpu_of);
    start = Clock::now();
    deadline = start + std::chrono::microseconds(static_cast<int64_t>(options.seconds * 1e6));
    started = true;
    started.notify_all();
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < options.threads; ++t) {
    threads.emplace_back([&, t] {
      if (!drivers[t].Connect(t + 1, options.threads)) login_failed = true;
      logged_in.arrive_and_wait();
      if (login_failed) {
        drivers[t].Run(start, start);  // closes its connections
        return;
      }
      drivers[t].Run(start, deadline);
    });
  }
  if (options.cpu_of > 0) {
    started.wait(false);
    std::this_thread::sleep_until(deadline);
    cpu_at_deadline = CpuSeconds(options.cpu_of);
  }
  for (std::thread& t : threads) t.join();
  if (login_failed) return 1;

  const uint64_t tx = totals.transactions;
  std::printf("tenant_load: tenants=%d clients=%d seconds=%.2f transactions=%llu tps=%.0f latency_ms=%.3f "
              "foreign_rows=%llu missing_rows=%llu errors=%llu",
              options.tenants, options.tenants, options.seconds, static_cast<unsigned long long>(tx),
              static_cast<double>(tx) / options.seconds,
              tx > 0 ? static_cast<double>(totals.latency_us.load()) / 1000.0 / static_cast<double>(tx) : 0.0,
              static_cast<unsigned long long>(totals.foreign_rows.load()),
              static_cast<unsigned long long>(totals.missing_rows.load()),
              static_cast<unsigned long long>(totals.errors.load()));
  if (options.cpu_of > 0 && cpu_at_start >= 0 && cpu_at_deadline >= 0)
    std::printf(" cpu_seconds=%.3f", cpu_at_deadline - cpu_at_start);
  std::printf("\n");
  for (const std::string& sample : totals.samples) std::fprintf(stderr, "tenant_load: %s\n", sample.c_str());
  if (totals.foreign_rows > 0) std::fprintf(stderr, "tenant_load: FAILED: %llu rows of another tenant were read\n",
                                            static_cast<unsigned long long>(totals.foreign_rows.load()));
  return totals.foreign_rows > 0 || totals.missing_rows > 0 || totals.errors > 0 ? 1 : 0;
}
