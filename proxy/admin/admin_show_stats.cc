// SHOW STATS and SHOW TOTALS for the admin console: PgBouncer's statistics columns, per tenant
// (admin_show.h: PgBouncer's database is pgtenant's tenant), since pgtenant started.
//
// Counts, bytes and the transaction and pool-wait times come from the tenant's metric series
// (proxy/telemetry/metrics.h). Query time is how long the tenant's server connections were busy
// answering requests (relay::ServerWire::busy_time, summed by each ServerPool); a pool shared by
// tenants cannot split it by tenant, so its time is in a row of its own, ServerPool::kSharedLabel.
// PgBouncer's avg_* columns average over its last stats_period; pgtenant keeps no periods, so its
// averages are over its uptime (per second for counts and bytes, per item for times).
#include <map>
#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/admin/admin_show.h"
#include "proxy/server/server_pool.h"
#include "proxy/worker/proxy_server.h"
#include "proxy/worker/worker_group.h"

namespace pgtenant::proxy {

namespace {

using admin_text::Micros;
using admin_text::Num;

// Static initialisation runs as the process starts: the uptime the averages are taken over.
const Clock::time_point kStarted = Clock::now();

struct TenantFigures {
  int64_t xact_count = 0, query_count = 0, received = 0, sent = 0;
  int64_t xact_us = 0, query_us = 0, wait_us = 0;
  int64_t xacts_timed = 0, requests = 0, waits = 0;  // what the times are averages over
  int64_t auth_failures = 0;

  void Add(const TenantFigures& o) {
    xact_count += o.xact_count, query_count += o.query_count, received += o.received, sent += o.sent;
    xact_us += o.xact_us, query_us += o.query_us, wait_us += o.wait_us;
    xacts_timed += o.xacts_timed, requests += o.requests, waits += o.waits;
    auth_failures += o.auth_failures;
  }
};

// Tenant (or kSharedLabel) -> figures, in name order; every configured tenant has a row.
std::map<std::string, TenantFigures> Figures(ProxyServer& proxy) {
  // Every worker's pools, and what the workers counted since their last tick, are in the figures.
  std::vector<std::map<std::string, ServerPool::QueryTotals>> per_worker(static_cast<size_t>(proxy.group().size()));
  proxy.group().RunOnAll(proxy, [&](ProxyServer& worker) {
    Metrics::FlushThreadTally();
    auto& totals = per_worker[static_cast<size_t>(worker.index())];
    for (const auto& [identity, pool] : worker.pools()) {
      ServerPool::QueryTotals t = pool->query_totals();
      ServerPool::QueryTotals& into = totals[std::string(pool->tenant_label())];
      into.requests += t.requests;
      into.busy += t.busy;
    }
  });
  std::map<std::string, TenantFigures> figures;
  for (const auto& [name, tenant] : proxy.config()->tenants) {
    Metrics::TenantSeries* series = proxy.metrics().ForTenant(name);
    auto count = [](const prometheus::Counter* c) { return static_cast<int64_t>(c->Value()); };
    const auto xact = series->transaction_seconds->Collect().histogram;
    const auto wait = series->pool_wait_seconds->Collect().histogram;
    TenantFigures& f = figures[name];
    f.xact_count = count(series->transactions);
    f.query_count = count(series->statements);
    f.received = count(series->bytes_in);
    f.sent = count(series->bytes_out);
    f.xact_us = static_cast<int64_t>(xact.sample_sum * 1e6);
    f.xacts_timed = static_cast<int64_t>(xact.sample_count);
    f.wait_us = static_cast<int64_t>(wait.sample_sum * 1e6);
    f.waits = static_cast<int64_t>(wait.sample_count);
    f.auth_failures = count(series->auth_failures);
  }
  for (const auto& totals : per_worker) {
    for (const auto& [label, t] : totals) {
      // A tenant removed by a reload may still have pools: its row is gone, its time goes nowhere.
      auto it = figures.find(label);
      if (it == figures.end() && label != ServerPool::kSharedLabel) continue;
      TenantFigures& f = figures[label];
      f.query_us += Micros(t.busy);
      f.requests += static_cast<int64_t>(t.requests);
    }
  }
  return figures;
}

int64_t PerItem(int64_t total, int64_t items) { return items > 0 ? total / items : 0; }

// The columns of SHOW STATS after `database`, in PgBouncer's order, as (name, value).
std::vector<std::pair<const char*, int64_t>> Columns(const TenantFigures& f) {
  const int64_t seconds =
      std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - kStarted).count());
  return {{"total_xact_count", f.xact_count},
          {"total_query_count", f.query_count},
          {"total_received", f.received},
          {"total_sent", f.sent},
          {"total_xact_time", f.xact_us},
          {"total_query_time", f.query_us},
          {"total_wait_time", f.wait_us},
          {"avg_xact_count", f.xact_count / seconds},
          {"avg_query_count", f.query_count / seconds},
          {"avg_recv", f.received / seconds},
          {"avg_sent", f.sent / seconds},
          {"avg_xact_time", PerItem(f.xact_us, f.xacts_timed)},
          {"avg_query_time", PerItem(f.query_us, f.requests)},
          {"avg_wait_time", PerItem(f.wait_us, f.waits)},
          // PgBouncer before 1.8 (and prometheus-pgbouncer-exporter 1.7, which Debian 12 ships) read
          // total_requests, what 1.8 renamed total_query_count.
          {"total_requests", f.query_count},
          {"auth_failures", f.auth_failures}};
}

}  // namespace

void ShowStats(ProxyServer& proxy, Table& rows) {
  const std::map<std::string, TenantFigures> figures = Figures(proxy);
  rows.SetColumns({{"database"},
                    {"total_xact_count", true},
                    {"total_query_count", true},
                    {"total_received", true},
                    {"total_sent", true},
                    {"total_xact_time", true},
                    {"total_query_time", true},
                    {"total_wait_time", true},
                    {"avg_xact_count", true},
                    {"avg_query_count", true},
                    {"avg_recv", true},
                    {"avg_sent", true},
                    {"avg_xact_time", true},
                    {"avg_query_time", true},
                    {"avg_wait_time", true},
                    {"total_requests", true},
                    {"auth_failures", true}});
  for (const auto& [name, f] : figures) {
    Table::Row row{name};
    for (const auto& [column, value] : Columns(f)) row.push_back(Num(value));
    rows.Add(std::move(row));
  }
}

void ShowTotals(ProxyServer& proxy, Table& rows) {
  TenantFigures sum;
  for (const auto& [name, f] : Figures(proxy)) sum.Add(f);
  rows.SetColumns({{"name"}, {"value", true}});
  for (const auto& [column, value] : Columns(sum)) rows.Add({std::string(column), Num(value)});
}

}  // namespace pgtenant::proxy
