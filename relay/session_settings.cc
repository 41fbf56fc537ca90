// SessionSettings / ServerSettings: the client's parameters and what a server connection carries.
#include "relay/session_settings.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_map>

#include "protocol/sql_quote.h"
#include "relay/session_wire.h"

namespace pgtenant::relay {

namespace {

std::string Lower(std::string_view name) {
  std::string out(name);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

template <typename List>
auto FindName(List& list, std::string_view name) {
  return std::find_if(list.begin(), list.end(), [&](const auto& p) { return EqualsIgnoreCase(p.first, name); });
}

}  // namespace

void AppendSet(std::string& sql, std::string_view name, std::string_view value) {
  sql.append("SET ").append(name).append(" TO ").append(protocol::QuoteLiteral(value)).append(";");
}

SessionEffects CommittedEffects(SessionEffects effects) {
  using Kind = SessionEffect::Kind;
  SessionEffects kept;  // effects, and savepoints still open
  // The latest open savepoint called `name` (PostgreSQL lets a name repeat: the newest wins).
  auto find = [&kept](const std::string& name) {
    for (size_t i = kept.size(); i-- > 0;)
      if (kept[i].kind == Kind::kSavepoint && kept[i].name == name) return i;
    return kept.size();
  };
  for (SessionEffect& effect : effects) {
    switch (effect.kind) {
      case Kind::kRollback:
        kept.clear();
        break;
      case Kind::kRollbackTo:
        // A name with no open savepoint failed on the server, and so did the transaction.
        if (size_t at = find(effect.name); at < kept.size()) kept.resize(at + 1);
        break;
      case Kind::kRelease:
        // RELEASE also releases the savepoints made after it.
        if (size_t at = find(effect.name); at < kept.size()) {
          SessionEffects later;
          for (size_t i = at + 1; i < kept.size(); ++i)
            if (kept[i].kind != Kind::kSavepoint) later.push_back(std::move(kept[i]));
          kept.resize(at);
          for (SessionEffect& e : later) kept.push_back(std::move(e));
        }
        break;
      default:
        kept.push_back(std::move(effect));
    }
  }
  std::erase_if(kept, [](const SessionEffect& e) { return e.kind == Kind::kSavepoint; });
  return kept;
}

uint64_t StartupSettings::NextSerial() {
  static std::atomic<uint64_t> last{0};
  return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

uint64_t StartupSettings::SerialOf(const Settings& values) {
  // Each name and value with its length in front: no two different lists give the same key.
  std::string key;
  for (const auto& [name, value] : values) {
    key.append(std::to_string(name.size())).append(":").append(name);
    key.append(std::to_string(value.size())).append(":").append(value);
  }
  static std::mutex mu;
  static std::unordered_map<std::string, uint64_t> serials;  // GUARDED_BY(mu)
  std::lock_guard<std::mutex> lock(mu);
  auto it = serials.find(key);
  if (it != serials.end()) return it->second;
  // Bounded: clients can send any number of distinct values. Forgotten lists get new serials when
  // they come again; a serial once given still names the one list it was given for.
  if (serials.size() >= kMaxRemembered) serials.clear();
  return serials.emplace(std::move(key), NextSerial()).first->second;
}

void ServerSettings::MarkUnknown(std::string_view name) {
  ForgetSync();
  for (Entry& e : entries_) {
    if (e.name == name) {
      e.known = false;
      return;
    }
  }
  entries_.push_back(Entry{std::string(name), std::string(), false});
}

void ServerSettings::MarkAllUnknown() {
  ForgetSync();
  for (Entry& e : entries_) e.known = false;
}

void ServerSettings::Set(std::string_view name, std::string_view value) {
  ForgetSync();
  for (Entry& e : entries_) {
    if (e.name == name) {
      e.value.assign(value);
      e.known = true;
      return;
    }
  }
  entries_.push_back(Entry{std::string(name), std::string(value), true});
}

void ServerSettings::Forget(std::string_view name) {
  ForgetSync();
  std::erase_if(entries_, [&](const Entry& e) { return e.name == name; });
}

const std::string* SessionSettings::Find(std::string_view name) const {
  if (own_ != nullptr) {
    auto it = FindName(*own_, name);
    if (it != own_->end()) return &it->second;
  }
  if (startup_ != nullptr) {
    // The last of a name wins, as when PostgreSQL reads a startup packet.
    for (auto it = startup_->values.rbegin(); it != startup_->values.rend(); ++it)
      if (EqualsIgnoreCase(it->first, name)) return &it->second;
  }
  return nullptr;
}

template <typename Visit>
void SessionSettings::ForEachValue(Visit visit) const {
  if (startup_ != nullptr) {
    for (const auto& [name, value] : startup_->values)
      if (Find(name) == &value) visit(name, value);  // not overridden, nor repeated later
  }
  if (own_ != nullptr) {
    for (const auto& [name, value] : *own_) visit(name, value);
  }
}

void SessionSettings::Commit(const SessionEffect& effect, ServerSettings& server) {
  switch (effect.kind) {
    case SessionEffect::Kind::kSet: {
      if (own_ == nullptr) own_ = std::make_unique<Settings>();
      auto it = FindName(*own_, effect.name);
      if (it != own_->end()) {
        it->second = effect.value;
      } else {
        own_->emplace_back(Lower(effect.name), effect.value);
      }
      server.Set(Lower(effect.name), effect.value);
      break;
    }
    case SessionEffect::Kind::kReset: {
      // PostgreSQL resets to the session's startup value; the server went to its own default, and
      // the relay set the client's startup value right after (StartupValueSql).
      if (own_ != nullptr) {
        auto it = FindName(*own_, effect.name);
        if (it != own_->end()) own_->erase(it);
      }
      if (const std::string* start = Find(effect.name)) {
        server.Set(Lower(effect.name), *start);
      } else {
        server.Forget(Lower(effect.name));
      }
      break;
    }
    case SessionEffect::Kind::kResetAll:
    case SessionEffect::Kind::kDiscardAll:
      own_.reset();
      server.Clear();
      ForEachValue([&](const std::string& name, const std::string& value) { server.Set(Lower(name), value); });
      break;
    case SessionEffect::Kind::kDeallocate:
    case SessionEffect::Kind::kDeallocateAll:
    case SessionEffect::Kind::kRollback:
    case SessionEffect::Kind::kSavepoint:
    case SessionEffect::Kind::kRelease:
    case SessionEffect::Kind::kRollbackTo:
      break;
  }
}

std::string SessionSettings::SyncServer(ServerSettings& server, const Settings& reported) const {
  std::string sql;
  auto& entries = server.entries_;
  // The common cases: nothing set anywhere; the server was last brought to this same login's startup
  // values and nothing changed on either side since (a client with SETs of its own is compared in full).
  if ((startup_ == nullptr || startup_->values.empty()) && own_ == nullptr && entries.empty()) return sql;
  const uint64_t serial = startup_ != nullptr && own_ == nullptr ? startup_->serial : 0;
  if (serial != 0 && server.synced_serial_ == serial) return sql;
  // What the server carries that this client does not: back to the server's default.
  for (auto it = entries.begin(); it != entries.end();) {
    if (Find(it->name) == nullptr) {
      sql.append("RESET ").append(it->name).append(";");
      it = entries.erase(it);
    } else {
      ++it;
    }
  }
  ForEachValue([&](const std::string& name, const std::string& value) {
    auto entry = std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return EqualsIgnoreCase(e.name, name); });
    if (entry != entries.end()) {
      if (entry->known && entry->value == value) return;
      entry->value = value;
      entry->known = true;
    } else {
      // Never set there: its default may be the value already (a reported parameter says so).
      auto shown = FindName(reported, name);
      if (shown != reported.end() && shown->second == value) return;
      entries.push_back(ServerSettings::Entry{Lower(name), value, true});
    }
    AppendSet(sql, Lower(name), value);
  });
  server.synced_serial_ = serial;
  return sql;
}

std::string SessionSettings::StartupValueSql(std::string_view name) const {
  std::string sql;
  if (startup_ == nullptr) return sql;
  for (auto it = startup_->values.rbegin(); it != startup_->values.rend(); ++it) {
    if (!EqualsIgnoreCase(it->first, name)) continue;
    AppendSet(sql, Lower(it->first), it->second);
    break;
  }
  return sql;
}

std::string SessionSettings::AllStartupValuesSql() const {
  std::string sql;
  if (startup_ == nullptr) return sql;
  for (const auto& [name, value] : startup_->values) AppendSet(sql, Lower(name), value);
  return sql;
}

}  // namespace pgtenant::relay
