// ProcessMetrics: the standard process_* series of Prometheus' client libraries (CPU time, resident
// and virtual memory, open and maximum file descriptors, start time), read from /proc/self.
// prometheus-cpp has no process collector of its own, so dashboards and alerts written for other
// exporters (process_resident_memory_bytes, rate(process_cpu_seconds_total[5m])) work unchanged.
//
// Thread-safety: Update from one thread at a time (the metrics endpoint's loop, at each scrape); the
// series are atomic.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace pgtenant::proxy {

class ProcessMetrics {
 public:
  // Registers the series in `registry` and sets the start time.
  explicit ProcessMetrics(prometheus::Registry& registry);
  // Reads /proc/self/stat, /proc/self/fd and the fd limit. A file that cannot be read leaves its series as they were.
  void Update();

 private:
  prometheus::Counter& cpu_seconds_;
  prometheus::Gauge& resident_bytes_;
  prometheus::Gauge& virtual_bytes_;
  prometheus::Gauge& open_fds_;
  prometheus::Gauge& max_fds_;
  prometheus::Gauge& start_time_;
};

}  // namespace pgtenant::proxy
