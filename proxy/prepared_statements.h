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
#include <list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pgtenant::proxy {

// "pgt_" + 32 hex digits of SHA-256 over the Parse body after the statement name
// (query text, NUL, parameter count, parameter type OIDs).
std::string ServerStatementName(std::span<const uint8_t> query_and_types);

class ServerStatementCache {
 public:
  static constexpr size_t kDefaultCapacity = 512;
  explicit ServerStatementCache(size_t capacity = kDefaultCapacity) : capacity_(capacity) {}

  // True if the statement exists on the server; marks it recently used.
  bool Touch(const std::string& name);
  // Records that `name` now exists. Returns the least recently used name to Close on the server
  // when the cache was full.
  std::optional<std::string> Add(const std::string& name);
  void Remove(const std::string& name);
  void Clear();
  size_t size() const { return index_.size(); }

 private:
  size_t capacity_;
  std::list<std::string> lru_;  // front: most recently used
  std::unordered_map<std::string, std::list<std::string>::iterator> index_;
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
  const Statement* Define(const std::string& client_name, std::span<const uint8_t> query_and_types);
  const Statement* Find(const std::string& client_name) const;
  void Remove(const std::string& client_name);
  size_t size() const { return statements_.size(); }

 private:
  std::unordered_map<std::string, Statement> statements_;
};

}  // namespace pgtenant::proxy
