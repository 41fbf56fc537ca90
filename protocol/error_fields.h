// ErrorFields: the fields of an ErrorResponse / NoticeResponse that pgtenant writes and reads
// (PostgreSQL docs, "Error and Notice Message Fields").
#pragma once

#include <string>

namespace pgtenant::protocol {

struct ErrorFields {
  std::string severity = "ERROR";  // ERROR, FATAL, PANIC; or WARNING, NOTICE, ... for notices ('S' and 'V')
  std::string sqlstate;            // 'C', five characters (protocol/sqlstate.h)
  std::string message;             // 'M', primary human-readable message
  std::string detail;              // 'D', optional (empty = absent)
  std::string hint;                // 'H', optional (empty = absent)

  bool operator==(const ErrorFields&) const = default;
};

}  // namespace pgtenant::protocol
