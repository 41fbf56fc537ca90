// SessionSettings: a client's run-time parameters as PostgreSQL keeps them for a session (its
// startup values, then what it SET or RESET), kept by pgtenant so that whichever server connection
// the client holds carries them and nothing of another client's; ServerSettings: what pgtenant
// knows one server connection carries over its own defaults (the values of its startup packet).
//
// The statements themselves run on the server, which checks them and answers as PostgreSQL does;
// these classes only remember the outcome, so that the next server connection can be brought to
// the same state with SET and RESET (SyncServer). No I/O; loop thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/session_effect.h"

namespace pgtenant::relay {

using protocol::SessionEffect;
using protocol::SessionEffects;

// Parameter name (lowercase) and value, in the order they were first set.
using Settings = std::vector<std::pair<std::string, std::string>>;

// A client's startup parameters, with a serial that names these values and no others (assigned once
// they are final: SerialOf). A server connection remembers the serial of the client it was last
// brought to (SessionSettings::SyncServer), so that the next client with the same values (of any
// login: the clients of one application send the same ones) skips the comparison; a serial is never
// given to other values, as an address could be once its login is gone. 0: none.
struct StartupSettings {
  Settings values;
  uint64_t serial = 0;
  // Process-wide, from 1; any thread.
  static uint64_t NextSerial();
  // The serial of `values` (the same list, in the same order, gets the same serial while remembered:
  // up to kMaxRemembered lists, then a fresh start); any thread.
  static uint64_t SerialOf(const Settings& values);
  static constexpr size_t kMaxRemembered = 4096;
  bool operator==(const StartupSettings& other) const { return values == other.values; }
};

// "SET name TO 'value';"
void AppendSet(std::string& sql, std::string_view name, std::string_view value);

// What of a transaction's effects (in the order they ran) holds once it commits: ROLLBACK and
// ROLLBACK TO a savepoint drop what came after (the savepoint itself stays, as in PostgreSQL),
// RELEASE drops the savepoint only. The result holds no transaction control.
SessionEffects CommittedEffects(SessionEffects effects);

class ServerSettings {
 public:
  // A client's statement may have changed `name` (or every parameter): its value is unknown until
  // the next SyncServer sets it again.
  void MarkUnknown(std::string_view name);
  void MarkAllUnknown();
  // The server is back to its defaults (DISCARD ALL of the pool's reset ran).
  void Clear() {
    entries_.clear();
    ForgetSync();
  }
  bool empty() const { return entries_.empty(); }
  // The server carries `value` for `name` / its own default for it.
  void Set(std::string_view name, std::string_view value);
  void Forget(std::string_view name);
  // The server's own defaults may have changed (it sent a ParameterStatus): the next client is
  // compared in full. Every change above does the same.
  void ForgetSync() { synced_serial_ = 0; }

 private:
  friend class SessionSettings;
  struct Entry {
    std::string name;
    std::string value;
    bool known = true;
  };
  std::vector<Entry> entries_;
  // The startup serial of the client SyncServer last brought this server to, when that client had
  // set nothing of its own and nothing changed here since; 0 otherwise.
  uint64_t synced_serial_ = 0;
};

class SessionSettings {
 public:
  // The client's startup parameters (names in any case). REQUIRES: `startup` stays valid until the
  // next SetStartup or the end of this object (the session's interned login holds them).
  void SetStartup(const StartupSettings* startup) { startup_ = startup; }
  // The client's value of `name` now (its own SET, else its startup value); nullptr if it has none.
  const std::string* Find(std::string_view name) const;

  // A statement's effect took hold (its transaction committed) on `server`, the connection it ran
  // on, which now carries the client's values for what it touched.
  void Commit(const SessionEffect& effect, ServerSettings& server);

  // Brings `server` to this client's values: returns the SQL to run there first ("" when it
  // carries them already) and records that it will. `reported`: what the server reported with
  // ParameterStatus (its defaults for parameters pgtenant never set there).
  std::string SyncServer(ServerSettings& server, const Settings& reported) const;
  // After the client's RESET `name` (the server went to its own default): the SQL that restores
  // the client's startup value, "" when it has none.
  std::string StartupValueSql(std::string_view name) const;
  // After RESET ALL / DISCARD ALL: every startup value again.
  std::string AllStartupValuesSql() const;

 private:
  // Calls `visit(name, value)` for each parameter the client has a value for.
  template <typename Visit>
  void ForEachValue(Visit visit) const;

  // Held by pointer, not copied: every idle client holds a relay, and sessions with the same login
  // share one (ProxyServer interns logins).
  const StartupSettings* startup_ = nullptr;
  std::unique_ptr<Settings> own_;  // what the client SET since (names lowercase); made on its first SET
};

}  // namespace pgtenant::relay
