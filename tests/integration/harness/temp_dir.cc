// A temporary directory that is removed with everything in it when its owner goes away.
#include "tests/integration/harness/temp_dir.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "tests/integration/harness/process.h"

namespace pgtenant::integration {

namespace {

constexpr unsigned long long kMemoryDirectoryFreeBytes = 4ULL << 30;

bool MemoryDirectoryUsable() {
  struct statvfs stats{};
  return statvfs("/dev/shm", &stats) == 0 && access("/dev/shm", W_OK) == 0 &&
         static_cast<unsigned long long>(stats.f_bavail) * stats.f_frsize >= kMemoryDirectoryFreeBytes;
}

}  // namespace

TempDir::TempDir(const std::string& prefix, bool for_postgres) {
  const std::string parent = for_postgres && MemoryDirectoryUsable() ? "/dev/shm/" : "/tmp/";
  std::string pattern = parent + prefix + "XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) throw std::runtime_error("mkdtemp " + pattern + ": " + strerror(errno));
  path_ = buffer.data();
  if (for_postgres && RunningAsRoot() && chown(path_.c_str(), PostgresUid(), PostgresGid()) != 0) {
    throw std::runtime_error("chown " + path_ + ": " + strerror(errno));
  }
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace pgtenant::integration
