// AuditStatementText: a small scanner after PostgreSQL's scan.l (PostgreSQL 15), enough to tell
// constants, comments, quoted identifiers and parameters from the rest. When in doubt it replaces:
// an extra $n loses nothing, a literal left in place would leak a value into the audit log.
#include "policy/audit_statement_text.h"

#include <vector>

namespace pgtenant::policy {

namespace {

bool IsIdentStart(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80; }
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool IsIdentContinue(unsigned char c) { return IsIdentStart(c) || IsDigit(c) || c == '$'; }
bool IsDollarTagContinue(unsigned char c) { return IsIdentStart(c) || IsDigit(c); }

// One piece of the output: text kept as written, or a constant to be replaced by $n.
struct Piece {
  std::string_view text;
  bool constant = false;
};

class Scanner {
 public:
  explicit Scanner(std::string_view sql) : sql_(sql) { pieces_.reserve(32); }

  // The pieces of the whole text, or nullopt when a token does not end.
  std::optional<std::vector<Piece>> Scan() {
    while (pos_ < sql_.size()) {
      if (!Step()) return std::nullopt;
    }
    return std::move(pieces_);
  }
  int highest_parameter() const { return highest_parameter_; }

 private:
  unsigned char At(size_t i) const { return i < sql_.size() ? static_cast<unsigned char>(sql_[i]) : 0; }

  // Text kept as written; joins the piece before it when that one ends where this begins.
  void Keep(size_t from, size_t to) {
    if (!pieces_.empty() && !pieces_.back().constant && pieces_.back().text.data() + pieces_.back().text.size() ==
                                                            sql_.data() + from) {
      pieces_.back().text = std::string_view(pieces_.back().text.data(), pieces_.back().text.size() + (to - from));
      return;
    }
    pieces_.push_back({sql_.substr(from, to - from), false});
  }
  void Constant(size_t from, size_t to) { pieces_.push_back({sql_.substr(from, to - from), true}); }

  bool Step() {
    const size_t start = pos_;
    const unsigned char c = At(pos_);
    if (c == '-' && At(pos_ + 1) == '-') {  // comment to the end of the line
      while (pos_ < sql_.size() && At(pos_) != '\n' && At(pos_) != '\r') ++pos_;
      pieces_.push_back({" ", false});
      return true;
    }
    if (c == '/' && At(pos_ + 1) == '*') return SkipBlockComment();
    if (c == '\'') return QuotedString(start, false);
    if (c == '"') return QuotedIdentifier(start);
    if (c == '$') return Dollar(start);
    if (IsDigit(c) || (c == '.' && IsDigit(At(pos_ + 1)))) {
      Number();
      Constant(start, pos_);
      return true;
    }
    if (IsIdentStart(c)) return Identifier(start);
    ++pos_;
    Keep(start, pos_);
    return true;
  }

  // /* ... */, nested as in PostgreSQL.
  bool SkipBlockComment() {
    int depth = 0;
    while (pos_ < sql_.size()) {
      if (At(pos_) == '/' && At(pos_ + 1) == '*') {
        ++depth;
        pos_ += 2;
      } else if (At(pos_) == '*' && At(pos_ + 1) == '/') {
        pos_ += 2;
        if (--depth == 0) {
          pieces_.push_back({" ", false});
          return true;
        }
      } else {
        ++pos_;
      }
    }
    return false;
  }

  // '...' with '' inside; in an E'' string also backslash escapes. `pos_` is at the quote.
  bool QuotedString(size_t start, bool backslash_escapes) {
    ++pos_;
    while (pos_ < sql_.size()) {
      const unsigned char c = At(pos_);
      if (backslash_escapes && c == '\\') {
        pos_ += 2;
        continue;
      }
      if (c == '\'') {
        if (At(pos_ + 1) == '\'') {
          pos_ += 2;
          continue;
        }
        ++pos_;
        Constant(start, pos_);
        return true;
      }
      ++pos_;
    }
    return false;
  }

  bool QuotedIdentifier(size_t start) {
    ++pos_;
    while (pos_ < sql_.size()) {
      if (At(pos_) == '"') {
        if (At(pos_ + 1) == '"') {
          pos_ += 2;
          continue;
        }
        ++pos_;
        Keep(start, pos_);
        return true;
      }
      ++pos_;
    }
    return false;
  }

  // $n (a parameter), $tag$...$tag$ or $$...$$ (a string); any other $ is kept.
  bool Dollar(size_t start) {
    if (IsDigit(At(pos_ + 1))) {
      ++pos_;
      int number = 0;
      while (IsDigit(At(pos_))) {
        if (number < 1000000) number = number * 10 + (At(pos_) - '0');
        ++pos_;
      }
      if (number > highest_parameter_) highest_parameter_ = number;
      Keep(start, pos_);
      return true;
    }
    size_t end = pos_ + 1;
    if (IsIdentStart(At(end))) {
      while (IsDollarTagContinue(At(end))) ++end;
    }
    if (At(end) != '$') {
      ++pos_;
      Keep(start, pos_);
      return true;
    }
    const std::string_view tag = sql_.substr(pos_, end + 1 - pos_);
    const size_t close = sql_.find(tag, end + 1);
    if (close == std::string_view::npos) return false;
    pos_ = close + tag.size();
    Constant(start, pos_);
    return true;
  }

  // 42, 4.2, .42, 4.2e-1; what follows the digits (1e, 0x1f) is replaced with them.
  void Number() {
    while (IsDigit(At(pos_)) || At(pos_) == '.' || At(pos_) == '_') ++pos_;
    if ((At(pos_) == 'e' || At(pos_) == 'E') &&
        (IsDigit(At(pos_ + 1)) || ((At(pos_ + 1) == '+' || At(pos_ + 1) == '-') && IsDigit(At(pos_ + 2))))) {
      pos_ += 2;
      while (IsDigit(At(pos_))) ++pos_;
    }
    while (IsIdentContinue(At(pos_))) ++pos_;  // junk or 0x.. forms: part of the constant
  }

  // A word; E'..', B'..', X'..', N'..' and U&'..' are strings with a prefix.
  bool Identifier(size_t start) {
    while (IsIdentContinue(At(pos_))) ++pos_;
    const std::string_view word = sql_.substr(start, pos_ - start);
    if (word.size() == 1 && At(pos_) == '\'') {
      const char prefix = word[0];
      if (prefix == 'e' || prefix == 'E') return QuotedString(start, true);
      if (prefix == 'b' || prefix == 'B' || prefix == 'x' || prefix == 'X' || prefix == 'n' || prefix == 'N') {
        return QuotedString(start, false);
      }
    }
    if (word.size() == 1 && (word[0] == 'u' || word[0] == 'U') && At(pos_) == '&' && At(pos_ + 1) == '\'') {
      ++pos_;
      return QuotedString(start, false);
    }
    Keep(start, pos_);
    return true;
  }

  std::string_view sql_;
  size_t pos_ = 0;
  std::vector<Piece> pieces_;
  int highest_parameter_ = 0;
};

}  // namespace

std::optional<std::string> AuditStatementText(std::string_view sql) {
  Scanner scanner(sql);
  std::optional<std::vector<Piece>> pieces = scanner.Scan();
  if (!pieces) return std::nullopt;
  std::string out;
  out.reserve(sql.size());
  int next = scanner.highest_parameter();
  for (const Piece& piece : *pieces) {
    if (piece.constant) {
      out += '$';
      out += std::to_string(++next);
    } else {
      out += piece.text;
    }
  }
  const size_t first = out.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return std::string();
  const size_t last = out.find_last_not_of(" \t\r\n");
  return out.substr(first, last - first + 1);
}

}  // namespace pgtenant::policy
