// Fuzz target: the YAML config loader (yaml-cpp, ${VAR} expansion, every section's validation).
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

// Known yaml-cpp 0.7 bug (tests/config/fuzz_regression_test.cc, hidden until fixed): YAML::LoadAll never
// returns on a ',' at flow depth 0 (",\n", "{a: b}\n,\n"). Until LoadConfigString avoids it, such inputs
// are skipped so the fuzzer can look for other bugs. Approximate: quotes and comments are honoured.
bool HasCommaOutsideFlow(std::string_view text) {
  int depth = 0;
  char quote = 0;
  bool comment = false;
  for (char c : text) {
    if (comment) {
      comment = c != '\n';
    } else if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '#') {
      comment = true;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    } else if (c == ',' && depth == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view yaml(reinterpret_cast<const char*>(data), size);
  if (HasCommaOutsideFlow(yaml)) return 0;
  auto result = pgtenant::config::LoadConfigString(yaml, "fuzz.yaml", FixedEnvironment);
  if (result.ok()) {
    Check(*result != nullptr && (*result)->source == "fuzz.yaml");
  } else {
    Check(!result.status().message().empty());
  }
  return 0;
}
