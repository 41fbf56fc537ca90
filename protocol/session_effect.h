// SessionEffect: what a statement does to the client's session beyond its own result (a parameter
// set or reset, every parameter reset, prepared statements dropped, the transaction or part of it
// rolled back).
// The policy layer finds it in its parse of the statement; the relay keeps the client's virtual
// session with it (relay/session_settings.h). Plain data, shared by both.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pgtenant::protocol {

struct SessionEffect {
  enum class Kind : uint8_t {
    kSet,            // SET / SET SESSION / set_config(name, value, false) of an allowlisted parameter
    kReset,          // RESET name, SET name TO DEFAULT
    kResetAll,       // RESET ALL
    kDiscardAll,     // DISCARD ALL: RESET ALL, and every prepared statement goes
    kDeallocate,     // DEALLOCATE name (the statement alone in its message): `name` is the statement
    kDeallocateAll,  // DEALLOCATE ALL
    kRollback,       // ROLLBACK / ABORT: what the transaction set is undone
    kSavepoint,      // SAVEPOINT name
    kRelease,        // RELEASE [SAVEPOINT] name: the savepoint goes, what was set since it stays
    kRollbackTo,     // ROLLBACK TO [SAVEPOINT] name: what was set since the savepoint is undone
  };
  Kind kind = Kind::kSet;
  std::string name;   // kSet, kReset: the parameter, lowercase; kDeallocate: the statement; savepoints: its name
  std::string value;  // kSet: the value as SET takes it (the arguments joined as PostgreSQL joins them)

  bool operator==(const SessionEffect&) const = default;
};
using SessionEffects = std::vector<SessionEffect>;

}  // namespace pgtenant::protocol
