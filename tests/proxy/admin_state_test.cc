// AdminState: what PAUSE/RESUME and DISABLE/ENABLE switch, and the errors for the wrong state.
#include <catch2/catch.hpp>

#include "proxy/session/admin_state.h"

namespace pgtenant::proxy {
namespace {

TEST_CASE("PAUSE of one tenant pauses only it; RESUME of it ends the pause", "[admin]") {
  AdminState state;
  REQUIRE(state.Pause(std::string("acme")).ok());
  CHECK(state.IsPaused("acme"));
  CHECK_FALSE(state.IsPaused("beta"));
  Status again = state.Pause(std::string("acme"));
  CHECK(again.sqlstate() == "55000");
  CHECK(again.message() == "pgtenant: tenant \"acme\" is already paused");
  CHECK(state.Resume(std::string("beta")).sqlstate() == "55000");
  REQUIRE(state.Resume(std::string("acme")).ok());
  CHECK_FALSE(state.IsPaused("acme"));
  CHECK(state.Resume(std::nullopt).sqlstate() == "55000");  // nothing is paused
}

TEST_CASE("PAUSE of every tenant is undone only by RESUME of every tenant", "[admin]") {
  AdminState state;
  REQUIRE(state.Pause(std::string("acme")).ok());
  REQUIRE(state.Pause(std::nullopt).ok());
  CHECK(state.IsPaused("beta"));
  CHECK(state.Pause(std::string("beta")).sqlstate() == "55000");
  CHECK(state.Resume(std::string("acme")).sqlstate() == "55000");
  REQUIRE(state.Resume(std::nullopt).ok());
  CHECK_FALSE(state.IsPaused("acme"));  // the earlier PAUSE acme is undone too
  CHECK_FALSE(state.IsPaused("beta"));
}

TEST_CASE("DISABLE refuses new connections of the tenant with 55000 until ENABLE", "[admin]") {
  AdminState state;
  CHECK(state.CheckNewConnection("acme").ok());
  REQUIRE(state.Disable("acme").ok());
  Status refused = state.CheckNewConnection("acme");
  CHECK(refused.sqlstate() == "55000");
  CHECK(refused.message() == "pgtenant: tenant \"acme\" is disabled and does not accept new connections");
  CHECK(state.CheckNewConnection("beta").ok());
  CHECK(state.Disable("acme").sqlstate() == "55000");
  REQUIRE(state.Enable("acme").ok());
  CHECK(state.CheckNewConnection("acme").ok());
  CHECK(state.Enable("acme").sqlstate() == "55000");
}

}  // namespace
}  // namespace pgtenant::proxy
