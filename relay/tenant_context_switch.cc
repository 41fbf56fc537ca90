// TenantContextSwitch: the context statements as unsynced extended-protocol messages, the
// allow-list of first statements they may precede, and reading their answers.
#include "relay/tenant_context_switch.h"

#include <array>

#include "protocol/wire.h"
#include "relay/session_wire.h"

namespace pgtenant::relay {

namespace {

using protocol::BackendTag;
using protocol::FrontendTag;

bool Is(uint8_t tag, BackendTag expected) { return tag == static_cast<uint8_t>(expected); }

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// The statement's first keyword (or "(" ), past white space and comments; "" when there is none.
std::string_view FirstWord(std::string_view sql) {
  size_t i = 0;
  while (i < sql.size()) {
    if (IsSpace(sql[i])) {
      ++i;
    } else if (sql.compare(i, 2, "--") == 0) {
      const size_t end = sql.find('\n', i);
      i = end == std::string_view::npos ? sql.size() : end + 1;
    } else if (sql.compare(i, 2, "/*") == 0) {
      // Nested comments are rare in a first line; an unclosed or nested one is "unsure": no word.
      const size_t end = sql.find("*/", i + 2);
      if (end == std::string_view::npos || sql.substr(i + 2, end - i - 2).find("/*") != std::string_view::npos)
        return {};
      i = end + 2;
    } else {
      break;
    }
  }
  if (i < sql.size() && sql[i] == '(') return sql.substr(i, 1);
  size_t end = i;
  while (end < sql.size() && ((sql[end] >= 'a' && sql[end] <= 'z') || (sql[end] >= 'A' && sql[end] <= 'Z'))) ++end;
  // A keyword stands alone: "SELECT(1)" and "SELECT 1" are, "SELECTx" is not a keyword at all.
  if (end < sql.size() && (sql[end] == '_' || sql[end] == '$' || (sql[end] >= '0' && sql[end] <= '9') ||
                           static_cast<unsigned char>(sql[end]) >= 0x80))
    return {};
  return sql.substr(i, end - i);
}

// Statements that never call PreventInTransactionBlock (PostgreSQL's "cannot be executed within a
// pipeline"): the DML, transaction starts and parameter statements that make up nearly all traffic.
// These take a snapshot as they start (postgres.c: analyze_requires_snapshot) ...
constexpr std::array<std::string_view, 8> kTakeSnapshot = {"SELECT", "INSERT", "UPDATE", "DELETE",
                                                           "MERGE",  "WITH",   "VALUES", "TABLE"};
// ... and these do not, and may choose what a snapshot would fix (isolation level, read-write).
constexpr std::array<std::string_view, 4> kBeforeSnapshot = {"BEGIN", "START", "SET", "SHOW"};

}  // namespace

TenantContextSwitch::FirstMessage TenantContextSwitch::Classify(uint8_t tag, std::span<const uint8_t> body) {
  std::string_view text(reinterpret_cast<const char*>(body.data()), body.size());
  if (tag == static_cast<uint8_t>(FrontendTag::kParse)) {
    const size_t name_end = text.find('\0');
    if (name_end == std::string_view::npos) return FirstMessage::kRoundTrip;
    text.remove_prefix(name_end + 1);
  } else if (tag != static_cast<uint8_t>(FrontendTag::kQuery)) {
    return FirstMessage::kRoundTrip;
  }
  text = text.substr(0, text.find('\0'));
  const std::string_view word = FirstWord(text);
  if (word == "(") return FirstMessage::kTakesSnapshot;
  for (std::string_view allowed : kTakeSnapshot)
    if (EqualsIgnoreCase(word, allowed)) return FirstMessage::kTakesSnapshot;
  for (std::string_view allowed : kBeforeSnapshot)
    if (EqualsIgnoreCase(word, allowed)) return FirstMessage::kBeforeSnapshot;
  return FirstMessage::kRoundTrip;
}

bool TenantContextSwitch::QueryMayCarry(uint8_t tag, std::span<const uint8_t> body) {
  return tag == static_cast<uint8_t>(FrontendTag::kQuery) && Classify(tag, body) == FirstMessage::kTakesSnapshot;
}

namespace {

// Parse, Bind and Execute of `sql` on the unnamed statement and portal, no parameters, no Sync. Written
// byte by byte rather than with MessageBuilder: a shared pool does this at nearly every transaction.
void AppendStatement(std::string& out, std::string_view sql) {
  // Bind: portal "", statement "", no parameter formats, no parameters, no result formats.
  // Execute: portal "", no row limit.
  static constexpr char kBindExecute[] = {'B', 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 'E', 0, 0, 0, 9, 0, 0, 0, 0, 0};
  const auto length = static_cast<uint32_t>(4 + 1 + sql.size() + 1 + 2);  // name "", query, no parameter types
  const char parse_head[] = {'P', static_cast<char>(length >> 24), static_cast<char>((length >> 16) & 0xff),
                             static_cast<char>((length >> 8) & 0xff), static_cast<char>(length & 0xff), 0};
  out.append(parse_head, sizeof parse_head).append(sql).append(3, '\0').append(kBindExecute, sizeof kBindExecute);
}

}  // namespace

void TenantContextSwitch::Arm(std::string_view statements, SequenceReset sequences) {
  // Kept as text, which a Query carries as it is and AppendMessages cuts into Parse/Bind/Execute at
  // each ';': both forms run exactly statement_count_ statements. Past a NUL, or the last ';', there
  // is none.
  statements = statements.substr(0, statements.find('\0'));
  statements = statements.substr(0, statements.rfind(';') + 1);  // npos + 1: nothing
  statements_ = statements;
  text_owner_.reset();
  statement_count_ = 0;
  for (size_t end = statements.find(';'); end != std::string_view::npos; end = statements.find(';', end + 1))
    ++statement_count_;
  discard_sequences_ = sequences == SequenceReset::kWithContext;
  if (discard_sequences_) ++statement_count_;
  carried_by_query_ = false;
  sequence_reset_ = sequences;
  phase_ = statement_count_ == 0 ? Phase::kNone : Phase::kArmed;
}

void TenantContextSwitch::AppendMessages(std::string& out) {
  // The unnamed statement and portal: a client's next Parse or Bind replaces them, and a client
  // cannot rely on its own unnamed ones across transactions under transaction pooling.
  std::string_view rest = statements_;
  for (size_t end = rest.find(';'); end != std::string_view::npos; end = rest.find(';')) {
    AppendStatement(out, rest.substr(0, end));
    rest.remove_prefix(end + 1);
  }
  if (discard_sequences_) AppendStatement(out, kDiscardSequences);
  executed_ = 0;
  undone_ = false;
  phase_ = Phase::kAwaiting;
}

TenantContextSwitch::CarriedQuery TenantContextSwitch::CarryQuery(size_t body_size) {
  // Each statement ends with its ';' (Arm): the client's text starts a statement of its own.
  CarriedQuery query;
  query.statements = statements_;
  if (discard_sequences_) query.discard = kDiscardSequencesStatement;
  query.shift = static_cast<uint32_t>(query.statements.size() + query.discard.size());
  const auto length = static_cast<uint32_t>(4 + query.shift + body_size);
  query.head = {static_cast<uint8_t>(FrontendTag::kQuery), static_cast<uint8_t>(length >> 24),
                static_cast<uint8_t>((length >> 16) & 0xff), static_cast<uint8_t>((length >> 8) & 0xff),
                static_cast<uint8_t>(length & 0xff)};
  executed_ = 0;
  undone_ = false;
  carried_by_query_ = true;
  phase_ = Phase::kAwaiting;
  return query;
}

TenantContextSwitch::Answer TenantContextSwitch::OnAnswer(uint8_t tag) {
  if (Is(tag, BackendTag::kParseComplete) || Is(tag, BackendTag::kBindComplete) ||
      Is(tag, BackendTag::kNoticeResponse) || Is(tag, BackendTag::kParameterStatus) ||
      Is(tag, BackendTag::kNotificationResponse))  // a previous client's LISTEN (policy off): not this client's
    return Answer::kSwallow;
  if (Is(tag, BackendTag::kErrorResponse)) {
    if (carried_by_query_) {
      phase_ = Phase::kWatching;
      undone_ = true;
      return Answer::kFailedInQuery;
    }
    Reset();
    return Answer::kFailed;
  }
  if (!Is(tag, BackendTag::kCommandComplete)) return Answer::kUnexpected;
  if (++executed_ < statement_count_) return Answer::kSwallow;
  phase_ = Phase::kWatching;
  return Answer::kExecuted;
}

void TenantContextSwitch::NoteCommandComplete(std::span<const uint8_t> body) {
  // "ROLLBACK" is the tag of ROLLBACK, ABORT, ROLLBACK TO SAVEPOINT and a COMMIT of an aborted transaction.
  constexpr std::string_view kRollback = "ROLLBACK";
  const std::string_view command(reinterpret_cast<const char*>(body.data()), body.size());
  if (command.substr(0, kRollback.size()) == kRollback) undone_ = true;
}

bool TenantContextSwitch::Settle() {
  const bool holds = !undone_;
  Reset();
  return holds;
}

}  // namespace pgtenant::relay
