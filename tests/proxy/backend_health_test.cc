// BackendHealth: which host new server connections go to, failover, and what a client hears when no
// host is up.
#include <catch2/catch.hpp>

#include "protocol/sqlstate.h"
#include "proxy/server/backend_health.h"

namespace pgtenant::proxy {
namespace {

config::BackendConfig TwoHosts() {
  config::BackendConfig backend;
  backend.name = "app";
  backend.hosts = {{"primary", 5432}, {"replica", 5433}};
  backend.host = "primary";
  return backend;
}

config::HealthCheckConfig Checks(bool enabled) {
  config::HealthCheckConfig checks;
  checks.enabled = enabled;
  return checks;
}

const Status kRefused = Status::Error(sqlstate::kConnectionFailure, "connection refused");

TEST_CASE("new connections go to the first host that is not down, in configured order", "[backend_health]") {
  BackendHealth health(TwoHosts(), Checks(true), nullptr);
  CHECK(health.PickHost()->host == "primary");  // unknown counts as not down
  health.ReportCheck(0, health.generation(), kRefused);
  CHECK(health.state(0) == BackendHealth::HostState::kDown);
  CHECK(health.PickHost()->host == "replica");
  health.ReportCheck(0, health.generation(), Status::Ok());
  CHECK(health.PickHost()->host == "primary");
}

TEST_CASE("with health checks, no host up means no host to pick and a 08006 naming the backend",
          "[backend_health]") {
  BackendHealth health(TwoHosts(), Checks(true), nullptr);
  CHECK(health.ReportConnectFailed({"primary", 5432}, kRefused));  // the replica is left to try
  CHECK_FALSE(health.ReportConnectFailed({"replica", 5433}, kRefused));
  CHECK_FALSE(health.PickHost().has_value());
  Status why = health.Unavailable();
  CHECK(why.sqlstate() == sqlstate::kConnectionFailure);
  CHECK_THAT(why.message(), Catch::Contains("backend \"app\" is unavailable: no host is up") &&
                                Catch::Contains("primary:5432: connection refused") &&
                                Catch::Contains("replica:5433: connection refused"));
  health.ReportConnected({"replica", 5433});
  CHECK(health.PickHost()->host == "replica");
}

TEST_CASE("without health checks, a failed host is skipped for a while and the primary is tried when all are down",
          "[backend_health]") {
  BackendHealth health(TwoHosts(), Checks(false), nullptr);
  const auto now = BackendHealth::Clock::now();
  health.ReportConnectFailed({"primary", 5432}, kRefused);
  CHECK(health.PickHost(now)->host == "replica");
  CHECK(health.PickHost(now + BackendHealth::kPassiveRetry + std::chrono::seconds(1))->host == "primary");
  health.ReportConnectFailed({"replica", 5433}, kRefused);
  CHECK(health.PickHost(now)->host == "primary");  // never "no host": a single-host backend keeps trying
}

TEST_CASE("too many connections is not down; stale check results are ignored", "[backend_health]") {
  BackendHealth health(TwoHosts(), Checks(true), nullptr);
  CHECK_FALSE(health.ReportConnectFailed({"primary", 5432},
                                         Status::Error(sqlstate::kTooManyConnections, "too many clients")));
  CHECK(health.state(0) == BackendHealth::HostState::kUnknown);

  const uint64_t before = health.generation();
  config::BackendConfig moved = TwoHosts();
  moved.hosts = {{"replica", 5433}, {"new", 5432}};
  health.ReportCheck(1, before, Status::Ok());  // replica up
  health.Reconfigure(moved, Checks(true));
  CHECK(health.generation() != before);
  CHECK(health.state(0) == BackendHealth::HostState::kUp);  // the replica kept its state
  CHECK(health.state(1) == BackendHealth::HostState::kUnknown);
  health.ReportCheck(1, before, kRefused);  // for the old list: ignored
  CHECK(health.state(1) == BackendHealth::HostState::kUnknown);
}

TEST_CASE("a backend configured by hand without hosts has its host/port as the one host", "[backend_health]") {
  config::BackendConfig backend;
  backend.name = "solo";
  backend.host = "db";
  backend.port = 6000;
  BackendHealth health(backend, Checks(false), nullptr);
  REQUIRE(health.hosts().size() == 1);
  CHECK(BackendHealth::Address(*health.PickHost()) == "db:6000");
  CHECK(BackendHealth::Address({"::1", 5432}) == "[::1]:5432");
}

}  // namespace
}  // namespace pgtenant::proxy
