// Value parsers: the text forms of integers, durations, byte sizes, UUIDs, names and password hashes.
//
// Pure functions of their input, no YAML and no I/O. An error's message describes the expected
// form and quotes the text it got, without location: the caller prefixes "FILE:LINE:COLUMN: path: ".
// Errors quote the input, so never pass a secret to a function that returns a Status; passwords
// are checked with the Is...() predicates, which do not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "protocol/status.h"

namespace pgtenant::config {

// Longest accepted duration: one year. Keeps every later millisecond sum far from overflow.
inline constexpr Duration kMaxDuration{365LL * 24 * 3600 * 1000};

// `text` wrapped in double quotes, for "got ..." in messages.
std::string Quoted(std::string_view text);

// A decimal integer with an optional leading '-': "6432", "-1". No '+', spaces, hex or exponents.
Result<int64_t> ParseInteger(std::string_view text);

// A non-negative duration: a bare integer is seconds ("30"); otherwise an integer followed by one
// of ms, s, m, h ("250ms", "5s", "2m", "1h"). At most kMaxDuration.
Result<Duration> ParseDuration(std::string_view text);

// A byte count: a bare integer is bytes; otherwise an integer followed by B, kB/KB/KiB (1024),
// MB/MiB (1024^2) or GB/GiB (1024^3). Multiples are binary, as in PostgreSQL ("1MB" = 1048576).
Result<uint64_t> ParseByteSize(std::string_view text);

// A UUID in the 8-4-4-4-12 hex form, either case. Returns it lowercased.
Result<std::string> ParseUuid(std::string_view text);

// Tenant, user and backend names: one or more of [A-Za-z0-9_-].
bool IsValidName(std::string_view text);

// A plain (unquoted-safe) SQL identifier: [A-Za-z_][A-Za-z0-9_]*, at most 63 bytes (NAMEDATALEN - 1).
bool IsSqlIdentifier(std::string_view text);

// A custom PostgreSQL setting name: two or more SQL identifiers joined by '.', e.g. "app.tenant_id".
bool IsCustomSettingName(std::string_view text);

// "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>" (RFC 5803, as PostgreSQL stores it):
// iterations a positive decimal, salt non-empty base64, both keys base64 of 32 bytes.
bool IsScramSha256Verifier(std::string_view text);

// "md5" followed by 32 lowercase hex digits, as PostgreSQL stores an MD5 password.
bool IsMd5Hash(std::string_view text);

// Levenshtein distance (insertions, deletions, substitutions).
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate nearest to `word` if it is within `max_distance` edits and the edits touch at most
// half of `word` (first one on ties); nullopt otherwise.
std::optional<std::string> ClosestMatch(std::string_view word, const std::vector<std::string>& candidates,
                                        size_t max_distance = 2);

}  // namespace pgtenant::config
