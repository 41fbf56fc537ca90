// ProcessProbes' decisions: /healthz fails when one loop stops ticking, /readyz needs a listener, no
// drain and a backend that is up (or, without health checks, not known to be down).
#include <catch2/catch.hpp>

#include "proxy/worker/process_probes.h"

namespace pgtenant::proxy {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Backend = ReadinessFacts::Backend;

TEST_CASE("liveness holds while every loop has ticked within the limit, and names the one that has not",
          "[probes]") {
  const ProbeClock::time_point now = ProbeClock::now();
  ProbeAnswer fine = JudgeLiveness({now - milliseconds(100), now - milliseconds(4900)}, now, seconds(5));
  CHECK(fine.ok);
  CHECK_THAT(fine.reason, Catch::Contains("2 event loops answer"));

  ProbeAnswer stuck = JudgeLiveness({now - milliseconds(100), now - milliseconds(5100)}, now, seconds(5));
  CHECK_FALSE(stuck.ok);
  CHECK_THAT(stuck.reason, Catch::Contains("worker 1 has not run for 5100 ms"));
}

ReadinessFacts Serving() {
  ReadinessFacts facts;
  facts.listening = true;
  facts.config_loaded = true;
  facts.listen_address = "127.0.0.1:6432";
  facts.checks_enabled = true;
  facts.backends = {{"app", Backend::kUp, ""}, {"other", Backend::kDown, "127.0.0.1:5433: connection refused"}};
  return facts;
}

TEST_CASE("readiness: one backend up is enough; draining, not listening or every backend down is not ready",
          "[probes]") {
  ProbeAnswer ready = JudgeReadiness(Serving());
  CHECK(ready.ok);
  CHECK(ready.reason == "ready: listening on 127.0.0.1:6432, backends up: app");

  ReadinessFacts draining = Serving();
  draining.draining = true;
  CHECK_FALSE(JudgeReadiness(draining).ok);
  CHECK_THAT(JudgeReadiness(draining).reason, Catch::Contains("draining"));

  ReadinessFacts deaf = Serving();
  deaf.listening = false;
  CHECK_FALSE(JudgeReadiness(deaf).ok);

  ReadinessFacts down = Serving();
  down.backends[0] = {"app", Backend::kDown, "127.0.0.1:5432: connection refused"};
  ProbeAnswer none = JudgeReadiness(down);
  CHECK_FALSE(none.ok);
  CHECK_THAT(none.reason, Catch::StartsWith("not ready: no backend is up: app (127.0.0.1:5432: connection refused)"));

  ReadinessFacts empty = Serving();
  empty.backends.clear();
  CHECK_FALSE(JudgeReadiness(empty).ok);
}

TEST_CASE("readiness: a backend not checked yet is not up with health checks, and counts as up without them",
          "[probes]") {
  ReadinessFacts facts = Serving();
  facts.backends = {{"app", Backend::kUnknown, ""}};
  ProbeAnswer waiting = JudgeReadiness(facts);
  CHECK_FALSE(waiting.ok);
  CHECK_THAT(waiting.reason, Catch::Contains("waiting for the first health check of app"));

  facts.checks_enabled = false;
  CHECK(JudgeReadiness(facts).ok);
}

}  // namespace
}  // namespace pgtenant::proxy
