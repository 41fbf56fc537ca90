// Environment expansion of configuration scalars (see env_expansion.h for the grammar).
#include "config/env_expansion.h"

#include <algorithm>

namespace pgtenant::config {

namespace {

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

}  // namespace

Result<std::string> ExpandEnvironment(std::string_view text, const EnvLookup& env) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const size_t dollar = text.find('$', i);
    if (dollar == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, dollar - i));
    const std::string_view rest = text.substr(dollar + 1);
    if (!rest.empty() && rest[0] == '$') {
      out += '$';
      i = dollar + 2;
      continue;
    }
    if (rest.empty() || rest[0] != '{') {
      out += '$';
      i = dollar + 1;
      continue;
    }
    const size_t close = rest.find('}');
    if (close == std::string_view::npos) {
      return Status::Error("unterminated ${ (write $$ for a literal dollar sign)");
    }
    const std::string_view body = rest.substr(1, close - 1);
    const size_t default_marker = body.find(":-");
    const std::string_view name = body.substr(0, default_marker);
    if (name.empty() || !IsNameStart(name[0]) || !std::all_of(name.begin(), name.end(), IsNameChar)) {
      return Status::Error("invalid environment variable reference ${" + std::string(body) +
                           "}; expected ${NAME} or ${NAME:-default} with NAME made of letters, digits and _");
    }
    std::optional<std::string> value = env ? env(name) : std::nullopt;
    if (default_marker != std::string_view::npos) {
      if (!value || value->empty()) value = std::string(body.substr(default_marker + 2));
    } else if (!value) {
      return Status::Error("environment variable " + std::string(name) + " is not set (use ${" + std::string(name) +
                           ":-default} to give a default)");
    }
    out += *value;
    i = dollar + 1 + close + 1;
  }
  return out;
}

}  // namespace pgtenant::config
