// A Catch2 listener that arms a per-test-case deadline and remembers failed assertions.
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include "tests/integration/harness/test_watch.h"

#include <catch2/catch.hpp>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

namespace pgtenant::integration {
namespace {

// Leaked on purpose: the watchdog thread is detached and may outlive static destruction.
struct WatchState {
  std::mutex mu;
  std::condition_variable changed;
  std::string test_name;  // GUARDED_BY(mu)
  std::chrono::steady_clock::time_point deadline;  // GUARDED_BY(mu)
  bool armed = false;  // GUARDED_BY(mu)
  bool failed = false;  // GUARDED_BY(mu)
};

WatchState& State() {
  static WatchState* state = new WatchState();
  return *state;
}

int DeadlineSeconds() {
  static const int seconds = [] {
    const char* text = std::getenv("PGTENANT_IT_DEADLINE_SECONDS");
    const int value = text == nullptr ? 0 : std::atoi(text);
    return value > 0 ? value : kTestCaseDeadlineSeconds;
  }();
  return seconds;
}

void Watchdog() {
  WatchState& state = State();
  std::unique_lock<std::mutex> lock(state.mu);
  for (;;) {
    if (!state.armed) {
      state.changed.wait(lock);
      continue;
    }
    if (state.changed.wait_until(lock, state.deadline) == std::cv_status::timeout && state.armed &&
        std::chrono::steady_clock::now() >= state.deadline) {
      std::fprintf(stderr, "\n*** test case \"%s\" ran longer than %d s: probably a hang; stopping the run\n",
                   state.test_name.c_str(), DeadlineSeconds());
      std::fflush(stderr);
      kill(getpid(), SIGTERM);  // the harness's handler stops PostgreSQL and removes its directory
      return;
    }
  }
}

class TestWatch : public Catch::TestEventListenerBase {
 public:
  using TestEventListenerBase::TestEventListenerBase;

  void testCaseStarting(Catch::TestCaseInfo const& info) override {
    TestEventListenerBase::testCaseStarting(info);
    static std::once_flag started;
    std::call_once(started, [] { std::thread(Watchdog).detach(); });
    WatchState& state = State();
    std::lock_guard<std::mutex> lock(state.mu);
    state.test_name = info.name;
    state.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(DeadlineSeconds());
    state.armed = true;
    state.failed = false;
    state.changed.notify_all();
  }

  bool assertionEnded(Catch::AssertionStats const& stats) override {
    if (!stats.assertionResult.isOk()) {
      WatchState& state = State();
      std::lock_guard<std::mutex> lock(state.mu);
      state.failed = true;
    }
    return true;
  }

  void testCaseEnded(Catch::TestCaseStats const& stats) override {
    {
      WatchState& state = State();
      std::lock_guard<std::mutex> lock(state.mu);
      state.armed = false;
      state.changed.notify_all();
    }
    TestEventListenerBase::testCaseEnded(stats);
  }
};

CATCH_REGISTER_LISTENER(TestWatch)

}  // namespace

bool CurrentTestCaseFailed() {
  WatchState& state = State();
  std::lock_guard<std::mutex> lock(state.mu);
  return state.failed;
}

}  // namespace pgtenant::integration
