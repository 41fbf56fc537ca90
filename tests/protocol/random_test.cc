// Specification of FillRandom / RandomInt32: every draw is fresh, across the per-thread pool's refills,
// for large requests, in other threads, and in a forked child.
#include "protocol/random.h"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <array>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace pgtenant::protocol {
namespace {

std::string Draw(size_t size) {
  std::string bytes(size, '\0');
  FillRandom(std::span<uint8_t>(reinterpret_cast<uint8_t*>(bytes.data()), bytes.size()));
  return bytes;
}

TEST_CASE("FillRandom never repeats a draw, across pool refills and sizes", "[random]") {
  std::set<std::string> seen;
  for (size_t size : {16, 17, 24, 64, 65, 300}) {
    for (int i = 0; i < 200; ++i) {
      INFO("size " << size << ", draw " << i);
      CHECK(seen.insert(Draw(size)).second);
    }
  }
}

TEST_CASE("RandomInt32 spreads over the whole range", "[random]") {
  std::set<int32_t> values;
  int negative = 0;
  for (int i = 0; i < 4000; ++i) {
    const int32_t v = RandomInt32();
    values.insert(v);
    if (v < 0) ++negative;
  }
  CHECK(values.size() >= 3990);  // 4,000 draws from 2^32 values: a repeat is rare, many are a bug
  CHECK(negative > 1500);
  CHECK(negative < 2500);
}

TEST_CASE("Threads draw different bytes", "[random]") {
  std::array<std::string, 4> drawn;
  std::vector<std::thread> threads;
  for (size_t t = 0; t < drawn.size(); ++t) threads.emplace_back([&drawn, t] { drawn[t] = Draw(32); });
  for (std::thread& t : threads) t.join();
  CHECK(std::set<std::string>(drawn.begin(), drawn.end()).size() == drawn.size());
}

TEST_CASE("A forked child does not draw what its parent draws next", "[random]") {
  (void)Draw(16);  // the pool holds unused bytes now
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    const std::string bytes = Draw(16);
    const ssize_t written = write(fds[1], bytes.data(), bytes.size());
    _exit(written == static_cast<ssize_t>(bytes.size()) ? 0 : 1);
  }
  close(fds[1]);
  const std::string mine = Draw(16);
  std::string theirs(16, '\0');
  const ssize_t got = read(fds[0], theirs.data(), theirs.size());
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  REQUIRE(got == 16);
  CHECK(WIFEXITED(status));
  CHECK(mine != theirs);
}

}  // namespace
}  // namespace pgtenant::protocol
