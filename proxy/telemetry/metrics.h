// Metrics: pgtenant's Prometheus series and the HTTP endpoint that serves them (prometheus-cpp).
//
// Per tenant (label `tenant`, configured tenants only, so cardinality stays bounded): client
// connections by state, server connections by state, pool size and longest wait, transactions,
// statements executed and failed, blocked statements by rule, authentication failures, refusals by
// reason and SQLSTATE class, throttling, bytes in and out, transaction, query and pool-wait duration
// histograms. Per backend: up, connect errors, server connections by host and state. Per worker:
// event-loop CPU time. Process: build info (version, revision, instance id), the standard process_*
// series (process_metrics.h), config reloads, audit events and queue depth, TLS handshake
// failures, cancel requests, policy verdict cache hits and misses. README.md, "Metrics", lists them all.
//
// Series are created once and then updated with atomic operations; hold the TenantSeries
// pointer instead of looking it up per event. Thread-safety: every method may be called from
// any thread.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "protocol/sqlstate.h"
#include "protocol/status.h"
#include "proxy/telemetry/metrics_http.h"
#include "proxy/telemetry/process_metrics.h"

namespace pgtenant::proxy {

class Metrics {
 public:
  struct TenantSeries {
    prometheus::Gauge* clients_active;
    prometheus::Gauge* clients_idle;
    prometheus::Gauge* clients_waiting;
    prometheus::Gauge* servers_active;
    prometheus::Gauge* servers_idle;
    prometheus::Counter* transactions;
    prometheus::Counter* statements;        // executions the server completed (CommandComplete, EmptyQueryResponse)
    prometheus::Counter* statement_errors;  // ErrorResponse to a client request
    prometheus::Counter* auth_failures;
    prometheus::Counter* bytes_in;
    prometheus::Counter* bytes_out;
    prometheus::Histogram* transaction_seconds;
    prometheus::Histogram* pool_wait_seconds;
    prometheus::Histogram* query_seconds;  // a request (Query, or up to Sync) to its ReadyForQuery
    prometheus::Gauge* pool_size;
    prometheus::Gauge* pool_max_wait_seconds;
    prometheus::Counter* throttled;
    prometheus::Counter* throttle_delay_seconds;
    // Process-wide, never given twice (across Metrics instances too): where a thread tallies it.
    uint32_t tally_index = 0;
  };
  // A tenant's series as its sessions tally into it: the tally index kept beside the pointer, so that a
  // transaction's tallies read no line of the series itself (with a thousand tenants, each is a miss).
  struct TallyTarget {
    TenantSeries* series = nullptr;
    uint32_t index = 0;
    TallyTarget() = default;
    explicit TallyTarget(TenantSeries* s) : series(s), index(s->tally_index) {}
  };
  struct BackendSeries {
    prometheus::Gauge* up;
    prometheus::Counter* connect_errors;
    prometheus::Counter* tls_handshake_failures;
  };

  Metrics();
  // Serves GET /metrics (and /healthz, /readyz from `probes`) on config.address:port from `loop`
  // (`port`: config.port, or this instance's under metrics.port_per_instance). Errors name the address.
  Status Serve(uv_loop_t* loop, const config::MetricsConfig& config, int port, ProbeSource* probes);
  void StopServing() { http_.Close(); }

  TenantSeries* ForTenant(const std::string& tenant);
  BackendSeries* ForBackend(const std::string& backend);
  // pgtenant_backend_host_up{backend, host="H:P"}: one series per configured host (bounded by the
  // config). Remove drops it when a reload takes the host away.
  prometheus::Gauge* ForBackendHost(const std::string& backend, const std::string& host);
  void RemoveBackendHost(prometheus::Gauge* series);
  void CountBlocked(const std::string& tenant, const std::string& rule);
  // pgtenant_refusals_total: a client or a request pgtenant refused or ended with an error of its own.
  // `reason` is one of a fixed set of literals (README); `tenant` "" before routing.
  void CountRefusal(const std::string& tenant, std::string_view reason, std::string_view sqlstate);
  // The reason of a login or request that got no server connection (the pool's SQLSTATE): pool_timeout
  // (53300), shutdown (57P01) or backend_unavailable. A literal.
  static const char* NoServerReason(std::string_view code) {
    return code == sqlstate::kTooManyConnections ? "pool_timeout"
           : code == sqlstate::kAdminShutdown    ? "shutdown"
                                                 : "backend_unavailable";
  }
  // pgtenant_client_tls_handshake_failures_total (the server side is in BackendSeries).
  void CountClientTlsHandshakeFailure() { client_tls_failures_.Increment(); }
  // pgtenant_cancel_requests_total{result="matched"|"forwarded"|"unmatched"}.
  void CountCancel(std::string_view result);
  // A throttled transaction of `series` waited `seconds` for a token.
  static void CountThrottled(TenantSeries* series, double seconds);
  // pgtenant_server_connections_by_host{backend, host, state}: a worker adds what changed in its counts.
  prometheus::Gauge* ForServerConnections(const std::string& backend, const std::string& host, std::string_view state);
  // pgtenant_pool_max_wait_seconds{tenant}: each worker reports its longest waiter; the gauge is the
  // longest of all workers.
  void SetPoolMaxWait(int worker, TenantSeries* series, double seconds);
  // pgtenant_worker_cpu_seconds_total{worker}: the worker thread's CPU time so far.
  void SetWorkerCpuSeconds(int worker, double seconds);
  // The instance id (--instance-id) in build_info, when set.
  void SetInstanceId(std::optional<int> id);
  // Audit queue depth, refreshed by worker 0 once a second. (The process_* series are read from /proc
  // when /metrics is scraped: an idle proxy nobody scrapes does not read them.)
  void SetAuditQueue(size_t depth, size_t capacity, uint64_t failed);

  // Per-transaction updates (transactions, statements, bytes, the three duration histograms) are summed
  // per thread and added to the series by FlushThreadTally: a worker flushes them once a second (on
  // its first tick after a quiet spell, within 500 ms), before an admin SHOW STATS and when it stops,
  // so a scrape lags by a second at most. Updating the shared series directly cost two mutexes and
  // about eight atomic read-modify-writes per transaction (~8% of pgtenant's user CPU under pgbench -S);
  // a histogram's flush costs a mutex and 16 of them (prometheus::Histogram::ObserveMultiple), and each
  // counter's one, on a cache line of that tenant's: with a thousand tenants on a worker, each with a few
  // transactions per flush, flushing the counters every 100 ms cost about one such miss per transaction.
  // A transaction ended after `seconds`; the client's bytes not yet tallied come with it.
  static void TallyTransaction(TallyTarget target, double seconds, uint64_t bytes_in = 0, uint64_t bytes_out = 0);
  static void TallyPoolWait(TallyTarget target, double seconds);
  // Answers the server sent a client: statements `completed` (CommandComplete, EmptyQueryResponse)
  // and `failed` (ErrorResponse), and, when they answered the last request in flight, the time since
  // the first was sent (pgtenant_query_duration_seconds). One call per read of the server's answers.
  static void TallyAnswers(TallyTarget target, uint32_t completed, uint32_t failed,
                           std::optional<double> query_seconds);
  static void TallyBytes(TallyTarget target, uint64_t in, uint64_t out);
  // Whether anything was tallied on this thread since the last call (a worker's tick stays busy).
  static bool TakeThreadActivity();
  // True when there was something to add (transactions ran on this thread since the last flush).
  // `histograms` false: the counters only (the histograms keep what they have for the next flush).
  static bool FlushThreadTally(bool histograms = true);

  void CountReload(bool ok);
  // Mirrors totals kept elsewhere (audit log, verdict cache) into counters.
  void SetAuditTotals(uint64_t written, uint64_t dropped);
  void SetPolicyCacheTotals(uint64_t hits, uint64_t misses);

 private:
  static void Advance(prometheus::Counter& counter, uint64_t total);
  static uint32_t NextTallyIndex();

  std::shared_ptr<prometheus::Registry> registry_;
  MetricsHttp http_;
  prometheus::Family<prometheus::Gauge>& client_connections_;
  prometheus::Family<prometheus::Gauge>& server_connections_;
  prometheus::Family<prometheus::Counter>& transactions_;
  prometheus::Family<prometheus::Counter>& statements_;
  prometheus::Family<prometheus::Counter>& statement_errors_;
  prometheus::Family<prometheus::Counter>& blocked_;
  prometheus::Family<prometheus::Counter>& auth_failures_;
  prometheus::Family<prometheus::Counter>& bytes_in_;
  prometheus::Family<prometheus::Counter>& bytes_out_;
  prometheus::Family<prometheus::Histogram>& transaction_seconds_;
  prometheus::Family<prometheus::Histogram>& pool_wait_seconds_;
  prometheus::Family<prometheus::Histogram>& query_seconds_;
  prometheus::Family<prometheus::Gauge>& pool_size_;
  prometheus::Family<prometheus::Gauge>& pool_max_wait_;
  prometheus::Family<prometheus::Counter>& throttled_;
  prometheus::Family<prometheus::Counter>& throttle_delay_;
  prometheus::Family<prometheus::Counter>& refusals_;
  prometheus::Family<prometheus::Counter>& backend_tls_failures_;
  prometheus::Family<prometheus::Counter>& cancels_;
  prometheus::Family<prometheus::Gauge>& server_connections_by_host_;
  prometheus::Family<prometheus::Counter>& worker_cpu_;
  prometheus::Family<prometheus::Gauge>& build_info_;
  prometheus::Gauge* build_info_series_ = nullptr;
  prometheus::Family<prometheus::Gauge>& backend_up_;
  prometheus::Family<prometheus::Counter>& backend_connect_errors_;
  prometheus::Family<prometheus::Gauge>& backend_host_up_;
  prometheus::Family<prometheus::Counter>& reloads_;
  prometheus::Gauge& last_reload_success_;
  prometheus::Counter& audit_written_;
  prometheus::Counter& audit_dropped_;
  prometheus::Counter& cache_hits_;
  prometheus::Counter& cache_misses_;
  prometheus::Counter& audit_failed_;
  prometheus::Counter& client_tls_failures_;
  prometheus::Gauge& audit_queue_depth_;
  prometheus::Gauge& audit_queue_capacity_;
  ProcessMetrics process_;

  std::mutex mu_;
  std::map<std::string, TenantSeries> tenants_;    // GUARDED_BY(mu_)
  std::map<std::string, BackendSeries> backends_;  // GUARDED_BY(mu_)
  std::map<TenantSeries*, std::map<int, double>> pool_max_wait_by_worker_;  // GUARDED_BY(mu_)
  std::map<int, prometheus::Counter*> worker_cpu_series_;                   // GUARDED_BY(mu_)
};

}  // namespace pgtenant::proxy
