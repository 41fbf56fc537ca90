// Metrics: families, per-tenant and per-backend series, and their HTTP endpoint (metrics_http.h).
#include "proxy/telemetry/metrics.h"

#include "proxy/build_info.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <concepts>
#include <memory>
#include <utility>
#include <vector>

namespace pgtenant::proxy {

namespace {
constexpr std::array<double, 14> kLatencyBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                   0.1,    0.25,  0.5,    1,     2.5,  5,     10};
const prometheus::Histogram::BucketBoundaries kLatencyBuckets(kLatencyBounds.begin(), kLatencyBounds.end());

// A family registered in `registry` by `builder` (prometheus::BuildCounter() and the like).
auto& RegisterFamily(prometheus::Registry& registry, auto builder, const std::string& name, const std::string& help) {
  return builder.Name(name).Help(help).Register(registry);
}

// The one series, without labels, of a family registered as RegisterFamily does.
auto& RegisterSeries(prometheus::Registry& registry, auto builder, const std::string& name, const std::string& help) {
  return RegisterFamily(registry, builder, name, help).Add({});
}

// Observations of one histogram not yet added to it, in 24 bytes: a bucket holds up to 255 (a full
// one is flushed first, see SeriesTally::Observe), the sum is kept in whole nanoseconds.
struct HistogramTally {
  uint64_t sum_ns = 0;
  std::array<uint8_t, kLatencyBounds.size() + 1> counts{};  // the last bucket is +Inf

  // False, adding nothing, when the value's bucket is full.
  bool Add(double seconds) {
    // The bucket prometheus::Histogram::Observe picks: the first bound >= value. Searched from the
    // bottom: most requests and transactions end within the first bucket or two.
    size_t bucket = 0;
    while (bucket < kLatencyBounds.size() && kLatencyBounds[bucket] < seconds) ++bucket;
    if (counts[bucket] == UINT8_MAX) return false;
    ++counts[bucket];
    sum_ns += static_cast<uint64_t>(std::max(seconds, 0.0) * 1e9 + 0.5);  // rounded
    return true;
  }
  void FlushTo(prometheus::Histogram& histogram) {
    if (std::all_of(counts.begin(), counts.end(), [](uint8_t n) { return n == 0; })) return;
    histogram.ObserveMultiple(std::vector<double>(counts.begin(), counts.end()), static_cast<double>(sum_ns) / 1e9);
    *this = {};
  }
};

// One tenant's tallies on one thread, in one aligned pair of cache lines (the pair the hardware
// fetches together): with a thousand tenants on a worker, a transaction's tallies cost one miss.
struct alignas(128) SeriesTally {
  Metrics::TenantSeries* series = nullptr;  // set while listed in ThreadTally::active
  uint64_t bytes_in = 0, bytes_out = 0;
  uint32_t transactions = 0, statements = 0, statement_errors = 0;  // a second's worth at most
  bool fresh = false;  // tallied since the last flush (of the counters)
  HistogramTally transaction_seconds, pool_wait_seconds, query_seconds;

  // Adds `seconds` to `tally`, the series' `histogram` taking what it holds first when its bucket is full.
  void Observe(HistogramTally& tally, prometheus::Histogram* Metrics::TenantSeries::*histogram, double seconds) {
    if (tally.Add(seconds)) return;
    tally.FlushTo(*(series->*histogram));
    tally.Add(seconds);
  }
};
static_assert(sizeof(SeriesTally) == 128);

// This thread's tallies since its last flush, in a table indexed by TenantSeries::tally_index (a
// transaction's tallies of a thousand tenants' series cost no hash lookup, and one cache miss), in
// chunks made as indexes are first used. Only the entries listed in `active` are read, so an entry
// whose series is gone is never followed.
struct ThreadTally {
  static constexpr size_t kChunk = 256;
  std::vector<std::unique_ptr<std::array<SeriesTally, kChunk>>> chunks;
  std::vector<SeriesTally*> active;  // entries with something to add
  bool tallied = false;              // since TakeThreadActivity last asked

  SeriesTally& For(Metrics::TallyTarget target) {
    tallied = true;
    const size_t chunk = target.index / kChunk;
    if (chunk >= chunks.size()) chunks.resize(chunk + 1);
    if (chunks[chunk] == nullptr) chunks[chunk] = std::make_unique<std::array<SeriesTally, kChunk>>();
    SeriesTally& t = (*chunks[chunk])[target.index % kChunk];
    if (t.series == nullptr) {
      t.series = target.series;
      active.push_back(&t);
    }
    t.fresh = true;
    return t;
  }
};
thread_local ThreadTally thread_tally;

void AddCount(prometheus::Counter& counter, std::unsigned_integral auto& pending) {
  if (pending == 0) return;
  counter.Increment(static_cast<double>(pending));
  pending = 0;
}
}  // namespace

uint32_t Metrics::NextTallyIndex() {
  static std::atomic<uint32_t> next{0};
  return next.fetch_add(1, std::memory_order_relaxed);
}

void Metrics::TallyTransaction(TallyTarget target, double seconds, uint64_t bytes_in, uint64_t bytes_out) {
  SeriesTally& t = thread_tally.For(target);
  ++t.transactions;
  t.Observe(t.transaction_seconds, &TenantSeries::transaction_seconds, seconds);
  t.bytes_in += bytes_in;
  t.bytes_out += bytes_out;
}

void Metrics::TallyPoolWait(TallyTarget target, double seconds) {
  SeriesTally& t = thread_tally.For(target);
  t.Observe(t.pool_wait_seconds, &TenantSeries::pool_wait_seconds, seconds);
}

void Metrics::TallyAnswers(TallyTarget target, uint32_t completed, uint32_t failed,
                           std::optional<double> query_seconds) {
  SeriesTally& t = thread_tally.For(target);
  t.statements += completed;
  t.statement_errors += failed;
  if (query_seconds) t.Observe(t.query_seconds, &TenantSeries::query_seconds, *query_seconds);
}

void Metrics::TallyBytes(TallyTarget target, uint64_t in, uint64_t out) {
  SeriesTally& t = thread_tally.For(target);
  t.bytes_in += in;
  t.bytes_out += out;
}

bool Metrics::TakeThreadActivity() { return std::exchange(thread_tally.tallied, false); }

bool Metrics::FlushThreadTally(bool histograms) {
  bool any = false;
  std::erase_if(thread_tally.active, [&](SeriesTally* t) {
    TenantSeries* series = t->series;
    if (t->fresh) {
      any = true;
      t->fresh = false;
      AddCount(*series->transactions, t->transactions);
      AddCount(*series->statements, t->statements);
      AddCount(*series->statement_errors, t->statement_errors);
      AddCount(*series->bytes_in, t->bytes_in);
      AddCount(*series->bytes_out, t->bytes_out);
    }
    if (!histograms) return false;  // listed until the histograms are flushed too
    t->transaction_seconds.FlushTo(*series->transaction_seconds);
    t->pool_wait_seconds.FlushTo(*series->pool_wait_seconds);
    t->query_seconds.FlushTo(*series->query_seconds);
    t->series = nullptr;
    return true;
  });
  return any;
}

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      client_connections_(RegisterFamily(
          *registry_, prometheus::BuildGauge(), "pgtenant_client_connections",
          "Client connections by tenant and state (active: in a transaction or with a request in flight; idle: "
          "logged in, nothing in flight; waiting: queued for a server connection)")),
      server_connections_(
          RegisterFamily(*registry_, prometheus::BuildGauge(), "pgtenant_server_connections",
                         "Server connections by tenant and state (active: assigned to a client; idle)")),
      transactions_(RegisterFamily(*registry_, prometheus::BuildCounter(), "pgtenant_transactions_total",
                                   "Transactions completed (ReadyForQuery idle with nothing in flight)")),
      statements_(RegisterFamily(*registry_, prometheus::BuildCounter(), "pgtenant_statements_total",
                                 "Statements the server executed for clients: CommandComplete or EmptyQueryResponse (each Execute, "
                                 "each statement of a simple Query)")),
      statement_errors_(RegisterFamily(*registry_, prometheus::BuildCounter(), "pgtenant_statement_errors_total",
                                       "ErrorResponses the server sent for client requests (failed statements)")),
      blocked_(RegisterFamily(*registry_, prometheus::BuildCounter(), "pgtenant_statements_blocked_total",
                              "Statements refused by the policy, by rule")),
      auth_failures_(RegisterFamily(*registry_, prometheus::BuildCounter(), "pgtenant_authentication_failures_total",
                                    "Failed client authentications (tenant \"unknown\" when none was named)")),
      bytes_in_(RegisterFamily(*registry_, prometheus::BuildCounter(), "pgtenant_client_received_bytes_total",
                               "Bytes received from clients")),
      bytes_out_(RegisterFamily(*registry_, prometheus::BuildCounter(), "pgtenant_client_sent_bytes_total",
                                "Bytes sent to clients")),
      transaction_seconds_(RegisterFamily(*registry_, prometheus::BuildHistogram(),
                                          "pgtenant_transaction_duration_seconds",
                                          "Time from a transaction's first message to its final ReadyForQuery")),
      pool_wait_seconds_(RegisterFamily(*registry_, prometheus::BuildHistogram(), "pgtenant_pool_wait_seconds",
                                        "Time a client waited for a server connection")),
      query_seconds_(RegisterFamily(*registry_, prometheus::BuildHistogram(), "pgtenant_query_duration_seconds",
                                    "Time from a request (a Query, or the messages up to Sync) reaching the server "
                                    "to its ReadyForQuery; pipelined requests are measured together")),
      pool_size_(RegisterFamily(*registry_, prometheus::BuildGauge(), "pgtenant_pool_size",
                                "Server connections the tenant's pools may open (pool size, summed over its pools)")),
      pool_max_wait_(RegisterFamily(*registry_, prometheus::BuildGauge(), "pgtenant_pool_max_wait_seconds",
                                    "How long the tenant's longest-waiting client has waited for a server connection")),
      throttled_(RegisterFamily(*registry_, prometheus::BuildCounter(), "pgtenant_throttled_transactions_total",
                                "Transactions that waited for max_transactions_per_second")),
      throttle_delay_(RegisterFamily(*registry_, prometheus::BuildCounter(), "pgtenant_throttle_delay_seconds_total",
                                     "Time transactions waited for max_transactions_per_second")),
      refusals_(RegisterFamily(*registry_, prometheus::BuildCounter(), "pgtenant_refusals_total",
                               "Clients and requests refused or ended by pgtenant with an error of its own, by reason "
                               "and SQLSTATE class")),
      backend_tls_failures_(RegisterFamily(*registry_, prometheus::BuildCounter(),
                                           "pgtenant_backend_tls_handshake_failures_total",
                                           "TLS handshakes with the backend's servers that failed")),
      cancels_(RegisterFamily(*registry_, prometheus::BuildCounter(), "pgtenant_cancel_requests_total",
                              "CancelRequests by result (matched a session here, forwarded to a peer, unmatched)")),
      server_connections_by_host_(RegisterFamily(*registry_, prometheus::BuildGauge(),
                                                 "pgtenant_backend_server_connections",
                                                 "Server connections by backend, host and state (active, idle, "
                                                 "connecting)")),
      worker_cpu_(RegisterFamily(*registry_, prometheus::BuildCounter(), "pgtenant_worker_cpu_seconds_total",
                                 "CPU time of each worker's event-loop thread (rate() is the loop's load)")),
      build_info_(RegisterFamily(*registry_, prometheus::BuildGauge(), "pgtenant_build_info",
                                 "pgtenant's version, git revision and instance id (1)")),
      backend_up_(
          RegisterFamily(*registry_, prometheus::BuildGauge(), "pgtenant_backend_up",
                         "1 if a host of the backend is up (last health check or connection attempt succeeded)")),
      backend_connect_errors_(RegisterFamily(*registry_, prometheus::BuildCounter(),
                                             "pgtenant_backend_connect_errors_total",
                                             "Failed connection attempts to the backend")),
      backend_host_up_(RegisterFamily(*registry_, prometheus::BuildGauge(), "pgtenant_backend_host_up",
                                      "1 if the host (primary or alternate) of the backend is up, 0 if it is down")),
      reloads_(RegisterFamily(*registry_, prometheus::BuildCounter(), "pgtenant_config_reloads_total",
                              "Configuration reloads by result")),
      last_reload_success_(RegisterSeries(*registry_, prometheus::BuildGauge(),
                                          "pgtenant_config_last_reload_successful",
                                          "1 if the last configuration reload succeeded")),
      audit_written_(RegisterSeries(*registry_, prometheus::BuildCounter(), "pgtenant_audit_events_written_total",
                                    "Audit events written by the audit writer")),
      audit_dropped_(RegisterSeries(*registry_, prometheus::BuildCounter(), "pgtenant_audit_events_dropped_total",
                                    "Audit events dropped because the audit queue was full")),
      cache_hits_(RegisterSeries(*registry_, prometheus::BuildCounter(), "pgtenant_policy_cache_hits_total",
                                 "Policy verdicts served from the cache")),
      cache_misses_(RegisterSeries(*registry_, prometheus::BuildCounter(), "pgtenant_policy_cache_misses_total",
                                   "Policy verdicts that needed the parser")),
      audit_failed_(RegisterSeries(*registry_, prometheus::BuildCounter(), "pgtenant_audit_events_failed_total",
                                   "Audit events that at least one sink could not take")),
      client_tls_failures_(RegisterSeries(*registry_, prometheus::BuildCounter(),
                                          "pgtenant_client_tls_handshake_failures_total",
                                          "TLS handshakes with clients that failed (or ended refused: direct TLS without "
                                          "ALPN postgresql)")),
      audit_queue_depth_(RegisterSeries(*registry_, prometheus::BuildGauge(), "pgtenant_audit_queue_depth",
                                        "Audit events queued for the writer")),
      audit_queue_capacity_(RegisterSeries(*registry_, prometheus::BuildGauge(), "pgtenant_audit_queue_capacity",
                                           "Audit events the queue holds before it drops or blocks (audit.queue_size)")),
      process_(*registry_) {
  SetInstanceId(std::nullopt);
  last_reload_success_.Set(1);
}

void Metrics::SetInstanceId(std::optional<int> id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (build_info_series_ != nullptr) build_info_.Remove(build_info_series_);
  std::map<std::string, std::string> labels = {{"version", std::string(kBuildVersion)}, {"revision", std::string(kBuildRevision)}};
  if (id) labels["instance_id"] = std::to_string(*id);
  build_info_series_ = &build_info_.Add(labels);
  build_info_series_->Set(1);
}

void Metrics::SetAuditQueue(size_t depth, size_t capacity, uint64_t failed) {
  audit_queue_depth_.Set(static_cast<double>(depth));
  audit_queue_capacity_.Set(static_cast<double>(capacity));
  Advance(audit_failed_, failed);
}

void Metrics::CountRefusal(const std::string& tenant, std::string_view reason, std::string_view sqlstate) {
  refusals_
      .Add({{"tenant", tenant.empty() ? "unknown" : tenant},
            {"reason", std::string(reason)},
            {"sqlstate_class", std::string(sqlstate.substr(0, 2))}})
      .Increment();
}


void Metrics::CountCancel(std::string_view result) { cancels_.Add({{"result", std::string(result)}}).Increment(); }

void Metrics::CountThrottled(TenantSeries* series, double seconds) {
  series->throttled->Increment();
  series->throttle_delay_seconds->Increment(std::max(seconds, 0.0));
}

prometheus::Gauge* Metrics::ForServerConnections(const std::string& backend, const std::string& host,
                                                 std::string_view state) {
  return &server_connections_by_host_.Add({{"backend", backend}, {"host", host}, {"state", std::string(state)}});
}

void Metrics::SetPoolMaxWait(int worker, TenantSeries* series, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<int, double>& by_worker = pool_max_wait_by_worker_[series];
  by_worker[worker] = seconds;
  double longest = 0;
  for (const auto& [w, s] : by_worker) longest = std::max(longest, s);
  series->pool_max_wait_seconds->Set(longest);
}

void Metrics::SetWorkerCpuSeconds(int worker, double seconds) {
  prometheus::Counter* series;
  {
    std::lock_guard<std::mutex> lock(mu_);
    prometheus::Counter*& s = worker_cpu_series_[worker];
    if (s == nullptr) s = &worker_cpu_.Add({{"worker", std::to_string(worker)}});
    series = s;
  }
  if (seconds > series->Value()) series->Increment(seconds - series->Value());
}

Status Metrics::Serve(uv_loop_t* loop, const config::MetricsConfig& config, int port, ProbeSource* probes) {
  http_.SetBeforeCollect([this] { process_.Update(); });
  return http_.Listen(loop, config.address, port, config.reuse_port, registry_, probes);
}

Metrics::TenantSeries* Metrics::ForTenant(const std::string& tenant) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tenants_.find(tenant);
  if (it != tenants_.end()) return &it->second;
  const std::map<std::string, std::string> t = {{"tenant", tenant}};
  TenantSeries series{
      &client_connections_.Add({{"tenant", tenant}, {"state", "active"}}),
      &client_connections_.Add({{"tenant", tenant}, {"state", "idle"}}),
      &client_connections_.Add({{"tenant", tenant}, {"state", "waiting"}}),
      &server_connections_.Add({{"tenant", tenant}, {"state", "active"}}),
      &server_connections_.Add({{"tenant", tenant}, {"state", "idle"}}),
      &transactions_.Add(t),
      &statements_.Add(t),
      &statement_errors_.Add(t),
      &auth_failures_.Add(t),
      &bytes_in_.Add(t),
      &bytes_out_.Add(t),
      &transaction_seconds_.Add(t, kLatencyBuckets),
      &pool_wait_seconds_.Add(t, kLatencyBuckets),
      &query_seconds_.Add(t, kLatencyBuckets),
      &pool_size_.Add(t),
      &pool_max_wait_.Add(t),
      &throttled_.Add(t),
      &throttle_delay_.Add(t),
      NextTallyIndex(),
  };
  return &tenants_.emplace(tenant, series).first->second;
}

Metrics::BackendSeries* Metrics::ForBackend(const std::string& backend) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = backends_.find(backend);
  if (it != backends_.end()) return &it->second;
  const std::map<std::string, std::string> b = {{"backend", backend}};
  BackendSeries series{&backend_up_.Add(b), &backend_connect_errors_.Add(b), &backend_tls_failures_.Add(b)};
  return &backends_.emplace(backend, series).first->second;
}

prometheus::Gauge* Metrics::ForBackendHost(const std::string& backend, const std::string& host) {
  std::lock_guard<std::mutex> lock(mu_);
  return &backend_host_up_.Add({{"backend", backend}, {"host", host}});
}

void Metrics::RemoveBackendHost(prometheus::Gauge* series) {
  std::lock_guard<std::mutex> lock(mu_);
  backend_host_up_.Remove(series);
}

void Metrics::CountBlocked(const std::string& tenant, const std::string& rule) {
  blocked_.Add({{"tenant", tenant}, {"rule", rule}}).Increment();
}

void Metrics::CountReload(bool ok) {
  reloads_.Add({{"result", ok ? "success" : "failure"}}).Increment();
  last_reload_success_.Set(ok ? 1 : 0);
}

void Metrics::Advance(prometheus::Counter& counter, uint64_t total) {
  double now = static_cast<double>(total);
  if (now > counter.Value()) counter.Increment(now - counter.Value());
}

void Metrics::SetAuditTotals(uint64_t written, uint64_t dropped) {
  Advance(audit_written_, written);
  Advance(audit_dropped_, dropped);
}

void Metrics::SetPolicyCacheTotals(uint64_t hits, uint64_t misses) {
  Advance(cache_hits_, hits);
  Advance(cache_misses_, misses);
}

}  // namespace pgtenant::proxy
