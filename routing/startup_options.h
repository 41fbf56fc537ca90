// StartupOptions: the `options` startup parameter (what PGOPTIONS sends), split and judged.
//
// PostgreSQL reads `options` as command-line switches separated by unescaped spaces, with
// backslash escaping a space or a backslash. pgtenant accepts exactly one setting from it,
// `-c pgtenant.tenant=NAME` (or `--pgtenant.tenant=NAME`); anything else is refused, because
// settings smuggled in here would reach the server as session defaults.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/status.h"

namespace pgtenant::routing {

inline constexpr std::string_view kTenantOption = "pgtenant.tenant";

// Splits like PostgreSQL's pg_split_opts.
std::vector<std::string> SplitStartupOptions(std::string_view options);

// The tenant named in `options`, nullopt if none. Any other switch is 0A000 naming it.
Result<std::optional<std::string>> ParseTenantOption(std::string_view options);

// Takes the settings `-c name=value` (or `--name=value`) whose name `is_session_parameter` says
// pgtenant keeps for the client out of `options`, appending them to `settings`; returns the rest of
// `options`, escaped as before (what routing judges: the tenant, or a refused switch).
std::string ExtractSessionSettings(std::string_view options, const std::function<bool(std::string_view)>& is_session_parameter,
                                   std::vector<std::pair<std::string, std::string>>& settings);

// Escapes spaces and backslashes so `value` survives pg_split_opts as one word.
std::string EscapeOptionValue(std::string_view value);

}  // namespace pgtenant::routing
