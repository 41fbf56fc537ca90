// CacheKey: a small SQL scanner (strings, quoted identifiers, dollar quotes, comments, numbers).
#include "policy/cache_key.h"

#include <array>
#include <cstdint>
#include <cstring>

namespace pgtenant::policy {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
constexpr bool IsAsciiAlnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Character classes, looked up: the scanner visits every byte of every statement.
constexpr uint8_t kIdent = 1;    // may continue an identifier (and a number glued to one)
constexpr uint8_t kSpecial = 2;  // may start a comment, quote, dollar quote, parameter, identifier or number
constexpr std::array<uint8_t, 256> kClasses = [] {
  std::array<uint8_t, 256> classes{};
  for (int i = 0; i < 256; ++i) {
    const char c = static_cast<char>(i);
    const bool ident = IsAsciiAlnum(c) || c == '_' || c == '$' || i >= 0x80;
    classes[static_cast<size_t>(i)] = static_cast<uint8_t>(
        (ident ? kIdent : 0) | (ident || c == '-' || c == '/' || c == '\'' || c == '"' || c == '.' ? kSpecial : 0));
  }
  return classes;
}();

bool IsIdentChar(char c) { return kClasses[static_cast<uint8_t>(c)] & kIdent; }
// Everything that is not special is copied as it is.
bool Special(char c) { return kClasses[static_cast<uint8_t>(c)] & kSpecial; }

// Length of a dollar-quote delimiter ($tag$ or $$) at sql[i], 0 if there is none.
size_t DollarTag(std::string_view sql, size_t i) {
  if (sql[i] != '$') return 0;
  size_t j = i + 1;
  if (j < sql.size() && (IsDigit(sql[j]))) return 0;  // $1 is a parameter
  while (j < sql.size() && (IsAsciiAlnum(sql[j]) || sql[j] == '_' || (sql[j] & 0x80))) ++j;
  if (j < sql.size() && sql[j] == '$') return j - i + 1;
  return 0;
}

}  // namespace

std::string FoldNumericLiterals(std::string_view sql) {
  std::string out;
  FoldNumericLiterals(sql, out);
  return out;
}

void FoldNumericLiterals(std::string_view sql, std::string& out) {
  // The key is never longer than the text (a number becomes "0"), so it is written in place.
  out.resize(sql.size());
  char* const begin = out.data();
  char* o = begin;
  auto copy = [&](size_t from, size_t to) {
    std::memcpy(o, sql.data() + from, to - from);
    o += to - from;
  };
  auto last_is_ident = [&] { return o > begin && IsIdentChar(o[-1]); };
  size_t i = 0;
  const size_t n = sql.size();
  while (i < n) {
    char c = sql[i];
    if (!Special(c)) {  // spaces, operators, punctuation: kept as they are
      *o++ = c;
      ++i;
      continue;
    }
    // Comments are kept as they are.
    if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      size_t end = sql.find('\n', i);
      end = end == std::string_view::npos ? n : end;
      copy(i, end);
      i = end;
      continue;
    }
    if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      size_t depth = 0;
      size_t j = i;
      do {
        if (j + 1 < n && sql[j] == '/' && sql[j + 1] == '*') {
          ++depth;
          j += 2;
        } else if (j + 1 < n && sql[j] == '*' && sql[j + 1] == '/') {
          --depth;
          j += 2;
        } else {
          ++j;
        }
      } while (j < n && depth > 0);
      copy(i, j);
      i = j;
      continue;
    }
    if (c == '\'') {
      // E'...' (and e'...') take backslash escapes; others only double quotes.
      bool escapes = o > begin && (o[-1] == 'E' || o[-1] == 'e') && (o - begin == 1 || !IsIdentChar(o[-2]));
      size_t j = i + 1;
      while (j < n) {
        if (escapes && sql[j] == '\\' && j + 1 < n) {
          j += 2;
          continue;
        }
        if (sql[j] == '\'') {
          if (j + 1 < n && sql[j + 1] == '\'') {
            j += 2;
            continue;
          }
          ++j;
          break;
        }
        ++j;
      }
      copy(i, j);
      i = j;
      continue;
    }
    if (c == '"') {
      size_t j = i + 1;
      while (j < n) {
        if (sql[j] == '"') {
          if (j + 1 < n && sql[j + 1] == '"') {
            j += 2;
            continue;
          }
          ++j;
          break;
        }
        ++j;
      }
      copy(i, j);
      i = j;
      continue;
    }
    if (c == '$' && !last_is_ident()) {
      if (size_t tag = DollarTag(sql, i); tag > 0) {
        size_t close = sql.find(sql.substr(i, tag), i + tag);
        size_t end = close == std::string_view::npos ? n : close + tag;
        copy(i, end);
        i = end;
        continue;
      }
    }
    if (IsIdentChar(c) && !IsDigit(c)) {  // identifier or keyword, digits included
      size_t j = i;
      while (j < n && IsIdentChar(sql[j])) ++j;
      copy(i, j);
      i = j;
      continue;
    }
    if (c == '$') {  // $1: a parameter, kept
      size_t j = i + 1;
      while (j < n && IsDigit(sql[j])) ++j;
      copy(i, j);
      i = j;
      continue;
    }
    bool starts_number = IsDigit(c) || (c == '.' && i + 1 < n && IsDigit(sql[i + 1]) && !last_is_ident());
    if (starts_number) {
      size_t j = i;
      while (j < n && IsDigit(sql[j])) ++j;
      if (j < n && sql[j] == '.' && !(j + 1 < n && sql[j + 1] == '.')) {
        ++j;
        while (j < n && IsDigit(sql[j])) ++j;
      }
      if (j < n && (sql[j] == 'e' || sql[j] == 'E')) {
        size_t k = j + 1;
        if (k < n && (sql[k] == '+' || sql[k] == '-')) ++k;
        if (k < n && IsDigit(sql[k])) {
          j = k;
          while (j < n && IsDigit(sql[j])) ++j;
        }
      }
      // A number glued to an identifier (123abc) is not one token in PostgreSQL 15 either way;
      // keep such text as it is so nothing ambiguous is folded.
      if (j < n && IsIdentChar(sql[j])) {
        while (j < n && IsIdentChar(sql[j])) ++j;
        copy(i, j);
      } else {
        *o++ = '0';
      }
      i = j;
      continue;
    }
    *o++ = c;
    ++i;
  }
  out.resize(static_cast<size_t>(o - begin));
}

}  // namespace pgtenant::policy
