// The soak driver's shared parts (bench/soak_driver.cc): its options, the tenants it drives, the
// counters every client thread adds to, and one client's loop (bench/soak_client.cc).
#pragma once

#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace pgtenant::soak {

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

extern Stats g_stats;
extern std::atomic<bool> g_stop;  // set by the driver when the soak's time is up

// One client thread's life: random actions against random tenants until g_stop, storing the time of
// its latest progress (seconds since the clock's epoch) in *heartbeat.
void RunClient(const Options& options, uint64_t seed, std::atomic<int64_t>* heartbeat);

}  // namespace pgtenant::soak
