// ProcessMetrics: /proc/self/stat (proc(5): fields 14-15 utime/stime in clock ticks, 22 starttime in
// ticks after boot, 23 vsize in bytes, 24 rss in pages), /proc/stat's btime, /proc/self/fd.
#include "proxy/telemetry/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace pgtenant::proxy {

namespace {

auto& Series(prometheus::Registry& registry, auto builder, const std::string& name, const std::string& help) {
  return builder.Name(name).Help(help).Register(registry).Add({});
}

// The fields of /proc/self/stat after the command name (which may hold spaces), numbered as proc(5)
// numbers them: fields[0] is field 3 (state).
std::vector<std::string> StatFields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return {};
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(line.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}
constexpr size_t kField(size_t proc5_number) { return proc5_number - 3; }
// A numeric field (0 if it is not one: no exception may leave a loop callback).
double Num(const std::string& field) { return std::strtod(field.c_str(), nullptr); }

double BootTime() {
  std::ifstream in("/proc/stat");
  for (std::string key; in >> key;) {
    if (key == "btime") {
      double value = 0;
      in >> value;
      return value;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

}  // namespace

ProcessMetrics::ProcessMetrics(prometheus::Registry& registry)
    : cpu_seconds_(Series(registry, prometheus::BuildCounter(), "process_cpu_seconds_total",
                          "Total user and system CPU time spent in seconds")),
      resident_bytes_(Series(registry, prometheus::BuildGauge(), "process_resident_memory_bytes",
                             "Resident memory size in bytes")),
      virtual_bytes_(Series(registry, prometheus::BuildGauge(), "process_virtual_memory_bytes",
                            "Virtual memory size in bytes")),
      open_fds_(Series(registry, prometheus::BuildGauge(), "process_open_fds", "Number of open file descriptors")),
      max_fds_(Series(registry, prometheus::BuildGauge(), "process_max_fds", "Maximum number of open file descriptors")),
      start_time_(Series(registry, prometheus::BuildGauge(), "process_start_time_seconds",
                         "Start time of the process since unix epoch in seconds")) {
  const std::vector<std::string> fields = StatFields();
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  if (fields.size() > kField(22) && ticks > 0) start_time_.Set(BootTime() + Num(fields[kField(22)]) / ticks);
  Update();
}

void ProcessMetrics::Update() {
  const std::vector<std::string> fields = StatFields();
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  if (fields.size() > kField(24) && ticks > 0) {
    const double cpu = (Num(fields[kField(14)]) + Num(fields[kField(15)])) / ticks;
    if (cpu > cpu_seconds_.Value()) cpu_seconds_.Increment(cpu - cpu_seconds_.Value());
    virtual_bytes_.Set(Num(fields[kField(23)]));
    resident_bytes_.Set(Num(fields[kField(24)]) * static_cast<double>(sysconf(_SC_PAGESIZE)));
  }
  if (DIR* dir = opendir("/proc/self/fd")) {
    int open = 0;
    while (dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') ++open;
    }
    closedir(dir);
    open_fds_.Set(open - 1);  // not the one opendir held
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) max_fds_.Set(static_cast<double>(limit.rlim_cur));
}

}  // namespace pgtenant::proxy
