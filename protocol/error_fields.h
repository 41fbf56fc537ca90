// ErrorFields: the fields of an ErrorResponse / NoticeResponse that pgtenant writes and reads
// (PostgreSQL docs, "Error and Notice Message Fields").
#pragma once

#include <cstdint>
#include <string>

namespace pgtenant::protocol {

struct ErrorFields {
  std::string severity = "ERROR";  // ERROR, FATAL, PANIC; or WARNING, NOTICE, ... for notices ('S' and 'V')
  std::string sqlstate;            // 'C', five characters (protocol/sqlstate.h)
  std::string message;             // 'M', primary human-readable message
  std::string detail;              // 'D', optional (empty = absent)
  std::string hint;                // 'H', optional (empty = absent)
  uint32_t position = 0;           // 'P', 1-based character index into the query text (0 = absent)

  bool operator==(const ErrorFields&) const = default;
};

}  // namespace pgtenant::protocol
