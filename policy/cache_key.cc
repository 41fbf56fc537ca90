// CacheKey: a small SQL scanner (strings, quoted identifiers, dollar quotes, comments, numbers).
#include "policy/cache_key.h"

#include <array>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace pgtenant::policy {

namespace {

constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }
constexpr bool IsAsciiAlnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Character classes, looked up: the scanner visits every byte of every statement.
constexpr uint8_t kIdent = 1;        // may continue an identifier (and a number glued to one)
constexpr uint8_t kInteresting = 2;  // may start a number, comment, quote, dollar quote or parameter
constexpr std::array<uint8_t, 256> kClasses = [] {
  std::array<uint8_t, 256> classes{};
  for (int i = 0; i < 256; ++i) {
    const char c = static_cast<char>(i);
    const bool ident = IsAsciiAlnum(c) || c == '_' || c == '$' || i >= 0x80;
    const bool interesting = IsDigit(c) || c == '$' || c == '-' || c == '/' || c == '\'' || c == '"' || c == '.';
    classes[static_cast<size_t>(i)] = static_cast<uint8_t>((ident ? kIdent : 0) | (interesting ? kInteresting : 0));
  }
  return classes;
}();

bool IsIdentChar(char c) { return kClasses[static_cast<uint8_t>(c)] & kIdent; }
// Letters, spaces, operators and punctuation are kept as they are, whatever surrounds them.
bool Interesting(char c) { return kClasses[static_cast<uint8_t>(c)] & kInteresting; }

// The first position at or after `i` whose character is Interesting (n if none). Statements are
// mostly names and spaces: with SSE2 (every x86-64) sixteen bytes are looked at in one step.
size_t SkipPlain(std::string_view sql, size_t i) {
  const size_t n = sql.size();
#if defined(__SSE2__)
  const __m128i dash = _mm_set1_epi8(0x2D);  // '-' '.' '/' and the digits: 0x2D..0x39
  const __m128i span = _mm_set1_epi8(0x39 - 0x2D);
  const __m128i zero = _mm_setzero_si128();
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(sql.data() + i));
    const __m128i in_range = _mm_cmpeq_epi8(_mm_subs_epu8(_mm_sub_epi8(v, dash), span), zero);
    const __m128i quotes = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\'')));
    const __m128i hit = _mm_or_si128(_mm_or_si128(in_range, quotes), _mm_cmpeq_epi8(v, _mm_set1_epi8('$')));
    if (const int mask = _mm_movemask_epi8(hit); mask != 0) return i + static_cast<size_t>(__builtin_ctz(mask));
  }
#endif
  while (i < n && !Interesting(sql[i])) ++i;
  return i;
}

// Length of a dollar-quote delimiter ($tag$ or $$) at sql[i], 0 if there is none.
size_t DollarTag(std::string_view sql, size_t i) {
  if (sql[i] != '$') return 0;
  size_t j = i + 1;
  if (j < sql.size() && (IsDigit(sql[j]))) return 0;  // $1 is a parameter
  while (j < sql.size() && (IsAsciiAlnum(sql[j]) || sql[j] == '_' || (sql[j] & 0x80))) ++j;
  if (j < sql.size() && sql[j] == '$') return j - i + 1;
  return 0;
}

// End of the string literal whose opening quote is at sql[i] (n if it is not closed).
size_t StringEnd(std::string_view sql, size_t i, bool escapes) {
  const size_t n = sql.size();
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
      return j + 1;
    }
    ++j;
  }
  return n;
}

}  // namespace

std::string FoldNumericLiterals(std::string_view sql) {
  std::string out;
  FoldNumericLiterals(sql, out);
  return out;
}

void FoldNumericLiterals(std::string_view sql, std::string& out) {
  // The key is never longer than the text (a number becomes "0"), so it is written in place: a
  // copy of the whole text first, in which a stretch is copied again only once a folded number
  // has moved what follows it.
  out.resize(sql.size());
  char* const begin = out.data();
  if (!sql.empty()) std::memcpy(begin, sql.data(), sql.size());
  char* o = begin;
  auto copy = [&](size_t from, size_t to) {
    if (o != begin + from) std::memcpy(o, sql.data() + from, to - from);
    o += to - from;
  };
  size_t i = 0;
  const size_t n = sql.size();
  // Whether sql[i - 1] ends an identifier, keyword, parameter or number (not a string, quoted
  // identifier or comment): a digit or '$' after one continues it.
  bool glued = false;
  while (i < n) {
    const size_t skip = SkipPlain(sql, i);
    if (skip > i) {
      copy(i, skip);
      glued = IsIdentChar(sql[skip - 1]);
      i = skip;
    }
    if (i == n) break;
    const char c = sql[i];
    if (glued && IsIdentChar(c)) {  // digits and '$' inside an identifier, or glued to a number
      size_t j = i;
      while (j < n && IsIdentChar(sql[j])) ++j;
      copy(i, j);
      i = j;
      continue;
    }
    const bool was_glued = glued;
    glued = false;  // what follows sets it again where it must
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
      // E'...' (and e'...') take backslash escapes; others only double quotes. An E right after
      // other identifier characters may be a word of its own (after a dollar-quoted string, after
      // a number) or the end of a name: if the two readings end the string in different places,
      // the rest is kept as it is, unfolded.
      const bool after_e = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e');
      const bool e_alone = after_e && (i == 1 || !IsIdentChar(sql[i - 2]));
      const size_t j = StringEnd(sql, i, e_alone);
      if (after_e && !e_alone && StringEnd(sql, i, true) != j) {
        copy(i, n);
        break;
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
    if (c == '$') {  // a dollar-quoted string, kept; else a parameter ($1), kept
      size_t end = i + 1;
      if (size_t tag = DollarTag(sql, i); tag > 0) {
        size_t close = sql.find(sql.substr(i, tag), i + tag);
        end = close == std::string_view::npos ? n : close + tag;
      } else {
        while (end < n && IsDigit(sql[end])) ++end;
        glued = true;
      }
      copy(i, end);
      i = end;
      continue;
    }
    // ".5" right after a name or number is not folded: "t.5" must not become "t0".
    bool starts_number = IsDigit(c) || (c == '.' && i + 1 < n && IsDigit(sql[i + 1]) && !was_glued);
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
      glued = true;
      continue;
    }
    copy(i, i + 1);  // a lone '-', '/' or '.'
    ++i;
  }
  out.resize(static_cast<size_t>(o - begin));
}

}  // namespace pgtenant::policy
