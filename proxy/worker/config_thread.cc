// The config thread behind RetireOffLoop and RunOnConfigThread (config_thread.h): one queue of tasks,
// run in order.
#include "proxy/worker/config_thread.h"

#include <malloc.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <utility>

namespace pgtenant::proxy {
namespace {

class ConfigThread {
 public:
  ConfigThread() : thread_([this] { Run(); }) { thread_.detach(); }

  void Post(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks_.push_back(std::move(task));
    }
    wake_.notify_one();
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      wake_.wait(lock, [&] { return !tasks_.empty(); });
      std::function<void()> task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();  // may Post (a snapshot that wraps another hands that one back): the lock is free
      task = nullptr;
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  std::thread thread_;
};

ConfigThread& TheConfigThread() {
  static ConfigThread* thread = new ConfigThread;  // never destroyed: see the header
  return *thread;
}

}  // namespace

std::shared_ptr<const config::Config> RetireOffLoop(std::shared_ptr<const config::Config> config) {
  if (config == nullptr) return config;
  const config::Config* raw = config.get();
  return std::shared_ptr<const config::Config>(raw, [held = std::move(config)](const config::Config*) mutable {
    TheConfigThread().Post([last = std::move(held)]() mutable {
      last.reset();
      malloc_trim(0);
    });
  });
}

void RunOnConfigThread(const std::function<void()>& task) {
  std::promise<void> done;
  std::future<void> reached = done.get_future();
  TheConfigThread().Post([&task, &done] {
    task();
    done.set_value();
  });
  reached.wait();
}

void WaitForRetiredConfigs() {
  RunOnConfigThread([] {});
}

}  // namespace pgtenant::proxy
