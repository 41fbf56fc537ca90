// ServerPool against a fake PostgreSQL on a real libuv loop: checkout, release and reset, waiters in
// order, wait timeout, lifetime and idle retirement, a backend that dies or is down, closing.
#include "proxy/server/server_pool.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "protocol/sqlstate.h"
#include "proxy/server/backend_budget.h"
#include "tests/support/fake_postgres.h"

namespace pgtenant::proxy {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A client session as the pool sees it: what it was told, in order, in a log shared by all.
class FakeClient final : public PoolClient {
 public:
  FakeClient(std::string name, std::vector<std::string>* log, ServerPool* pool)
      : name_(std::move(name)), log_(log), pool_(pool) {}
  ServerPool* pool() const { return pool_; }
  void OnServerAssigned(ServerConnection* server) override {
    server_ = server;
    log_->push_back(name_);
  }
  void OnServerUnavailable(const Status& why) override {
    refused_ = why;
    log_->push_back(name_ + " refused");
  }
  ServerConnection* server() const { return server_; }
  // The server goes back to the pool; the client holds none.
  ServerConnection* TakeServer() { return std::exchange(server_, nullptr); }
  const std::optional<Status>& refused() const { return refused_; }

 private:
  std::string name_;
  std::vector<std::string>* log_;
  ServerPool* pool_;
  ServerConnection* server_ = nullptr;
  std::optional<Status> refused_;
};

config::PoolSettings Settings(int size) {
  config::PoolSettings settings;
  settings.size = size;
  settings.wait_timeout = milliseconds(1000);
  return settings;
}

struct Loop {
  Loop() { uv_loop_init(&loop); }
  uv_loop_t loop{};
};

// A loop, a fake PostgreSQL on it, and a pool of connections to that fake.
class PoolFixture : private Loop {
 public:
  // `cap` > 0: the backend's max_connections, a BackendBudget shared with the pools of OtherPool.
  explicit PoolFixture(config::PoolSettings settings, int cap = 0) : fake_(&loop), settings_(settings) {
    // Wakes the loop now and then, so that RunUntil re-checks its condition and its deadline even
    // when nothing else happens.
    uv_timer_init(&loop, &wake_);
    uv_timer_start(&wake_, [](uv_timer_t*) {}, 20, 20);
    if (cap > 0) budget_ = std::make_unique<BackendBudget>("fakedb", cap);
    REQUIRE(OtherPool("acme").name() == "acme/fakedb/app_user/rw");
  }

  ~PoolFixture() {
    for (const auto& pool : pools_) pool->CloseAll();
    for (const auto& client : clients_) {  // what a test left held goes back (and closes: the pool is closing)
      if (client->server() != nullptr) client->pool()->Release(client->TakeServer(), false);
    }
    CHECK(RunUntil([&] {
      for (const auto& pool : pools_)
        if (!pool->empty()) return false;
      return true;
    }));
    fake_.Close();
    uv_close(reinterpret_cast<uv_handle_t*>(&wake_), nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);  // every handle closed: no connection leaked
  }

  // Another pool to the same fake backend (and budget), for `tenant`.
  ServerPool& OtherPool(const std::string& tenant) {
    config::BackendConfig backend;
    backend.name = "fakedb";
    backend.host = "127.0.0.1";
    backend.port = fake_.port();
    backend.hosts = {{"127.0.0.1", fake_.port()}};
    backend.database = "app";
    backend.user = "app_user";
    routing::PoolIdentity identity;
    identity.backend = routing::BackendTargetOf(backend);
    identity.tenant = tenant;
    identity.server_startup = {{"options", "-c app.tenant=" + tenant}};
    return *pools_.emplace_back(std::make_unique<ServerPool>(&loop, identity, settings_, budget_.get()));
  }

  // Runs the loop until `done` holds, for at most 10 s; returns whether it held.
  bool RunUntil(const std::function<bool()>& done) {
    const auto deadline = Clock::now() + seconds(10);
    while (!done()) {
      if (Clock::now() >= deadline) return false;
      uv_run(&loop, UV_RUN_ONCE);
    }
    return true;
  }

  // A client of `pool` (null: the first pool), alive as long as the fixture. Whatever it still
  // holds at the end goes back.
  FakeClient& Client(std::string name, ServerPool* pool = nullptr) {
    return *clients_.emplace_back(
        std::make_unique<FakeClient>(std::move(name), &log_, pool != nullptr ? pool : pools_.front().get()));
  }

  // ServerPool::Acquire for `client`, which then holds what it returns.
  ServerConnection* Acquire(FakeClient& client, std::string_view preferred_tag = {}) {
    ServerConnection* now = client.pool()->Acquire(&client, preferred_tag);
    if (now != nullptr) client.OnServerAssigned(now);
    return now;
  }

  // `client` asks for a connection and gets one (at once or after a login).
  ServerConnection* Checkout(FakeClient& client) {
    if (ServerConnection* now = Acquire(client)) return now;
    REQUIRE(RunUntil([&] { return client.server() != nullptr || client.refused().has_value(); }));
    REQUIRE(client.server() != nullptr);
    return client.server();
  }

  ServerPool& pool() { return *pools_.front(); }
  testing::FakePostgres& fake() { return fake_; }
  BackendBudget* budget() { return budget_.get(); }
  std::vector<std::string>& log() { return log_; }

 private:
  uv_timer_t wake_{};
  testing::FakePostgres fake_;
  config::PoolSettings settings_;
  std::unique_ptr<BackendBudget> budget_;  // outlives the pools registered with it
  std::vector<std::unique_ptr<ServerPool>> pools_;
  std::vector<std::string> log_;
  std::vector<std::unique_ptr<FakeClient>> clients_;
};

TEST_CASE("the first checkout logs in with the pool's startup parameters and hands out an idle connection",
          "[server_pool]") {
  PoolFixture f(Settings(2));
  FakeClient &a = f.Client("a");
  CHECK(f.Acquire(a) == nullptr);  // nothing idle: a waits while a connection logs in
  CHECK(f.pool().waiting_count() == 1);
  CHECK(f.pool().total() == 1);
  REQUIRE(f.RunUntil([&] { return a.server() != nullptr; }));
  CHECK(f.log() == std::vector<std::string>{"a"});
  CHECK(a.server()->state() == ServerConnection::State::kIdle);
  CHECK(f.pool().waiting_count() == 0);
  CHECK(f.pool().idle_count() == 0);
  REQUIRE(f.fake().logins().size() == 1);
  const testing::FakePostgres::Login& login = f.fake().logins()[0];
  CHECK(login.params.at("user") == "app_user");
  CHECK(login.params.at("database") == "app");
  CHECK(login.params.at("options") == "-c app.tenant=acme");
  CHECK(a.server()->backend_pid() == login.pid);
  CHECK(f.pool().acquisitions() == 1);
}

TEST_CASE("a connection released clean is handed to the next client at once, without a new login", "[server_pool]") {
  PoolFixture f(Settings(2));
  FakeClient &a = f.Client("a"), &b = f.Client("b");
  ServerConnection* first = f.Checkout(a);
  f.pool().Release(a.TakeServer(), /*reset=*/false);
  CHECK(f.pool().idle_count() == 1);
  CHECK(f.pool().total() == 1);
  CHECK(f.Acquire(b) == first);
  CHECK(f.pool().idle_count() == 0);
  CHECK(f.fake().logins().size() == 1);
  CHECK(f.fake().queries().empty());  // no reset asked for, none run
}

TEST_CASE("a connection released with reset runs DISCARD ALL before anyone else gets it", "[server_pool]") {
  PoolFixture f(Settings(1));
  FakeClient &a = f.Client("a"), &b = f.Client("b");
  ServerConnection* first = f.Checkout(a);
  const int32_t pid = first->backend_pid();
  f.pool().Release(a.TakeServer(), /*reset=*/true);
  CHECK(f.pool().idle_count() == 0);  // resetting: not handed out yet
  CHECK(f.Acquire(b) == nullptr);  // b waits for the reset, not for a new connection
  CHECK(f.pool().total() == 1);
  REQUIRE(f.RunUntil([&] { return b.server() != nullptr; }));
  CHECK(b.server() == first);
  REQUIRE(f.fake().queries().size() == 1);
  CHECK(f.fake().queries()[0] == std::pair<int32_t, std::string>(pid, "DISCARD ALL"));
  CHECK(f.fake().logins().size() == 1);
}

TEST_CASE("a connection whose reset fails is closed; the waiter gets a new one", "[server_pool]") {
  PoolFixture f(Settings(1));
  FakeClient &a = f.Client("a"), &b = f.Client("b");
  const int32_t pid = f.Checkout(a)->backend_pid();
  f.fake().set_failing_prefix("DISCARD");
  f.pool().Release(a.TakeServer(), /*reset=*/true);
  CHECK(f.Acquire(b) == nullptr);
  REQUIRE(f.RunUntil([&] { return b.server() != nullptr; }));
  CHECK(b.server()->backend_pid() != pid);
  CHECK(f.fake().logins().size() == 2);
}

TEST_CASE("waiters are served first come, first served; one that stops waiting is skipped", "[server_pool]") {
  PoolFixture f(Settings(1));
  FakeClient &a = f.Client("a"), &b = f.Client("b"), &c = f.Client("c"), &d = f.Client("d"), &e = f.Client("e");
  f.Checkout(a);
  for (FakeClient* client : {&b, &c, &d, &e}) {
    CHECK(f.Acquire(*client) == nullptr);
  }
  CHECK(f.pool().waiting_count() == 4);
  f.pool().CancelWait(&d);
  CHECK(f.pool().waiting_count() == 3);
  // Each release hands the one connection to the longest waiter, there and then.
  f.pool().Release(a.TakeServer(), false);
  f.pool().Release(b.TakeServer(), false);
  f.pool().Release(c.TakeServer(), false);
  CHECK(e.server() != nullptr);
  CHECK(f.log() == std::vector<std::string>{"a", "b", "c", "e"});
  CHECK(f.fake().logins().size() == 1);
  CHECK(f.pool().waiting_count() == 0);
}

TEST_CASE("on a shared pool, waiting tenants take turns: one tenant's flood does not hold back another's waiter",
          "[server_pool]") {
  PoolFixture f(Settings(1));
  FakeClient &a = f.Client("a"), &f1 = f.Client("f1"), &f2 = f.Client("f2"), &f3 = f.Client("f3"),
             &q = f.Client("q");
  f.Checkout(a);
  for (FakeClient* client : {&f1, &f2, &f3}) CHECK(f.Acquire(*client, "flood/rw") == nullptr);
  CHECK(f.Acquire(q, "quiet/rw") == nullptr);  // last in, but the first of its tenant
  CHECK(f.pool().waiting_count() == 4);
  f.pool().Release(a.TakeServer(), false);
  f.pool().Release(f1.TakeServer(), false);
  f.pool().Release(q.TakeServer(), false);
  f.pool().Release(f2.TakeServer(), false);
  CHECK(f3.server() != nullptr);
  CHECK(f.log() == std::vector<std::string>{"a", "f1", "q", "f2", "f3"});
  CHECK(f.pool().waiting_count() == 0);
}

TEST_CASE("a waiter past wait_timeout gets 53300 naming the pool; a holder is not disturbed", "[server_pool]") {
  PoolFixture f(Settings(1));
  FakeClient &a = f.Client("a"), &b = f.Client("b");
  f.Checkout(a);
  const Clock::time_point asked = Clock::now();
  CHECK(f.Acquire(b) == nullptr);
  f.pool().Tick(asked);
  CHECK_FALSE(b.refused().has_value());
  f.pool().Tick(asked + milliseconds(1000) + milliseconds(50));
  REQUIRE(b.refused().has_value());
  CHECK(b.refused()->sqlstate() == sqlstate::kTooManyConnections);
  CHECK_THAT(b.refused()->message(), Catch::Contains("acme/fakedb/app_user/rw") && Catch::Contains("1000 ms"));
  CHECK(f.pool().waiting_count() == 0);
  CHECK(a.server() != nullptr);
  CHECK(a.server()->state() == ServerConnection::State::kIdle);
}

TEST_CASE("an idle connection past its lifetime is closed, and the next client gets a new one", "[server_pool]") {
  config::PoolSettings settings = Settings(2);
  settings.lifetime = seconds(60);
  PoolFixture f(settings);
  FakeClient &a = f.Client("a"), &b = f.Client("b");
  const int32_t first_pid = f.Checkout(a)->backend_pid();
  f.pool().Release(a.TakeServer(), false);
  f.pool().Tick(Clock::now() + seconds(30));
  CHECK(f.pool().idle_count() == 1);  // young enough
  f.pool().Tick(Clock::now() + seconds(61));
  CHECK(f.pool().idle_count() == 0);
  REQUIRE(f.RunUntil([&] { return f.pool().empty() && f.fake().open_connections() == 0; }));
  CHECK(f.fake().terminated() == 1);  // closed politely, with Terminate
  CHECK(f.Checkout(b)->backend_pid() != first_pid);
  CHECK(f.fake().logins().size() == 2);
}

TEST_CASE("with a lifetime of zero every released connection is closed, never reused", "[server_pool]") {
  config::PoolSettings settings = Settings(2);
  settings.lifetime = milliseconds(0);
  PoolFixture f(settings);
  FakeClient &a = f.Client("a"), &b = f.Client("b");
  const int32_t first_pid = f.Checkout(a)->backend_pid();
  f.pool().Release(a.TakeServer(), false);
  CHECK(f.pool().idle_count() == 0);
  CHECK(f.Checkout(b)->backend_pid() != first_pid);
}

TEST_CASE("idle connections past idle_timeout close down to min_idle", "[server_pool]") {
  config::PoolSettings settings = Settings(3);
  settings.idle_timeout = seconds(10);
  settings.min_idle = 1;
  PoolFixture f(settings);
  FakeClient &a = f.Client("a"), &b = f.Client("b"), &c = f.Client("c");
  f.Checkout(a);
  f.Checkout(b);
  f.Checkout(c);
  for (FakeClient* client : {&a, &b, &c}) f.pool().Release(client->TakeServer(), false);
  CHECK(f.pool().idle_count() == 3);
  f.pool().Tick(Clock::now() + seconds(11));
  CHECK(f.pool().idle_count() == 1);
  REQUIRE(f.RunUntil([&] { return f.pool().total() == 1 && f.fake().open_connections() == 1; }));
}

TEST_CASE("min_idle connections are opened ahead of demand", "[server_pool]") {
  config::PoolSettings settings = Settings(3);
  settings.min_idle = 2;
  PoolFixture f(settings);
  f.pool().Tick(Clock::now());
  REQUIRE(f.RunUntil([&] { return f.pool().idle_count() == 2; }));
  CHECK(f.fake().logins().size() == 2);
}

TEST_CASE("a connection that comes back dirty is closed, not reused", "[server_pool]") {
  PoolFixture f(Settings(2));
  FakeClient &a = f.Client("a"), &b = f.Client("b");
  SECTION("an open transaction") {
    f.Checkout(a)->wire().NoteReadyForQuery(protocol::TransactionStatus::kInTransaction);
  }
  SECTION("a query in flight") {
    f.Checkout(a)->wire().NoteFrontendMessage(protocol::FrontendTag::kQuery);
  }
  SECTION("a cancel forwarded for it (it might hit the next client's query)") {
    f.Checkout(a)->NoteCancelForwarded();
  }
  const int32_t pid = a.server()->backend_pid();
  f.pool().Release(a.TakeServer(), false);
  CHECK(f.pool().idle_count() == 0);
  REQUIRE(f.RunUntil([&] { return f.pool().empty(); }));
  CHECK(f.Checkout(b)->backend_pid() != pid);
}

TEST_CASE("an idle connection whose backend dies is forgotten; the next client gets a new one", "[server_pool]") {
  PoolFixture f(Settings(2));
  FakeClient &a = f.Client("a"), &b = f.Client("b");
  const int32_t pid = f.Checkout(a)->backend_pid();
  f.pool().Release(a.TakeServer(), false);
  f.fake().Drop(pid);
  REQUIRE(f.RunUntil([&] { return f.pool().empty(); }));
  CHECK(f.Checkout(b)->backend_pid() != pid);
}

TEST_CASE("while the backend is down, waiters get 08006 naming it instead of waiting", "[server_pool]") {
  PoolFixture f(Settings(2));
  FakeClient &a = f.Client("a"), &b = f.Client("b");
  f.fake().StopListening();  // its port refuses from now on
  CHECK(f.Acquire(a) == nullptr);
  CHECK(f.Acquire(b) == nullptr);
  REQUIRE(f.RunUntil([&] { return a.refused().has_value() && b.refused().has_value(); }));
  CHECK(a.refused()->sqlstate() == sqlstate::kConnectionFailure);
  CHECK_THAT(a.refused()->message(), Catch::Contains("backend \"fakedb\""));
  CHECK(b.refused()->sqlstate() == sqlstate::kConnectionFailure);
  CHECK(f.pool().waiting_count() == 0);
  CHECK(f.RunUntil([&] { return f.pool().empty(); }));  // a connect still under way fails too
}

TEST_CASE("a shared pool hands out the idle connection that already carries the asked context", "[server_pool]") {
  PoolFixture f(Settings(3));
  FakeClient &a = f.Client("a"), &b = f.Client("b"), &c = f.Client("c"), &d = f.Client("d");
  ServerConnection* tagged_one = f.Checkout(a);
  ServerConnection* tagged_two = f.Checkout(b);
  tagged_one->set_context("tenant-1/rw", false);
  tagged_two->set_context("tenant-2/rw", false);
  f.pool().Release(a.TakeServer(), false);
  f.pool().Release(b.TakeServer(), false);  // the warmest: handed out first without a preference
  CHECK(f.Acquire(c, "tenant-1/rw") == tagged_one);
  CHECK(f.Acquire(d, "tenant-9/rw") == tagged_two);  // none carries it: any idle one
}

TEST_CASE("CloseAll refuses waiters with 57P01 and closes held connections as they come back", "[server_pool]") {
  PoolFixture f(Settings(2));
  FakeClient &a = f.Client("a"), &b = f.Client("b"), &c = f.Client("c");
  f.Checkout(a);
  f.Checkout(b);
  CHECK(f.Acquire(c) == nullptr);  // a and b hold both: c waits
  f.pool().CloseAll();
  REQUIRE(c.refused().has_value());
  CHECK(c.refused()->sqlstate() == sqlstate::kAdminShutdown);
  CHECK(f.pool().total() == 2);  // the held ones stay with their clients
  f.pool().Release(a.TakeServer(), false);
  f.pool().Release(b.TakeServer(), false);
  REQUIRE(f.RunUntil([&] { return f.pool().empty() && f.fake().open_connections() == 0; }));
  CHECK(f.fake().terminated() == 2);
}

TEST_CASE("CloseAll closes idle connections at once", "[server_pool]") {
  PoolFixture f(Settings(2));
  FakeClient &a = f.Client("a"), &b = f.Client("b");
  f.Checkout(a);
  f.Checkout(b);
  f.pool().Release(a.TakeServer(), false);
  f.pool().Release(b.TakeServer(), false);
  CHECK(f.pool().idle_count() == 2);
  f.pool().CloseAll();
  CHECK(f.pool().idle_count() == 0);
  REQUIRE(f.RunUntil([&] { return f.pool().empty() && f.fake().open_connections() == 0; }));
  CHECK(f.fake().terminated() == 2);
}

TEST_CASE("under a backend's cap, a pool over its share gives a connection back to another tenant's waiter",
          "[server_pool]") {
  PoolFixture f(Settings(5), /*cap=*/2);
  ServerPool& other = f.OtherPool("globex");
  FakeClient &a = f.Client("a"), &b = f.Client("b"), &c = f.Client("c", &other);
  f.Checkout(a);
  f.Checkout(b);  // acme holds the whole cap
  CHECK(f.budget()->open() == 2);
  CHECK(f.Acquire(c) == nullptr);
  CHECK(other.total() == 0);  // no slot: globex's pool waits in the budget's queue, opening nothing
  CHECK(f.budget()->waiting_pools() == 1);
  f.pool().Release(b.TakeServer(), false);  // acme is over its share (1 of 2): the connection closes
  REQUIRE(f.RunUntil([&] { return c.server() != nullptr; }));
  CHECK(f.pool().total() == 1);
  CHECK(other.total() == 1);
  CHECK(f.budget()->open() == 2);
}

TEST_CASE("under a backend's cap, an idle connection of another pool is closed to make room", "[server_pool]") {
  PoolFixture f(Settings(5), /*cap=*/1);
  ServerPool& other = f.OtherPool("globex");
  FakeClient &a = f.Client("a"), &c = f.Client("c", &other);
  f.Checkout(a);
  f.pool().Release(a.TakeServer(), false);
  CHECK(f.pool().idle_count() == 1);
  CHECK(f.Acquire(c) == nullptr);
  REQUIRE(f.RunUntil([&] { return c.server() != nullptr; }));
  CHECK(f.pool().total() == 0);
  CHECK(f.fake().terminated() == 1);
}

}  // namespace
}  // namespace pgtenant::proxy
