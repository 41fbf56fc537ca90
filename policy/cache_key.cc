// CacheKey: a small SQL scanner (strings, quoted identifiers, dollar quotes, comments, numbers).
#include "policy/cache_key.h"

namespace pgtenant::policy {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAsciiAlnum(char c) { return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsIdentChar(char c) { return IsAsciiAlnum(c) || c == '_' || c == '$' || (c & 0x80); }

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
  out.clear();
  out.reserve(sql.size());
  size_t i = 0;
  const size_t n = sql.size();
  while (i < n) {
    char c = sql[i];
    // Comments are kept as they are.
    if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      size_t end = sql.find('\n', i);
      end = end == std::string_view::npos ? n : end;
      out.append(sql.substr(i, end - i));
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
      out.append(sql.substr(i, j - i));
      i = j;
      continue;
    }
    if (c == '\'') {
      // E'...' (and e'...') take backslash escapes; others only double quotes.
      bool escapes = !out.empty() && (out.back() == 'E' || out.back() == 'e') &&
                     (out.size() == 1 || !IsIdentChar(out[out.size() - 2]));
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
      out.append(sql.substr(i, j - i));
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
      out.append(sql.substr(i, j - i));
      i = j;
      continue;
    }
    if (c == '$' && (out.empty() || !IsIdentChar(out.back()))) {
      if (size_t tag = DollarTag(sql, i); tag > 0) {
        size_t close = sql.find(sql.substr(i, tag), i + tag);
        size_t end = close == std::string_view::npos ? n : close + tag;
        out.append(sql.substr(i, end - i));
        i = end;
        continue;
      }
    }
    if (IsIdentChar(c) && !IsDigit(c)) {  // identifier or keyword, digits included
      size_t j = i;
      while (j < n && IsIdentChar(sql[j])) ++j;
      out.append(sql.substr(i, j - i));
      i = j;
      continue;
    }
    if (c == '$') {  // $1: a parameter, kept
      size_t j = i + 1;
      while (j < n && IsDigit(sql[j])) ++j;
      out.append(sql.substr(i, j - i));
      i = j;
      continue;
    }
    bool starts_number = IsDigit(c) || (c == '.' && i + 1 < n && IsDigit(sql[i + 1]) &&
                                        (out.empty() || !IsIdentChar(out.back())));
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
        out.append(sql.substr(i, j - i));
      } else {
        out.push_back('0');
      }
      i = j;
      continue;
    }
    out.push_back(c);
    ++i;
  }
}

}  // namespace pgtenant::policy
