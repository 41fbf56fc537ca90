// StartupOptions: pg_split_opts-compatible splitting and the one switch pgtenant accepts.
#include "routing/startup_options.h"

#include <algorithm>
#include <cctype>

#include "protocol/ascii_case.h"
#include "protocol/sqlstate.h"

namespace pgtenant::routing {

std::vector<std::string> SplitStartupOptions(std::string_view options) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < options.size()) {
    while (i < options.size() && std::isspace(static_cast<unsigned char>(options[i]))) ++i;
    if (i >= options.size()) break;
    std::string word;
    while (i < options.size() && !std::isspace(static_cast<unsigned char>(options[i]))) {
      if (options[i] == '\\' && i + 1 < options.size()) ++i;
      word.push_back(options[i]);
      ++i;
    }
    words.push_back(std::move(word));
  }
  return words;
}

Result<std::optional<std::string>> ParseTenantOption(std::string_view options) {
  std::vector<std::string> words = SplitStartupOptions(options);
  std::optional<std::string> tenant;
  auto refuse = [](const std::string& what) {
    return Status::Error(sqlstate::kFeatureNotSupported,
                         "pgtenant: startup option \"" + what + "\" is not allowed",
                         "Only -c pgtenant.tenant=NAME may be passed in options (PGOPTIONS); settings are "
                         "managed by pgtenant.");
  };
  for (size_t i = 0; i < words.size(); ++i) {
    std::string setting;
    if (words[i] == "-c" && i + 1 < words.size()) {
      setting = words[++i];
    } else if (words[i].rfind("-c", 0) == 0 && words[i].size() > 2) {
      setting = words[i].substr(2);
    } else if (words[i].rfind("--", 0) == 0) {
      setting = words[i].substr(2);
    } else {
      return refuse(words[i]);
    }
    size_t eq = setting.find('=');
    const std::string name = protocol::AsciiLower(setting.substr(0, eq));
    if (name != kTenantOption || eq == std::string::npos) return refuse(setting.substr(0, eq));
    std::string value = setting.substr(eq + 1);
    if (tenant && *tenant != value) {
      return Status::Error(sqlstate::kInvalidAuthorizationSpecification,
                           "pgtenant: options name more than one tenant");
    }
    tenant = value;
  }
  return tenant;
}

std::string ExtractSessionSettings(std::string_view options, const std::function<bool(std::string_view)>& is_session_parameter,
                                   std::vector<std::pair<std::string, std::string>>& settings) {
  const std::vector<std::string> words = SplitStartupOptions(options);
  std::string rest;
  auto keep = [&](const std::string& word) {
    if (!rest.empty()) rest.push_back(' ');
    rest += EscapeOptionValue(word);
  };
  for (size_t i = 0; i < words.size(); ++i) {
    std::string setting;
    bool separate = false;  // "-c" "name=value"
    if (words[i] == "-c" && i + 1 < words.size()) {
      setting = words[i + 1];
      separate = true;
    } else if (words[i].rfind("--", 0) == 0) {
      setting = words[i].substr(2);
    } else if (words[i].rfind("-c", 0) == 0) {
      setting = words[i].substr(2);
    }
    const size_t eq = setting.find('=');
    // PostgreSQL reads '-' in a name given this way as '_' (ParseLongOption).
    std::string name = eq == std::string::npos ? std::string() : setting.substr(0, eq);
    std::replace(name.begin(), name.end(), '-', '_');
    if (!name.empty() && is_session_parameter(name)) {
      settings.emplace_back(std::move(name), setting.substr(eq + 1));
      if (separate) ++i;
      continue;
    }
    keep(words[i]);
  }
  return rest;
}

std::string EscapeOptionValue(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == ' ' || c == '\\' || c == '\t') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace pgtenant::routing
