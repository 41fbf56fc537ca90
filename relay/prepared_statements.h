// Named prepared statements under transaction pooling (protocol section 55.2.3).
//
// A client's statement names (S_1, ...) are its own; on the server a statement is named after
// its content (`pgt_<hash of query text and parameter types>`), so clients preparing the same
// text share one server-side statement, and one client's S_1 never collides with another's.
// ClientStatements maps a client's names to that content; ServerStatementCache records which
// content-named statements exist on one server connection (LRU-bounded). The session uses both
// to rewrite Parse/Bind/Describe/Close and to prepare a statement again on whichever server
// connection the client gets next.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pgtenant::relay {

// "pgt_" + 32 hex digits of SHA-256 over the Parse body after the statement name
// (query text, NUL, parameter count, parameter type OIDs).
std::string ServerStatementName(std::span<const uint8_t> query_and_types);

// Which content-named statements exist on one server connection, and which are only believed to.
//
// A Parse pgtenant sends may still fail: the server skips it after an error earlier in its pipeline
// segment (up to the next Sync). Messages of a later segment cannot rely on it until its
// ParseComplete arrives, and after it failed nobody knows whether an older copy still exists. Such
// a statement is not Ready: the session prepares it again with Close + Parse (closing a statement
// that does not exist is not an error), so the outcome is right either way.
class ServerStatementCache {
 public:
  static constexpr size_t kDefaultCapacity = 512;
  explicit ServerStatementCache(size_t capacity = kDefaultCapacity) : capacity_(capacity) {}

  // True if messages sent now may use the statement: it exists, or its Parse went out in the
  // current segment (an error before it skips them too). Marks it recently used.
  bool Ready(const std::string& name);
  // Records a Parse of `name` sent now. Returns the least recently used name to Close on the
  // server when the cache was full.
  std::optional<std::string> Preparing(const std::string& name);
  // The server answered a Parse of `name` with ParseComplete / skipped or refused it.
  void Prepared(const std::string& name);
  void NotPrepared(const std::string& name);
  // A Sync, Query or FunctionCall went to the server: later messages are a new segment.
  void EndSegment() { ++segment_; }

  void Clear();
  size_t size() const { return index_.size(); }

 private:
  struct InFlight {
    uint64_t segment = 0;  // segment of the latest Parse sent
    int parses = 0;        // Parses sent and not yet answered; 0 = failed, existence unknown
  };
  bool Touch(const std::string& name);

  size_t capacity_;
  uint64_t segment_ = 0;
  std::list<std::string> lru_;  // front: most recently used
  std::unordered_map<std::string, std::list<std::string>::iterator> index_;
  std::unordered_map<std::string, InFlight> unconfirmed_;
};

class ClientStatements {
 public:
  // Upper bound on names one client may define; beyond it Define fails (the client leaks names).
  static constexpr size_t kMaxStatements = 10000;

  struct Statement {
    std::string server_name;
    std::string query_and_types;  // the Parse body after the name, to prepare it elsewhere
  };

  // Defines (or redefines) `client_name`. Returns nullptr when the client has too many.
  const Statement* Define(std::string_view client_name, std::span<const uint8_t> query_and_types);
  const Statement* Find(std::string_view client_name) const;
  void Remove(std::string_view client_name);
  size_t size() const { return statements_.size(); }
  bool empty() const { return statements_.empty(); }
  // What the definitions hold, in bytes (names, texts and the table's nodes, roughly).
  size_t bytes() const { return bytes_ + statements_.size() * 96; }

 private:
  struct NameHash {  // looks names up as views into the client's message, without a copy
    using is_transparent = void;
    size_t operator()(std::string_view name) const { return std::hash<std::string_view>{}(name); }
  };
  std::unordered_map<std::string, Statement, NameHash, std::equal_to<>> statements_;
  size_t bytes_ = 0;  // names and query texts
};

}  // namespace pgtenant::relay
