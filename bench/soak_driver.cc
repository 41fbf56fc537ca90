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
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/soak_client.h"

namespace {

using pgtenant::soak::Clock;
using pgtenant::soak::g_stats;
using pgtenant::soak::g_stop;
using pgtenant::soak::Options;
using pgtenant::soak::RunClient;
using pgtenant::soak::Tenant;

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
      RunClient(options, options.seed + static_cast<uint64_t>(i) * 7919, &heartbeats[static_cast<size_t>(i)]);
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
