// A temporary directory that is removed with everything in it when its owner goes away.
#pragma once

#include <string>

namespace pgtenant::integration {

class TempDir {
 public:
  // Creates /tmp/<prefix>XXXXXX (mkdtemp, mode 0700). When `for_postgres`, in /dev/shm instead if it is a
  // tmpfs with 4 GB free (a cluster of a test run is written and removed in memory, never waiting for
  // the disk), and when running as root, the directory is handed to the postgres OS user. Throws
  // std::runtime_error on failure.
  explicit TempDir(const std::string& prefix, bool for_postgres = false);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace pgtenant::integration
