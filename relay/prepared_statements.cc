// Prepared statement bookkeeping: content names, the per-server LRU, the per-client registry.
#include "relay/prepared_statements.h"

#include <openssl/evp.h>

namespace pgtenant::relay {

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

bool ServerStatementCache::Ready(const std::string& name) {
  if (!Touch(name)) return false;
  auto it = unconfirmed_.find(name);
  return it == unconfirmed_.end() || (it->second.parses > 0 && it->second.segment == segment_);
}

std::optional<std::string> ServerStatementCache::Preparing(const std::string& name) {
  InFlight& in_flight = unconfirmed_[name];
  in_flight.segment = segment_;
  ++in_flight.parses;
  if (Touch(name)) return std::nullopt;
  std::optional<std::string> evicted;
  if (index_.size() >= capacity_ && !lru_.empty()) {
    evicted = lru_.back();
    index_.erase(lru_.back());
    unconfirmed_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(name);
  index_[name] = lru_.begin();
  return evicted;
}

void ServerStatementCache::Prepared(const std::string& name) {
  auto it = unconfirmed_.find(name);
  if (it == unconfirmed_.end()) return;
  // Answers come in order: when the last Parse sent succeeded, the statement exists.
  if (--it->second.parses <= 0) unconfirmed_.erase(it);
}

void ServerStatementCache::NotPrepared(const std::string& name) {
  auto it = unconfirmed_.find(name);
  if (it == unconfirmed_.end()) return;
  // parses == 0 with the entry kept: an older copy may or may not exist; the next use re-prepares.
  if (it->second.parses > 0) --it->second.parses;
}

void ServerStatementCache::Clear() {
  lru_.clear();
  index_.clear();
  unconfirmed_.clear();
}

const ClientStatements::Statement* ClientStatements::Define(std::string_view client_name,
                                                            std::span<const uint8_t> query_and_types) {
  auto it = statements_.find(client_name);
  if (it == statements_.end()) {
    if (statements_.size() >= kMaxStatements) return nullptr;
    it = statements_.emplace(std::string(client_name), Statement{}).first;
  }
  Statement& s = it->second;
  bytes_ -= s.query_and_types.size();
  bytes_ += query_and_types.size() + (s.server_name.empty() ? client_name.size() : 0);
  s.query_and_types.assign(reinterpret_cast<const char*>(query_and_types.data()), query_and_types.size());
  s.server_name = ServerStatementName(query_and_types);
  return &s;
}

const ClientStatements::Statement* ClientStatements::Find(std::string_view client_name) const {
  auto it = statements_.find(client_name);
  return it == statements_.end() ? nullptr : &it->second;
}

void ClientStatements::Remove(std::string_view client_name) {
  if (auto it = statements_.find(client_name); it != statements_.end()) {
    bytes_ -= it->first.size() + it->second.query_and_types.size();
    statements_.erase(it);
  }
}

}  // namespace pgtenant::relay
