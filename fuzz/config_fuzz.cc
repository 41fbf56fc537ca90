// Fuzz target: the YAML config loader (libyaml via config/yaml_document.h, ${VAR} expansion, every section's validation).
//
// Input: YAML text. The environment is fixed (APP_TENANT_PASSWORD and PORT are set, nothing else).
// Invariant: the loader returns a config or an error with a message; it never throws or crashes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"

namespace {

void Check(bool condition) {
  if (!condition) abort();
}

std::optional<std::string> FixedEnvironment(std::string_view name) {
  if (name == "APP_TENANT_PASSWORD") return std::string("secret");
  if (name == "PORT") return std::string("6432");
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view yaml(reinterpret_cast<const char*>(data), size);
  auto result = pgtenant::config::LoadConfigString(yaml, "fuzz.yaml", FixedEnvironment);
  if (result.ok()) {
    Check(*result != nullptr && (*result)->source == "fuzz.yaml");
  } else {
    Check(!result.status().message().empty());
  }
  return 0;
}
