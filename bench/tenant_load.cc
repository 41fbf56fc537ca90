// tenant_load: the many-tenants load driver of bench/run — one connection per tenant, each running a
// point SELECT against an RLS table in a loop for a fixed time, checking the owner of every row read.
//
// Usage: tenant_load --host H --port P --dbname D --password PW --tenants N --seconds S
//                    [--user PATTERN] [--set-context SETTING] [--threads T] [--rows-per-tenant K]
//                    [--protocol simple|extended] [--cpu-of PID]
//                    [--versus-port P2 [--versus-user PATTERN2] [--versus-set-context SETTING2]
//                     [--versus-cpu-of PID2] [--segment L] [--warmup W]]
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
//
// --versus-port: a paired comparison of two targets (A: --port, --user, --set-context, --cpu-of; B: the
// --versus-* options) in one run. Both log in their N clients first; then the run is cut into segments
// of L seconds (default 3) in the order A B B A A B B A ..., --seconds / L of them (rounded up to whole
// pairs), and only the clients of the segment's target send. A segment's first W seconds (default 0.5)
// are not counted (the other target's last transactions end there, and the caches turn over); its
// transactions and the target's CPU are counted over the rest. Each pair of adjacent segments (A B, then
// B A, ...) gives a ratio of B's tps to A's, measured seconds apart: a machine whose speed drifts over
// tens of seconds (a virtual machine's neighbours) moves both alike, where separate runs of each target
// pair slow stretches of one with fast ones of the other. Prints one line per target (as above, with
// target=A or target=B; tps over its counted seconds) and one with every pair's ratio (pair_ratios=).
#include <libpq-fe.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cctype>
#include <chrono>
#include <cmath>
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

// A proxy the clients log in to, and how they reach their tenant there.
struct Target {
  int port = 0;
  std::string user_pattern = "u{i}.t{i}";
  std::string set_context;  // empty: the proxy sets the context
  int cpu_of = 0;           // a process whose CPU time over the counted seconds is printed (0: none)
};

struct Options {
  std::string host = "127.0.0.1";
  std::string dbname;
  std::string password;
  int tenants = 0;
  double seconds = 0;
  std::vector<Target> targets;  // A, and B with --versus-port
  int threads = 2;
  int rows_per_tenant = 10;
  bool extended = false;
  double segment = 3;   // with two targets: seconds per segment
  double warmup = 0.5;  // with two targets: seconds not counted at a segment's start
};

// The timed run: `count` segments of `length` from `start`, each counted from `warmup` on. One target:
// one segment, counted whole. Two: A B B A A B B A ...
struct Schedule {
  Clock::time_point start;
  Clock::duration length{};
  Clock::duration warmup{};
  int count = 0;
  int targets = 1;

  int TargetOf(int segment) const { return targets == 2 && (segment % 4 == 1 || segment % 4 == 2) ? 1 : 0; }
  Clock::time_point Begin(int segment) const { return start + segment * length; }
  Clock::time_point CountedFrom(int segment) const { return Begin(segment) + warmup; }
  Clock::time_point End() const { return Begin(count); }
  // The segment `t` falls in: -1 before the start, `count` from the end on.
  int SegmentAt(Clock::time_point t) const {
    if (t < start) return -1;
    return static_cast<int>(std::min<int64_t>((t - start) / length, count));
  }
  // The target whose clients send at `t`, or -1 (outside the run).
  int ActiveAt(Clock::time_point t) const {
    const int segment = SegmentAt(t);
    return segment >= 0 && segment < count ? TargetOf(segment) : -1;
  }
  double CountedSeconds() const { return std::chrono::duration<double>(length - warmup).count(); }
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

// What every thread adds up: transactions and latency per segment, failures per target.
struct Totals {
  Totals(size_t segments, size_t targets)
      : transactions(segments), latency_us(segments), foreign_rows(targets), missing_rows(targets), errors(targets) {}
  std::vector<std::atomic<uint64_t>> transactions, latency_us;
  std::vector<std::atomic<uint64_t>> foreign_rows, missing_rows, errors;
  std::mutex mu;
  std::vector<std::string> samples;  // GUARDED_BY(mu): the first failures, printed at the end
  void Sample(const std::string& text) {
    std::lock_guard<std::mutex> lock(mu);
    if (samples.size() < 10) samples.push_back(text);
  }
};

struct Client {
  int target = 0;
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

const char* TargetName(int target) { return target == 0 ? "A" : "B"; }

class Driver {
 public:
  Driver(const Options& options, Totals* totals) : options_(options), totals_(totals) {}

  // Connects a client of every target for the tenants `first`, `first + step`, ... Returns false on a
  // failed login.
  bool Connect(int first, int step) {
    for (size_t target = 0; target < options_.targets.size(); ++target) {
      const Target& to = options_.targets[target];
      for (int tenant = first; tenant <= options_.tenants; tenant += step) {
        Client client;
        client.target = static_cast<int>(target);
        client.tenant = tenant;
        client.id = TenantId(tenant);
        const std::string conninfo = "host=" + ConninfoValue(options_.host) + " port=" + std::to_string(to.port) +
                                     " dbname=" + ConninfoValue(options_.dbname) +
                                     " user=" + ConninfoValue(UserOf(to.user_pattern, tenant)) +
                                     " password=" + ConninfoValue(options_.password) +
                                     " sslmode=disable connect_timeout=120 application_name=tenant_load";
        client.conn = PQconnectdb(conninfo.c_str());
        if (PQstatus(client.conn) != CONNECTION_OK) {
          std::fprintf(stderr, "tenant_load: login of tenant %d (%s, port %d) failed: %s", tenant,
                       UserOf(to.user_pattern, tenant).c_str(), to.port, PQerrorMessage(client.conn));
          PQfinish(client.conn);
          return false;
        }
        PQsetnonblocking(client.conn, 1);
        clients_.push_back(client);
      }
    }
    return true;
  }

  // Sends, reads and checks until the schedule ends, then lets what is in flight finish. epoll, not
  // poll: with a thousand clients and a pool of 8, a wakeup finds a few ready, and a pass over every
  // connection per wakeup would cost the driver more than the proxy it measures.
  void Run(const Schedule& schedule) {
    schedule_ = &schedule;
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
    std::vector<epoll_event> ready(std::max<size_t>(clients_.size(), 1));
    const Clock::time_point end = schedule.End();
    const Clock::time_point drain_limit = end + std::chrono::seconds(30);
    int started = -1;  // the last segment whose clients were set going
    for (;;) {
      const Clock::time_point now = Clock::now();
      const int segment = schedule.SegmentAt(now);
      if (segment != started && segment >= 0 && segment < schedule.count) {
        started = segment;
        for (Client& c : clients_)
          if (c.target == schedule.TargetOf(segment) && !c.in_flight && !c.broken) Send(c, random);
      }
      if (now >= end && (in_flight_ == 0 || now > drain_limit)) break;
      // Wake at the next segment's start (its clients go then), or each second while draining.
      int timeout_ms = 1000;
      if (now < end) {
        const auto until = std::chrono::ceil<std::chrono::milliseconds>(schedule.Begin(segment + 1) - now).count();
        timeout_ms = static_cast<int>(std::clamp<int64_t>(until, 1, 1000));
      }
      const int n = epoll_wait(epoll, ready.data(), static_cast<int>(ready.size()), timeout_ms);
      for (int k = 0; k < n; ++k) {
        Client& c = clients_[ready[k].data.u64];
        if (c.in_flight) Read(c);
        else if (!c.broken && !PQconsumeInput(c.conn)) c.broken = true;  // between queries: nothing is owed
        if (c.broken) {
          epoll_ctl(epoll, EPOLL_CTL_DEL, PQsocket(c.conn), nullptr);  // a closed socket would wake every turn
          continue;
        }
        if (!c.in_flight && schedule.ActiveAt(Clock::now()) == c.target) Send(c, random);
      }
    }
    close(epoll);
    for (Client& c : clients_) PQfinish(c.conn);
  }

 private:
  void Fail(Client& c, const std::string& what) {
    ++totals_->errors[c.target];
    totals_->Sample(std::string("target ") + TargetName(c.target) + ", tenant t" + std::to_string(c.tenant) + ": " + what);
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
      const std::string& set_context = options_.targets[c.target].set_context;
      if (!set_context.empty()) sql = "SET " + set_context + " = '" + c.id + "'; ";
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
            ++totals_->foreign_rows[c.target];
            std::fprintf(stderr, "tenant_load: FOREIGN ROW: target %s, the client of tenant t%d (%s) read aid %s of %s\n",
                         TargetName(c.target), c.tenant, c.id.c_str(), aid.c_str(), org.c_str());
          } else if (aid == std::to_string(c.own_aid)) {
            c.own_seen = true;
          }
          ++c.rows_seen;
        }
      } else if (status != PGRES_COMMAND_OK) {
        c.errored = true;
        ++totals_->errors[c.target];
        totals_->Sample(std::string("target ") + TargetName(c.target) + ", tenant t" + std::to_string(c.tenant) + ": " +
                        PQresultErrorMessage(r));
      }
      PQclear(r);
    }
  }

  void Finish(Client& c) {
    SetInFlight(c, false);
    const Clock::time_point now = Clock::now();
    if (!c.own_seen && !c.errored) {
      ++totals_->missing_rows[c.target];
      totals_->Sample(std::string("target ") + TargetName(c.target) + ", tenant t" + std::to_string(c.tenant) +
                      ": its own row aid " + std::to_string(c.own_aid) + " was not returned (" +
                      std::to_string(c.rows_seen) + " rows)");
    }
    // Counted in the segment it was sent in, if sent after that segment's warm-up and done before its end.
    const int segment = schedule_->SegmentAt(c.sent);
    if (segment >= 0 && segment < schedule_->count && c.sent >= schedule_->CountedFrom(segment) &&
        now <= schedule_->Begin(segment + 1)) {
      ++totals_->transactions[segment];
      totals_->latency_us[segment] += std::chrono::duration_cast<std::chrono::microseconds>(now - c.sent).count();
    }
  }

  const Options& options_;
  Totals* totals_;
  const Schedule* schedule_ = nullptr;
  std::vector<Client> clients_;
  size_t in_flight_ = 0;  // clients with a query out
};

[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr,
               "tenant_load: %s\nusage: tenant_load --host H --port P --dbname D --password PW --tenants N --seconds S "
               "[--user PATTERN] [--set-context SETTING] [--threads T] [--rows-per-tenant K] "
               "[--protocol simple|extended] [--cpu-of PID] [--versus-port P2 [--versus-user PATTERN2] "
               "[--versus-set-context SETTING2] [--versus-cpu-of PID2] [--segment L] [--warmup W]]\n",
               why);
  std::exit(2);
}

bool DottedName(const std::string& name) {
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) return false;
  return true;
}

Options Parse(int argc, char** argv) {
  Options o;
  Target a, b;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) Usage(("missing value of " + flag).c_str());
    const std::string value = argv[++i];
    if (flag == "--host") o.host = value;
    else if (flag == "--port") a.port = std::atoi(value.c_str());
    else if (flag == "--dbname") o.dbname = value;
    else if (flag == "--password") o.password = value;
    else if (flag == "--tenants") o.tenants = std::atoi(value.c_str());
    else if (flag == "--seconds") o.seconds = std::atof(value.c_str());
    else if (flag == "--user") a.user_pattern = value;
    else if (flag == "--set-context") a.set_context = value;
    else if (flag == "--threads") o.threads = std::atoi(value.c_str());
    else if (flag == "--rows-per-tenant") o.rows_per_tenant = std::atoi(value.c_str());
    else if (flag == "--protocol" && (value == "simple" || value == "extended")) o.extended = value == "extended";
    else if (flag == "--cpu-of") a.cpu_of = std::atoi(value.c_str());
    else if (flag == "--versus-port") b.port = std::atoi(value.c_str());
    else if (flag == "--versus-user") b.user_pattern = value;
    else if (flag == "--versus-set-context") b.set_context = value;
    else if (flag == "--versus-cpu-of") b.cpu_of = std::atoi(value.c_str());
    else if (flag == "--segment") o.segment = std::atof(value.c_str());
    else if (flag == "--warmup") o.warmup = std::atof(value.c_str());
    else Usage(("unknown option or value: " + flag + " " + value).c_str());
  }
  if (a.port <= 0 || o.dbname.empty() || o.tenants <= 0 || o.seconds <= 0 || o.threads <= 0 || o.rows_per_tenant <= 0)
    Usage("--port, --dbname, --tenants and --seconds are required (and positive)");
  o.targets.push_back(a);
  if (b.port > 0) o.targets.push_back(b);
  if (o.targets.size() == 2 && !(o.segment > 0 && o.warmup >= 0 && o.warmup < o.segment))
    Usage("--segment must be positive and --warmup shorter than it");
  for (const Target& t : o.targets) {
    if (o.extended && !t.set_context.empty())
      Usage("--set-context needs the simple protocol (two statements, one message)");
    if (!DottedName(t.set_context)) Usage("--set-context: a dotted name");
  }
  o.threads = std::min(o.threads, o.tenants);
  return o;
}

// The schedule of the timed run that starts at `start`.
Schedule MakeSchedule(const Options& options, Clock::time_point start) {
  auto seconds = [](double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  Schedule schedule;
  schedule.start = start;
  schedule.targets = static_cast<int>(options.targets.size());
  if (schedule.targets == 1) {
    schedule.length = seconds(options.seconds);
    schedule.count = 1;
  } else {
    schedule.length = seconds(options.segment);
    schedule.warmup = seconds(options.warmup);
    schedule.count = 2 * std::max(1, static_cast<int>(std::ceil(options.seconds / (2 * options.segment))));
  }
  return schedule;
}

int SegmentsOf(const Options& options) { return MakeSchedule(options, Clock::time_point{}).count; }

}  // namespace

int main(int argc, char** argv) {
  const Options options = Parse(argc, argv);
  const int segments = SegmentsOf(options);
  Totals totals(segments, options.targets.size());
  std::vector<Driver> drivers;
  drivers.reserve(options.threads);
  for (int t = 0; t < options.threads; ++t) drivers.emplace_back(options, &totals);

  // Every thread logs its clients in; the clock starts when all are in.
  std::atomic<bool> login_failed{false};
  Schedule schedule;
  std::atomic<bool> started{false};
  std::barrier logged_in(options.threads, [&]() noexcept {
    schedule = MakeSchedule(options, Clock::now());
    if (login_failed) schedule.count = 0;  // nothing runs: every thread closes its connections
    started = true;
    started.notify_all();
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < options.threads; ++t) {
    threads.emplace_back([&, t] {
      if (!drivers[t].Connect(t + 1, options.threads)) login_failed = true;
      logged_in.arrive_and_wait();
      drivers[t].Run(schedule);
    });
  }
  // The CPU time of each segment's target over the segment's counted seconds.
  std::vector<double> cpu(segments, -1);
  started.wait(false);
  for (int k = 0; k < schedule.count; ++k) {
    const int pid = options.targets[schedule.TargetOf(k)].cpu_of;
    if (pid <= 0) continue;
    std::this_thread::sleep_until(schedule.CountedFrom(k));
    const double before = CpuSeconds(pid);
    std::this_thread::sleep_until(schedule.Begin(k + 1));
    const double after = CpuSeconds(pid);
    if (before >= 0 && after >= 0) cpu[k] = after - before;
  }
  for (std::thread& t : threads) t.join();
  if (login_failed) return 1;

  for (size_t target = 0; target < options.targets.size(); ++target) {
    uint64_t tx = 0, latency_us = 0;
    double seconds = 0, cpu_seconds = 0;
    bool cpu_known = options.targets[target].cpu_of > 0;
    for (int k = 0; k < segments; ++k) {
      if (schedule.TargetOf(k) != static_cast<int>(target)) continue;
      tx += totals.transactions[k];
      latency_us += totals.latency_us[k];
      seconds += schedule.CountedSeconds();
      cpu_known = cpu_known && cpu[k] >= 0;
      cpu_seconds += cpu[k];
    }
    std::printf("tenant_load: %s%s%stenants=%d clients=%d seconds=%.2f transactions=%llu tps=%.0f latency_ms=%.3f "
                "foreign_rows=%llu missing_rows=%llu errors=%llu",
                options.targets.size() == 2 ? "target=" : "", options.targets.size() == 2 ? TargetName(target) : "",
                options.targets.size() == 2 ? " " : "",
                options.tenants, options.tenants, seconds, static_cast<unsigned long long>(tx),
                seconds > 0 ? static_cast<double>(tx) / seconds : 0.0,
                tx > 0 ? static_cast<double>(latency_us) / 1000.0 / static_cast<double>(tx) : 0.0,
                static_cast<unsigned long long>(totals.foreign_rows[target].load()),
                static_cast<unsigned long long>(totals.missing_rows[target].load()),
                static_cast<unsigned long long>(totals.errors[target].load()));
    if (cpu_known) std::printf(" cpu_seconds=%.3f", cpu_seconds);
    std::printf("\n");
  }
  if (options.targets.size() == 2) {
    // Segments 2p and 2p+1 are a pair (A B, then B A): B's transactions over A's, both counted as long.
    std::string ratios;
    for (int k = 0; k + 1 < segments; k += 2) {
      const int a = schedule.TargetOf(k) == 0 ? k : k + 1, b = a == k ? k + 1 : k;
      const uint64_t ta = totals.transactions[a], tb = totals.transactions[b];
      char ratio[32];
      std::snprintf(ratio, sizeof ratio, "%s%.3f", ratios.empty() ? "" : ",",
                    ta > 0 ? static_cast<double>(tb) / static_cast<double>(ta) : 0.0);
      ratios += ratio;
    }
    std::printf("tenant_load: pairs=%d pair_ratios=%s\n", segments / 2, ratios.c_str());
  }
  for (const std::string& sample : totals.samples) std::fprintf(stderr, "tenant_load: %s\n", sample.c_str());
  uint64_t foreign = 0, missing = 0, errors = 0;
  for (size_t target = 0; target < options.targets.size(); ++target) {
    foreign += totals.foreign_rows[target];
    missing += totals.missing_rows[target];
    errors += totals.errors[target];
  }
  if (foreign > 0)
    std::fprintf(stderr, "tenant_load: FAILED: %llu rows of another tenant were read\n",
                 static_cast<unsigned long long>(foreign));
  return foreign > 0 || missing > 0 || errors > 0 ? 1 : 0;
}
