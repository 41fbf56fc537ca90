// StatementDigest: what audit events and metrics say about a statement text instead of the text:
// its fingerprint and its normalized text, both derived from the one parse of the text.
//
//  - normalized: the text with every literal replaced by $n (n counting on from the text's highest
//    parameter) and comments dropped, by AuditStatementText's scanner (audit_statement_text.h), so
//    none survives in any statement (COPY file names, COMMENT texts, passwords, function bodies ...);
//    TRUE, FALSE and NULL, and the sign of a negative number, are found through the tree's A_Const
//    locations first. "" when the scanner cannot vouch for the text (the fingerprint then names it).
//  - fingerprint: 16 hex digits of a 64-bit FNV-1a hash of the tree, without locations, constants
//    (a constant and a parameter hash alike), option values (DefElem arguments) and the string
//    fields that hold literals: texts that differ only in those share it. It is pgtenant's own (libpg_query's differs), stable
//    for one libpg_query version.
// Thread-safety: pure function.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "policy/parse_tree.h"

namespace pgtenant::policy {

struct StatementDigest {
  std::string fingerprint;
  std::string normalized;
};

// REQUIRES: `tree` is the parse of `text` (its locations are byte offsets into `text`).
StatementDigest DigestStatement(const PgQuery__ParseResult& tree, std::string_view text);

// `text` normalized as above; `constant_locations` are the tree's A_Const locations (any order).
std::string NormalizeStatement(std::string_view text, std::vector<int> constant_locations);

}  // namespace pgtenant::policy
