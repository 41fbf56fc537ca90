// Prepared statement bookkeeping: content names, the per-server LRU, the per-client registry.
#include "proxy/prepared_statements.h"

#include <openssl/evp.h>

namespace pgtenant::proxy {

std::string ServerStatementName(std::span<const uint8_t> query_and_types) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(query_and_types.data(), query_and_types.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string name = "pgt_";
  for (unsigned i = 0; i < 16 && i < length; ++i) {
    name.push_back(kHex[digest[i] >> 4]);
    name.push_back(kHex[digest[i] & 0xf]);
  }
  return name;
}

bool ServerStatementCache::Touch(const std::string& name) {
  auto it = index_.find(name);
  if (it == index_.end()) return false;
  lru_.splice(lru_.begin(), lru_, it->second);
  return true;
}

std::optional<std::string> ServerStatementCache::Add(const std::string& name) {
  if (Touch(name)) return std::nullopt;
  std::optional<std::string> evicted;
  if (index_.size() >= capacity_ && !lru_.empty()) {
    evicted = lru_.back();
    index_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(name);
  index_[name] = lru_.begin();
  return evicted;
}

void ServerStatementCache::Remove(const std::string& name) {
  auto it = index_.find(name);
  if (it == index_.end()) return;
  lru_.erase(it->second);
  index_.erase(it);
}

void ServerStatementCache::Clear() {
  lru_.clear();
  index_.clear();
}

const ClientStatements::Statement* ClientStatements::Define(const std::string& client_name,
                                                            std::span<const uint8_t> query_and_types) {
  if (statements_.size() >= kMaxStatements && statements_.count(client_name) == 0) return nullptr;
  Statement& s = statements_[client_name];
  s.query_and_types.assign(reinterpret_cast<const char*>(query_and_types.data()), query_and_types.size());
  s.server_name = ServerStatementName(query_and_types);
  return &s;
}

const ClientStatements::Statement* ClientStatements::Find(const std::string& client_name) const {
  auto it = statements_.find(client_name);
  return it == statements_.end() ? nullptr : &it->second;
}

void ClientStatements::Remove(const std::string& client_name) { statements_.erase(client_name); }

}  // namespace pgtenant::proxy
