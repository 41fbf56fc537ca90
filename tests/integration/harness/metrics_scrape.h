// Reading pgtenant's Prometheus endpoint from a test: scrape, pick a sample, wait for values.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace pgtenant::integration {

// GET /metrics from 127.0.0.1:port over HTTP/1.0: the body, or "" when nothing answers.
std::string ScrapeMetrics(int port);

// The value of the sample `series` (name and labels, as Prometheus prints them, e.g.
// `pgtenant_backend_up{backend="app"}`) in a scrape, or -1 when it is absent.
double MetricSample(const std::string& scrape, const std::string& series);

// Scrapes until `holds(scrape)` is true or `timeout` has passed; the last scrape either way. Gauges are
// refreshed once a second, so a test waits for the value instead of for a second.
std::string AwaitScrape(int port, const std::function<bool(const std::string&)>& holds,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Scrapes until `series` reads `value`; true if it did within `timeout`.
bool AwaitMetric(int port, const std::string& series, double value,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace pgtenant::integration
