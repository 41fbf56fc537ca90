// StartupOptions: the `options` startup parameter (what PGOPTIONS sends), split and judged.
//
// PostgreSQL reads `options` as command-line switches separated by unescaped spaces, with
// backslash escaping a space or a backslash. pgtenant accepts exactly one setting from it,
// `-c pgtenant.tenant=NAME` (or `--pgtenant.tenant=NAME`); anything else is refused, because
// settings smuggled in here would reach the server as session defaults.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/status.h"

namespace pgtenant::routing {

inline constexpr std::string_view kTenantOption = "pgtenant.tenant";

// Splits like PostgreSQL's pg_split_opts.
std::vector<std::string> SplitStartupOptions(std::string_view options);

// The tenant named in `options`, nullopt if none. Any other switch is 0A000 naming it.
Result<std::optional<std::string>> ParseTenantOption(std::string_view options);

// Escapes spaces and backslashes so `value` survives pg_split_opts as one word.
std::string EscapeOptionValue(std::string_view value);

}  // namespace pgtenant::routing
