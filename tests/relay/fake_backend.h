// FakeBackend: a well-formed PostgreSQL server in miniature, for the relay's tests and fuzzer. It
// reads the frontend messages the relay sends it and answers each as PostgreSQL would (protocol
// sections 55.2.2-55.2.7): ParseComplete, BindComplete, ParameterDescription/RowDescription/NoData,
// DataRow + CommandComplete, CloseComplete, ErrorResponse and then everything skipped up to Sync,
// COPY in and out, FunctionCallResponse, ParameterStatus after SET, and ReadyForQuery with the
// transaction status. Prepared statements and portals are its own, per connection.
//
// SQL is recognised by its first word: "begin", "commit"/"rollback"/"abort", "fail" (a run-time
// error, with its position in a Query's text), "copy in" / "copy out", "set NAME to 'VALUE'" / "set
// NAME = VALUE", "reset NAME" / "reset all", "show NAME" (parameters per connection; timezone and
// application_name are reported with ParameterStatus; a parameter never set shows "default"), "empty"
// (EmptyQueryResponse), "die" (FATAL 57P01, as from pg_terminate_backend: nothing more is answered;
// "copy out die" dies mid-COPY);
// a Query runs each of its ';'-separated statements. The blocked-statement marker and anything the
// relay should never send do not parse (42601).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>

#include "protocol/frame_reader.h"
#include "protocol/message_builder.h"
#include "protocol/wire.h"

namespace pgtenant::relay::testing {

class FakeBackend {
 public:
  // Takes frontend bytes (split anywhere); appends the answers to `out`. Returns false on a framing
  // error (a real server would close the connection).
  bool Receive(std::span<const uint8_t> bytes, std::string& out) {
    input_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    size_t pos = 0;
    while (true) {
      auto d = protocol::DecodeFrameHeader(
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(input_.data()) + pos, input_.size() - pos),
          protocol::kMaxMessageLength);
      if (d.status == protocol::DecodeStatus::kInvalid) return false;
      if (d.status != protocol::DecodeStatus::kReady || input_.size() - pos < d.header.total()) break;
      std::string_view body(input_.data() + pos + protocol::kHeaderSize, d.header.body_size());
      Handle(d.header.tag, body, out);
      pos += d.header.total();
    }
    input_.erase(0, pos);
    return true;
  }

  protocol::TransactionStatus status() const { return status_; }
  bool in_copy_in() const { return copy_in_; }
  size_t statements() const { return statements_.size(); }
  // The value of a parameter set on this connection, "default" if none.
  std::string setting(const std::string& name) const {
    auto it = settings_.find(name);
    return it == settings_.end() ? "default" : it->second;
  }
  // Bytes of a message not yet whole.
  size_t pending_input() const { return input_.size(); }

 private:
  static std::string CString(std::string_view& body) {
    size_t nul = body.find('\0');
    if (nul == std::string_view::npos) nul = body.size();
    std::string s(body.substr(0, nul));
    body.remove_prefix(nul < body.size() ? nul + 1 : nul);
    return s;
  }
  static std::string Verb(std::string_view sql) {
    std::string verb;
    for (char c : sql) {
      if (c == ' ' || c == ';') break;
      verb.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
    }
    return verb;
  }
  // The `n`th space-separated word of `sql`, lowercase; "" past the end.
  static std::string Word(std::string_view sql, size_t n) {
    size_t pos = 0;
    for (size_t i = 0;; ++i) {
      while (pos < sql.size() && sql[pos] == ' ') ++pos;
      const size_t end = std::min(sql.find(' ', pos), sql.size());
      if (i == n) {
        std::string word(sql.substr(pos, end - pos));
        for (char& c : word) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        return word;
      }
      if (end >= sql.size()) return "";
      pos = end;
    }
  }
  // Everything from the `n`th word on, as written.
  static std::string Rest(std::string_view sql, size_t n) {
    size_t pos = 0;
    for (size_t i = 0; i < n && pos < sql.size(); ++i) {
      while (pos < sql.size() && sql[pos] == ' ') ++pos;
      pos = std::min(sql.find(' ', pos), sql.size());
    }
    while (pos < sql.size() && sql[pos] == ' ') ++pos;
    return std::string(sql.substr(pos));
  }
  static bool Reported(std::string_view name) { return name == "timezone" || name == "application_name"; }
  static bool Parses(std::string_view sql) { return sql.find("pgtenant blocked") == std::string_view::npos; }

  void Error(std::string_view sqlstate, std::string_view message, std::string& out, uint32_t position = 0) {
    protocol::ErrorFields e;
    e.severity = "ERROR";
    e.sqlstate = std::string(sqlstate);
    e.message = std::string(message);
    e.position = position;
    protocol::AppendErrorResponse(out, e);
    if (status_ == protocol::TransactionStatus::kInTransaction) status_ = protocol::TransactionStatus::kFailed;
  }
  void Die(std::string& out) {
    protocol::ErrorFields e;
    e.severity = "FATAL";
    e.sqlstate = "57P01";
    e.message = "terminating connection due to administrator command";
    protocol::AppendErrorResponse(out, e);
    dead_ = true;
  }
  void ExtendedError(std::string_view sqlstate, std::string_view message, std::string& out) {
    Error(sqlstate, message, out);
    skipping_ = true;
  }

  // Runs one statement; false if it failed (the error is in `out`). `position`: where the statement
  // starts in its Query's text (1-based; 0 in the extended protocol), for the position of a "fail".
  bool Run(std::string_view sql, bool describe_rows, std::string& out, uint32_t position = 0) {
    const std::string verb = Verb(sql);
    if (!Parses(sql)) {
      Error("42601", "syntax error", out);
      return false;
    }
    if (status_ == protocol::TransactionStatus::kFailed && verb != "rollback" && verb != "abort" && verb != "commit") {
      Error("25P02", "current transaction is aborted", out);
      return false;
    }
    if (verb == "die") {
      Die(out);
      return false;
    }
    if (verb == "fail") {
      Error("22012", "division by zero", out, position);
      return false;
    }
    if (verb == "begin") {
      if (status_ == protocol::TransactionStatus::kIdle) status_ = protocol::TransactionStatus::kInTransaction;
      protocol::AppendCommandComplete(out, "BEGIN");
    } else if (verb == "commit" || verb == "rollback" || verb == "abort") {
      status_ = protocol::TransactionStatus::kIdle;
      protocol::AppendCommandComplete(out, verb == "commit" ? "COMMIT" : "ROLLBACK");
    } else if (verb == "set") {
      const std::string name = Word(sql, 1);
      std::string value = Word(sql, 2) == "to" || Word(sql, 2) == "=" ? Rest(sql, 3) : Rest(sql, 2);
      if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'') value = value.substr(1, value.size() - 2);
      settings_[name] = value;
      if (Reported(name)) protocol::AppendParameterStatus(out, name, value);
      protocol::AppendCommandComplete(out, "SET");
    } else if (verb == "reset" || (verb == "discard" && Word(sql, 1) == "all")) {
      const std::string name = Word(sql, 1);
      for (auto it = settings_.begin(); it != settings_.end();) {
        if (name != "all" && it->first != name) {
          ++it;
          continue;
        }
        if (Reported(it->first)) protocol::AppendParameterStatus(out, it->first, "default");
        it = settings_.erase(it);
      }
      protocol::AppendCommandComplete(out, "RESET");
    } else if (verb == "discard") {  // DISCARD SEQUENCES, TEMP, PLANS: no row, nothing the fake keeps
      protocol::AppendCommandComplete(out, "DISCARD " + std::string(Word(sql, 1)));
    } else if (verb == "show") {
      auto it = settings_.find(Word(sql, 1));
      if (describe_rows) protocol::AppendRowDescription(out, {Word(sql, 1)});
      protocol::AppendDataRow(out, {it == settings_.end() ? std::string("default") : it->second});
      protocol::AppendCommandComplete(out, "SHOW");
    } else if (verb == "empty" || sql.empty()) {
      protocol::AppendEmptyQueryResponse(out);
    } else {
      if (describe_rows) protocol::AppendRowDescription(out, {"x"});
      protocol::AppendDataRow(out, {std::string(sql.substr(0, 16))});
      protocol::AppendDataRow(out, {std::nullopt});
      protocol::AppendCommandComplete(out, "SELECT 2");
    }
    return true;
  }

  void Ready(std::string& out) { protocol::AppendReadyForQuery(out, status_); }

  void Handle(uint8_t tag, std::string_view body, std::string& out) {
    using protocol::FrontendTag;
    const auto t = static_cast<FrontendTag>(tag);
    if (dead_) return;
    if (copy_in_) {
      if (t == FrontendTag::kCopyData || t == FrontendTag::kFlush || t == FrontendTag::kSync) return;
      copy_in_ = false;
      if (t == FrontendTag::kCopyDone) {
        protocol::AppendCommandComplete(out, "COPY 1");
      } else {
        Error(t == FrontendTag::kCopyFail ? "57014" : "08P01", "COPY from stdin failed", out);
      }
      Ready(out);
      if (t == FrontendTag::kCopyDone || t == FrontendTag::kCopyFail) return;
    }
    if (skipping_ && t != FrontendTag::kSync) return;
    switch (t) {
      case FrontendTag::kQuery: {
        std::string sql = CString(body);
        const std::string verb = Verb(sql);
        if (Parses(sql) && status_ != protocol::TransactionStatus::kFailed && verb == "copy") {
          if (sql.find(" in") != std::string::npos) {
            out.append("G\0\0\0\7\0\0\0", 8);  // CopyInResponse: text, no columns
            copy_in_ = true;
            return;
          }
          out.append("H\0\0\0\7\0\0\0", 8);  // CopyOutResponse
          out.append("d\0\0\0\6a\n", 7);
          if (sql.find(" die") != std::string::npos) return Die(out);
          out.append("d\0\0\0\6b\n", 7);
          out.append("c\0\0\0\4", 5);
          protocol::AppendCommandComplete(out, "COPY 2");
          Ready(out);
          return;
        }
        size_t start = 0;
        do {
          size_t end = sql.find(';', start);
          if (end == std::string::npos) end = sql.size();
          if (!Run(std::string_view(sql).substr(start, end - start), /*describe_rows=*/true, out,
                   static_cast<uint32_t>(start + 1)) ||
              dead_)
            break;
          start = end + 1;
        } while (start < sql.size());
        if (!dead_) Ready(out);
        return;
      }
      case FrontendTag::kParse: {
        std::string name = CString(body);
        std::string sql = CString(body);
        if (!Parses(sql)) return ExtendedError("42601", "syntax error", out);
        if (!name.empty() && statements_.count(name)) return ExtendedError("42P05", "prepared statement exists", out);
        if (status_ == protocol::TransactionStatus::kFailed) return ExtendedError("25P02", "aborted", out);
        statements_[name] = sql;
        out.append("1\0\0\0\4", 5);
        return;
      }
      case FrontendTag::kBind: {
        std::string portal = CString(body);
        std::string name = CString(body);
        auto it = statements_.find(name);
        if (it == statements_.end()) return ExtendedError("26000", "prepared statement does not exist", out);
        if (status_ == protocol::TransactionStatus::kFailed) return ExtendedError("25P02", "aborted", out);
        portals_[portal] = it->second;
        out.append("2\0\0\0\4", 5);
        return;
      }
      case FrontendTag::kDescribe: {
        const char kind = body.empty() ? 0 : body[0];
        body.remove_prefix(body.empty() ? 0 : 1);
        std::string name = CString(body);
        if (kind == 'S') {
          if (!statements_.count(name)) return ExtendedError("26000", "prepared statement does not exist", out);
          out.append("t\0\0\0\6\0\0", 7);  // ParameterDescription: no parameters
        } else if (kind != 'P' || !portals_.count(name)) {
          return ExtendedError("34000", "portal does not exist", out);
        }
        protocol::AppendRowDescription(out, {"x"});
        return;
      }
      case FrontendTag::kExecute: {
        std::string portal = CString(body);
        auto it = portals_.find(portal);
        if (it == portals_.end()) return ExtendedError("34000", "portal does not exist", out);
        if (!Run(it->second, /*describe_rows=*/false, out)) skipping_ = true;
        return;
      }
      case FrontendTag::kClose: {
        const char kind = body.empty() ? 0 : body[0];
        body.remove_prefix(body.empty() ? 0 : 1);
        std::string name = CString(body);
        (kind == 'S' ? statements_.erase(name) : portals_.erase(name));
        out.append("3\0\0\0\4", 5);
        return;
      }
      case FrontendTag::kSync:
        skipping_ = false;
        portals_.erase("");
        Ready(out);
        return;
      case FrontendTag::kFunctionCall:
        if (status_ == protocol::TransactionStatus::kFailed) {
          Error("25P02", "aborted", out);
        } else {
          out.append("V\0\0\0\x0a\0\0\0\2ok", 11);
        }
        Ready(out);
        return;
      default:
        return;  // Flush; CopyData/CopyDone/CopyFail outside COPY are ignored, as PostgreSQL does
    }
  }

  std::string input_;
  std::map<std::string, std::string> statements_;
  std::map<std::string, std::string> portals_;
  std::map<std::string, std::string> settings_;  // parameters set on this connection
  protocol::TransactionStatus status_ = protocol::TransactionStatus::kIdle;
  bool skipping_ = false;  // after an error in an extended-protocol segment, up to Sync
  bool copy_in_ = false;
  bool dead_ = false;  // sent FATAL: answers nothing more
};

}  // namespace pgtenant::relay::testing
