// The per-thread metric tally (proxy/telemetry/metrics.h) adds up to what direct updates give, and the loop
// clock (proxy/io/loop_clock.h) holds one reading per turn of a loop.
#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

#include "proxy/io/loop_clock.h"
#include "proxy/telemetry/metrics.h"

namespace pgtenant::proxy {
namespace {

TEST_CASE("tallied transactions reach the series as direct observations would, after a flush", "[metrics]") {
  Metrics tallied;
  Metrics direct;
  Metrics::TenantSeries* series = tallied.ForTenant("acme");
  const Metrics::TallyTarget t(series);
  Metrics::TenantSeries* d = direct.ForTenant("acme");
  // Values on bucket bounds, between them, below the first and above the last.
  const std::vector<double> seconds = {0.0001, 0.0005, 0.0007, 0.001, 0.003, 0.01, 0.7, 2.5, 9.0, 10.0, 42.0};
  for (double s : seconds) {
    Metrics::TallyTransaction(t, s);
    Metrics::TallyPoolWait(t, s / 2);
    Metrics::TallyAnswers(t, 2, 1, s / 4);
    Metrics::TallyAnswers(t, 0, 0, std::nullopt);  // a read that answered nothing
    d->transactions->Increment();
    d->transaction_seconds->Observe(s);
    d->pool_wait_seconds->Observe(s / 2);
    d->statements->Increment(2);
    d->statement_errors->Increment();
    d->query_seconds->Observe(s / 4);
  }
  Metrics::TallyBytes(t, 100, 2000);
  Metrics::TallyTransaction(t, 0.0001, 23, 0);
  d->transactions->Increment();
  d->transaction_seconds->Observe(0.0001);

  CHECK(series->transactions->Value() == 0);  // nothing before the flush
  CHECK(series->transaction_seconds->Collect().histogram.sample_count == 0);
  Metrics::FlushThreadTally();

  CHECK(series->transactions->Value() == static_cast<double>(seconds.size() + 1));
  CHECK(series->statements->Value() == static_cast<double>(2 * seconds.size()));
  CHECK(series->statement_errors->Value() == static_cast<double>(seconds.size()));
  CHECK(series->bytes_in->Value() == 123);
  CHECK(series->bytes_out->Value() == 2000);
  for (auto [mine, theirs] : {std::pair{series->transaction_seconds, d->transaction_seconds},
                              std::pair{series->pool_wait_seconds, d->pool_wait_seconds},
                              std::pair{series->query_seconds, d->query_seconds}}) {
    const auto a = mine->Collect().histogram;
    const auto b = theirs->Collect().histogram;
    CHECK(a.sample_count == b.sample_count);
    CHECK(a.sample_sum == Approx(b.sample_sum));
    REQUIRE(a.bucket.size() == b.bucket.size());
    for (size_t i = 0; i < a.bucket.size(); ++i) {
      INFO("bucket le=" << a.bucket[i].upper_bound);
      CHECK(a.bucket[i].cumulative_count == b.bucket[i].cumulative_count);
    }
  }

  // A second flush adds nothing more; a later tally is added once.
  Metrics::FlushThreadTally();
  CHECK(series->transactions->Value() == static_cast<double>(seconds.size() + 1));
  Metrics::TallyTransaction(t, 0.002);
  Metrics::FlushThreadTally();
  CHECK(series->transactions->Value() == static_cast<double>(seconds.size() + 2));
}

TEST_CASE("a tally holds more observations in one bucket than a bucket counts between flushes", "[metrics]") {
  // A tally's bucket counts to 255, then hands what it holds to the series and starts again.
  Metrics tallied;
  Metrics direct;
  Metrics::TenantSeries* series = tallied.ForTenant("acme");
  Metrics::TenantSeries* d = direct.ForTenant("acme");
  const Metrics::TallyTarget t(series);
  for (int i = 0; i < 1000; ++i) {
    const double seconds = i % 3 == 0 ? 0.0002 : 0.0123;
    Metrics::TallyTransaction(t, seconds);
    d->transactions->Increment();
    d->transaction_seconds->Observe(seconds);
  }
  Metrics::FlushThreadTally();
  CHECK(series->transactions->Value() == 1000);
  const auto a = series->transaction_seconds->Collect().histogram;
  const auto b = d->transaction_seconds->Collect().histogram;
  CHECK(a.sample_count == 1000);
  CHECK(a.sample_sum == Approx(b.sample_sum));
  REQUIRE(a.bucket.size() == b.bucket.size());
  for (size_t i = 0; i < a.bucket.size(); ++i) CHECK(a.bucket[i].cumulative_count == b.bucket[i].cumulative_count);
}

TEST_CASE("each thread flushes its own tally", "[metrics]") {
  Metrics metrics;
  Metrics::TenantSeries* s = metrics.ForTenant("acme");
  const Metrics::TallyTarget target(s);
  std::thread other([target] { Metrics::TallyTransaction(target, 0.001); });  // never flushed
  other.join();
  Metrics::TallyTransaction(target, 0.001);
  Metrics::FlushThreadTally();
  CHECK(s->transactions->Value() == 1);
}

TEST_CASE("the longest pool wait is the longest of every worker's, and falls back when it ends", "[metrics]") {
  Metrics metrics;
  Metrics::TenantSeries* s = metrics.ForTenant("acme");
  metrics.SetPoolMaxWait(0, s, 0.5);
  metrics.SetPoolMaxWait(1, s, 2.0);
  CHECK(s->pool_max_wait_seconds->Value() == 2.0);
  metrics.SetPoolMaxWait(0, s, 1.0);
  CHECK(s->pool_max_wait_seconds->Value() == 2.0);
  metrics.SetPoolMaxWait(1, s, 0);
  CHECK(s->pool_max_wait_seconds->Value() == 1.0);
}

TEST_CASE("a request with no server is refused for the pool's reason; throttling sums its delay", "[metrics]") {
  CHECK(std::string(Metrics::NoServerReason("53300")) == "pool_timeout");
  CHECK(std::string(Metrics::NoServerReason("57P01")) == "shutdown");
  CHECK(std::string(Metrics::NoServerReason("08006")) == "backend_unavailable");
  CHECK(std::string(Metrics::NoServerReason("57P03")) == "backend_unavailable");
  Metrics metrics;
  Metrics::TenantSeries* s = metrics.ForTenant("acme");
  Metrics::CountThrottled(s, 0.25);
  Metrics::CountThrottled(s, -1);  // a clock read before the queueing one counts as no delay
  CHECK(s->throttled->Value() == 2);
  CHECK(s->throttle_delay_seconds->Value() == 0.25);
}

TEST_CASE("LoopNow reads the clock once per turn on a loop thread and every time elsewhere", "[metrics]") {
  std::thread loop_thread([] {
    const Clock::time_point before = Clock::now();
    NewLoopTurn();  // as ProxyServer::Serve does before running the loop
    const Clock::time_point first = LoopNow();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(LoopNow() == first);  // the same turn
    CHECK(first >= before);
    NewLoopTurn();  // the loop is about to wait for events
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(LoopNow() - first >= std::chrono::milliseconds(5));
  });
  loop_thread.join();

  std::thread plain_thread([] {
    const Clock::time_point first = LoopNow();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(LoopNow() - first >= std::chrono::milliseconds(5));
  });
  plain_thread.join();
}

}  // namespace
}  // namespace pgtenant::proxy
