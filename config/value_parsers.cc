// Value parsers: integers, durations, byte sizes, UUIDs, names and password hash formats.
#include "config/value_parsers.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <limits>

#include "protocol/scram.h"

namespace pgtenant::config {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsLowerHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f'); }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Splits "250ms" into 250 and "ms". Fails unless `text` starts with at least one digit.
bool SplitNumberAndUnit(std::string_view text, uint64_t& number, std::string_view& unit) {
  size_t digits = 0;
  while (digits < text.size() && IsDigit(text[digits])) ++digits;
  if (digits == 0) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + digits, number);
  if (ec != std::errc() || end != text.data() + digits) return false;
  unit = text.substr(digits);
  return true;
}

}  // namespace

std::string Quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\x%02x", static_cast<unsigned char>(c));
      out += escaped;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

Result<int64_t> ParseInteger(std::string_view text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || end != text.data() + text.size() || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    return Status::Error("expected an integer, got " + Quoted(text));
  }
  if (ec == std::errc::result_out_of_range) return Status::Error("integer out of range: " + std::string(text));
  return value;
}

Result<Duration> ParseDuration(std::string_view text) {
  const Status malformed =
      Status::Error("expected a duration such as 250ms, 5s, 2m, 1h or a number of seconds, got " + Quoted(text));
  uint64_t number = 0;
  std::string_view unit;
  if (!SplitNumberAndUnit(text, number, unit)) return malformed;
  uint64_t unit_ms = 0;
  if (unit.empty() || unit == "s") {
    unit_ms = 1000;
  } else if (unit == "ms") {
    unit_ms = 1;
  } else if (unit == "m") {
    unit_ms = 60 * 1000;
  } else if (unit == "h") {
    unit_ms = 3600 * 1000;
  } else {
    return malformed;
  }
  const uint64_t max_ms = static_cast<uint64_t>(kMaxDuration.count());
  if (number > max_ms / unit_ms) return Status::Error("duration " + Quoted(text) + " is longer than one year");
  return Duration(static_cast<Duration::rep>(number * unit_ms));
}

Result<uint64_t> ParseByteSize(std::string_view text) {
  uint64_t number = 0;
  std::string_view unit;
  if (!SplitNumberAndUnit(text, number, unit)) {
    return Status::Error("expected a size such as 4096, 64kB, 1MB or 1GB, got " + Quoted(text));
  }
  uint64_t multiplier = 0;
  if (unit.empty() || unit == "B") {
    multiplier = 1;
  } else if (unit == "kB" || unit == "KB" || unit == "KiB") {
    multiplier = uint64_t{1} << 10;
  } else if (unit == "MB" || unit == "MiB") {
    multiplier = uint64_t{1} << 20;
  } else if (unit == "GB" || unit == "GiB") {
    multiplier = uint64_t{1} << 30;
  } else {
    return Status::Error("unknown size unit in " + Quoted(text) + "; use B, kB, KiB, MB, MiB, GB or GiB");
  }
  if (number > std::numeric_limits<uint64_t>::max() / multiplier) {
    return Status::Error("size " + Quoted(text) + " is out of range");
  }
  return number * multiplier;
}

Result<std::string> ParseUuid(std::string_view text) {
  // Checked and lowered in one pass over one allocation: a 100,000-tenant config reads 100,000 of them.
  bool well_formed = text.size() == 36;
  std::string lowered(text);
  for (size_t i = 0; well_formed && i < lowered.size(); ++i) {
    char& c = lowered[i];
    const bool hyphen_here = i == 8 || i == 13 || i == 18 || i == 23;
    well_formed = hyphen_here ? c == '-' : IsHex(c);
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  if (!well_formed) {
    return Status::Error("expected a UUID such as 7c9e6679-7425-40de-944b-e07fc1f90ae7, got " + Quoted(text));
  }
  return lowered;
}

bool IsValidName(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return IsAlpha(c) || IsDigit(c) || c == '_' || c == '-'; });
}

bool IsSqlIdentifier(std::string_view text) {
  if (text.empty() || text.size() > 63) return false;
  if (!IsAlpha(text[0]) && text[0] != '_') return false;
  return std::all_of(text.begin(), text.end(), [](char c) { return IsAlpha(c) || IsDigit(c) || c == '_'; });
}

bool IsCustomSettingName(std::string_view text) {
  size_t parts = 0;
  while (true) {
    const size_t dot = text.find('.');
    if (!IsSqlIdentifier(text.substr(0, dot))) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
  }
  return parts >= 2;
}

bool IsScramSha256Verifier(std::string_view text) { return protocol::ScramVerifier::Parse(text).ok(); }

bool IsMd5Hash(std::string_view text) {
  return text.size() == 35 && text.substr(0, 3) == "md5" && std::all_of(text.begin() + 3, text.end(), IsLowerHex);
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> previous(b.size() + 1);
  std::vector<size_t> current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

std::optional<std::string> ClosestMatch(std::string_view word, const std::vector<std::string>& candidates,
                                        size_t max_distance) {
  std::optional<std::string> best;
  size_t best_distance = max_distance + 1;
  for (const std::string& candidate : candidates) {
    const size_t distance = EditDistance(word, candidate);
    // A suggestion that rewrites more than half the word is noise ("x" -> "id").
    if (distance * 2 > word.size()) continue;
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

}  // namespace pgtenant::config
