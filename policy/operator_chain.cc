// OperatorChain: a single pass over the text, keeping the chain length open at each parenthesis level.
#include "policy/operator_chain.h"

#include <vector>

#include "protocol/ascii_case.h"

namespace pgtenant::policy {

namespace {

bool IsOperatorChar(char c) {
  switch (c) {
    case '+': case '-': case '*': case '/': case '<': case '>': case '=': case '~': case '!':
    case '@': case '#': case '%': case '^': case '&': case '|': case '`': case '?': case ':':
      return true;
    default:
      return false;
  }
}

bool IsIdentifierStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}

bool IsIdentifierChar(char c) { return IsIdentifierStart(c) || (c >= '0' && c <= '9') || c == '$'; }

// Words that join two expressions left-associatively: x AT TIME ZONE z, s COLLATE c, a OPERATOR(+) b.
bool IsOperatorWord(std::string_view word) {
  return protocol::EqualsIgnoreCase(word, "at") || protocol::EqualsIgnoreCase(word, "collate") ||
         protocol::EqualsIgnoreCase(word, "operator");
}

// Words after which a new expression starts, not nested in the one before: the grammar keeps a run of
// ANDs (or ORs) as one flat list, and the branches of a CASE side by side.
bool EndsExpression(std::string_view word) {
  for (std::string_view end : {"and", "or", "when", "then", "else"})
    if (protocol::EqualsIgnoreCase(word, end)) return true;
  return false;
}

class Scanner {
 public:
  explicit Scanner(std::string_view sql) : sql_(sql) {}

  size_t Run() {
    while (pos_ < sql_.size()) Step();
    return longest_;
  }

 private:
  void Step() {
    const char c = sql_[pos_];
    const char next = pos_ + 1 < sql_.size() ? sql_[pos_ + 1] : '\0';
    if (c == '-' && next == '-') return SkipLineComment();
    if (c == '/' && next == '*') return SkipBlockComment();
    if (c == '\'') return SkipQuoted('\'', EscapeString());
    if (c == '"') return SkipQuoted('"', false);
    if (c == '$' && SkipDollarQuote()) return;
    if (c == '(' || c == '[') {
      ++pos_;
      return Open(/*is_case=*/false);
    }
    if (c == ')' || c == ']') {
      ++pos_;
      return Close(/*is_case=*/false);
    }
    if (c == ',' || c == ';') {
      chain_ = 0;
      ++pos_;
      return;
    }
    if (IsOperatorChar(c)) {
      // One operator token: the run of operator characters, up to a comment's start.
      while (pos_ < sql_.size() && IsOperatorChar(sql_[pos_])) {
        if (pos_ + 1 < sql_.size() && ((sql_[pos_] == '-' && sql_[pos_ + 1] == '-') ||
                                       (sql_[pos_] == '/' && sql_[pos_ + 1] == '*')))
          break;
        ++pos_;
      }
      return Count();
    }
    if (IsIdentifierStart(c)) {
      const size_t start = pos_;
      while (pos_ < sql_.size() && IsIdentifierChar(sql_[pos_])) ++pos_;
      const std::string_view word = sql_.substr(start, pos_ - start);
      if (IsOperatorWord(word)) Count();
      if (EndsExpression(word)) chain_ = 0;
      // CASE ... END encloses its branches as parentheses do (END also ends other things: only the
      // END that matches an open CASE closes one).
      if (protocol::EqualsIgnoreCase(word, "case")) Open(/*is_case=*/true);
      if (protocol::EqualsIgnoreCase(word, "end")) Close(/*is_case=*/true);
      return;
    }
    ++pos_;  // digits, dots, whitespace, anything else
  }

  void Count() {
    ++chain_;
    if (enclosing_ + chain_ > longest_) longest_ = enclosing_ + chain_;
  }

  // A level opens: the chain around it goes on after it, and the level itself is one more (nested
  // brackets deepen the tree too).
  void Open(bool is_case) {
    open_.push_back(Level{chain_, is_case});
    enclosing_ += chain_ + 1;
    chain_ = 0;
    if (enclosing_ > longest_) longest_ = enclosing_;
  }

  void Close(bool is_case) {
    if (open_.empty() || open_.back().is_case != is_case) return;
    chain_ = open_.back().chain;
    enclosing_ -= chain_ + 1;
    open_.pop_back();
  }

  // E'...' (and e'...'): backslash escapes, unless the E ends a longer word.
  bool EscapeString() const {
    if (pos_ == 0 || (sql_[pos_ - 1] != 'E' && sql_[pos_ - 1] != 'e')) return false;
    return pos_ < 2 || !IsIdentifierChar(sql_[pos_ - 2]);
  }

  void SkipQuoted(char quote, bool backslash_escapes) {
    ++pos_;
    while (pos_ < sql_.size()) {
      const char c = sql_[pos_];
      if (backslash_escapes && c == '\\') {
        pos_ += 2;
        continue;
      }
      ++pos_;
      if (c != quote) continue;
      if (pos_ < sql_.size() && sql_[pos_] == quote) {  // a doubled quote stands for itself
        ++pos_;
        continue;
      }
      return;
    }
  }

  void SkipLineComment() {
    while (pos_ < sql_.size() && sql_[pos_] != '\n') ++pos_;
  }

  void SkipBlockComment() {  // nested, as in PostgreSQL
    size_t depth = 0;
    while (pos_ + 1 < sql_.size()) {
      if (sql_[pos_] == '/' && sql_[pos_ + 1] == '*') {
        ++depth;
        pos_ += 2;
      } else if (sql_[pos_] == '*' && sql_[pos_ + 1] == '/') {
        pos_ += 2;
        if (--depth == 0) return;
      } else {
        ++pos_;
      }
    }
    pos_ = sql_.size();
  }

  // $tag$ ... $tag$ (tag empty or an identifier not starting with a digit). False: `$` is something
  // else ($1, or part of a name), and nothing was consumed.
  bool SkipDollarQuote() {
    if (pos_ > 0 && IsIdentifierChar(sql_[pos_ - 1])) return false;
    size_t end = pos_ + 1;
    if (end < sql_.size() && IsIdentifierStart(sql_[end])) {
      while (end < sql_.size() && IsIdentifierChar(sql_[end]) && sql_[end] != '$') ++end;
    }
    if (end >= sql_.size() || sql_[end] != '$') return false;
    const std::string_view tag = sql_.substr(pos_, end - pos_ + 1);
    const size_t close = sql_.find(tag, end + 1);
    pos_ = close == std::string_view::npos ? sql_.size() : close + tag.size();
    return true;
  }

  std::string_view sql_;
  size_t pos_ = 0;
  size_t chain_ = 0;      // operators of the expression being read, at this parenthesis level
  size_t enclosing_ = 0;  // the chains open around this level, summed
  size_t longest_ = 0;
  struct Level {
    size_t chain;  // the chain around the level when it opened
    bool is_case;  // CASE ... END, else brackets
  };
  std::vector<Level> open_;
};

}  // namespace

size_t OperatorChainLength(std::string_view sql) { return Scanner(sql).Run(); }

}  // namespace pgtenant::policy
