// SessionSettings / ServerSettings: the client's parameters and what a server connection carries.
#include "relay/session_settings.h"

#include <algorithm>

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

std::string QuoteLiteral(std::string_view value) {
  const bool backslash = value.find('\\') != std::string_view::npos;
  std::string out = backslash ? "E'" : "'";
  for (char c : value) {
    if (c == '\'') out.push_back('\'');
    if (c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

void AppendSet(std::string& sql, std::string_view name, std::string_view value) {
  sql.append("SET ").append(name).append(" TO ").append(QuoteLiteral(value)).append(";");
}

void ServerSettings::MarkUnknown(std::string_view name) {
  for (Entry& e : entries_) {
    if (e.name == name) {
      e.known = false;
      return;
    }
  }
  entries_.push_back(Entry{std::string(name), std::string(), false});
}

void ServerSettings::MarkAllUnknown() {
  for (Entry& e : entries_) e.known = false;
}

void SessionSettings::SetStartup(const Settings& startup) {
  startup_.clear();
  for (const auto& [name, value] : startup) {
    std::string lower = Lower(name);
    auto it = FindName(startup_, lower);
    if (it != startup_.end()) {
      it->second = value;
    } else {
      startup_.emplace_back(std::move(lower), value);
    }
  }
  current_ = startup_;
}

void ServerSettings::Set(std::string_view name, std::string_view value) {
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
  std::erase_if(entries_, [&](const Entry& e) { return e.name == name; });
}

void SessionSettings::Commit(const SessionEffect& effect, ServerSettings& server) {
  switch (effect.kind) {
    case SessionEffect::Kind::kSet: {
      auto it = FindName(current_, effect.name);
      if (it != current_.end()) {
        it->second = effect.value;
      } else {
        current_.emplace_back(effect.name, effect.value);
      }
      server.Set(effect.name, effect.value);
      break;
    }
    case SessionEffect::Kind::kReset: {
      // PostgreSQL resets to the session's startup value; the server went to its own default, and
      // the relay set the client's startup value right after (StartupValueSql).
      auto it = FindName(current_, effect.name);
      auto start = FindName(startup_, effect.name);
      if (start != startup_.end()) {
        if (it != current_.end()) it->second = start->second;
        server.Set(start->first, start->second);
      } else {
        if (it != current_.end()) current_.erase(it);
        server.Forget(effect.name);
      }
      break;
    }
    case SessionEffect::Kind::kResetAll:
    case SessionEffect::Kind::kDiscardAll:
      current_ = startup_;
      server.Clear();
      for (const auto& [name, value] : startup_) server.Set(name, value);
      break;
    case SessionEffect::Kind::kDeallocate:
    case SessionEffect::Kind::kDeallocateAll:
    case SessionEffect::Kind::kRollback:
      break;
  }
}

std::string SessionSettings::SyncServer(ServerSettings& server, const Settings& reported) const {
  std::string sql;
  if (current_.empty() && server.entries_.empty()) return sql;  // the common case: nothing set anywhere
  auto& entries = server.entries_;
  // What the server carries that this client does not: back to the server's default.
  for (auto it = entries.begin(); it != entries.end();) {
    if (FindName(current_, it->name) == current_.end()) {
      sql.append("RESET ").append(it->name).append(";");
      it = entries.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [name, value] : current_) {
    auto entry = std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e.name == name; });
    if (entry != entries.end()) {
      if (entry->known && entry->value == value) continue;
      entry->value = value;
      entry->known = true;
    } else {
      // Never set there: its default may be the value already (a reported parameter says so).
      auto shown = FindName(reported, name);
      if (shown != reported.end() && shown->second == value) continue;
      entries.push_back(ServerSettings::Entry{name, value, true});
    }
    AppendSet(sql, name, value);
  }
  return sql;
}

std::string SessionSettings::StartupValueSql(std::string_view name) const {
  std::string sql;
  auto it = FindName(startup_, name);
  if (it != startup_.end()) AppendSet(sql, it->first, it->second);
  return sql;
}

std::string SessionSettings::AllStartupValuesSql() const {
  std::string sql;
  for (const auto& [name, value] : startup_) AppendSet(sql, name, value);
  return sql;
}

}  // namespace pgtenant::relay
