// RetireOffLoop: a replaced config snapshot is freed by the config thread, not by whichever thread drops
// its last reference, and not before that.
#include <catch2/catch.hpp>

#include <mutex>
#include <optional>
#include <thread>

#include "proxy/worker/config_thread.h"

namespace pgtenant::proxy {
namespace {

TEST_CASE("a retired config is freed on the config thread once its last reference drops", "[reload]") {
  std::mutex mu;
  std::optional<std::thread::id> freed_on;
  auto config = std::shared_ptr<const config::Config>(new config::Config, [&](const config::Config* c) {
    delete c;
    std::lock_guard<std::mutex> lock(mu);
    freed_on = std::this_thread::get_id();
  });
  std::weak_ptr<const config::Config> underlying = config;
  std::shared_ptr<const config::Config> retired = RetireOffLoop(std::move(config));
  REQUIRE(retired.get() == underlying.lock().get());  // the same snapshot

  std::shared_ptr<const config::Config> session_copy = retired;
  retired.reset();
  WaitForRetiredConfigs();
  CHECK_FALSE(underlying.expired());  // a session still holds it
  {
    std::lock_guard<std::mutex> lock(mu);
    CHECK_FALSE(freed_on.has_value());
  }

  session_copy.reset();  // the last reference, dropped here
  WaitForRetiredConfigs();
  CHECK(underlying.expired());
  std::lock_guard<std::mutex> lock(mu);
  REQUIRE(freed_on.has_value());
  CHECK(*freed_on != std::this_thread::get_id());
}

}  // namespace
}  // namespace pgtenant::proxy
