// StartupOptions: the session parameters a client passes in `options` (PGOPTIONS) taken out for the
// session; the rest left, escaped, for routing to judge.
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "routing/startup_options.h"

namespace pgtenant::routing {
namespace {

using Settings = std::vector<std::pair<std::string, std::string>>;

bool IsSessionParameter(std::string_view name) { return name == "TimeZone" || name == "lock_timeout"; }

TEST_CASE("session parameters in options are the client's; the rest stays for routing", "[routing][options]") {
  Settings settings;
  const std::string rest = ExtractSessionSettings(
      "-c TimeZone=Asia/Tokyo --lock-timeout=3s -cpgtenant.tenant=acme -c work_mem=1MB", IsSessionParameter, settings);
  CHECK(settings == Settings{{"TimeZone", "Asia/Tokyo"}, {"lock_timeout", "3s"}});
  CHECK(rest == "-cpgtenant.tenant=acme -c work_mem=1MB");
  CHECK(ParseTenantOption(rest).status().sqlstate() == "0A000");  // work_mem is still refused
}

TEST_CASE("values with escaped spaces survive, and what is left is escaped again", "[routing][options]") {
  Settings settings;
  const std::string rest =
      ExtractSessionSettings(R"(-c TimeZone=America/Sao\ Paulo -c pgtenant.tenant=a\ b)", IsSessionParameter, settings);
  CHECK(settings == Settings{{"TimeZone", "America/Sao Paulo"}});
  CHECK(rest == R"(-c pgtenant.tenant=a\ b)");
  Result<std::optional<std::string>> tenant = ParseTenantOption(rest);
  REQUIRE(tenant.ok());
  CHECK(**tenant == "a b");
}

}  // namespace
}  // namespace pgtenant::routing
