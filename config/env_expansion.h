// Environment expansion: ${VAR}, ${VAR:-default} and $$ inside configuration scalars.
//
// Rules (applied to every scalar value in the config file, never to keys):
//   ${NAME}          the value of NAME; an error if NAME is unset.
//   ${NAME:-default} the value of NAME, or `default` when NAME is unset or empty. The default is
//                    taken literally (no nested expansion) and ends at the first '}'.
//   $$               a literal '$'.
//   $ followed by anything else is kept as is, so SCRAM verifiers ("SCRAM-SHA-256$4096:...") need
//   no escaping.
// NAME is [A-Za-z_][A-Za-z0-9_]*. Error messages name the variable, never its value.
#pragma once

#include <string>
#include <string_view>

#include "config/config.h"
#include "protocol/status.h"

namespace pgtenant::config {

Result<std::string> ExpandEnvironment(std::string_view text, const EnvLookup& env);

}  // namespace pgtenant::config
