// AuditStatementText: the text of a statement as audit events may carry it — no literal, ever.
//
// libpg_query's normalize replaces the literals of queries with $n but leaves those of utility
// statements in place (PREPARE, CREATE TABLE AS, ALTER ROLE/DATABASE/SYSTEM ... SET, COMMENT ON,
// COPY ... FROM 'file', CREATE VIEW, NOTIFY, DEFAULT expressions ...), and keeps comments, which may
// hold anything. This lexes the text the way PostgreSQL's scanner (scan.l) splits tokens and replaces
// what normalize left: every string constant (plain, E'', B'', X'', N'', U&'', dollar-quoted) and
// every numeric constant becomes $n (numbered after the text's own $n), every comment is dropped.
// Identifiers, keywords, operators and existing $n parameters are kept as written.
//
// Fail closed: text the lexer cannot split with certainty (an unterminated string, comment, quoted
// identifier or dollar quote) gives nullopt; the event then carries the fingerprint alone.
// Thread-safety: a pure function.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pgtenant::policy {

// REQUIRES: `sql` is read with standard_conforming_strings on (the policy keeps it on:
// rule protocol.encoding).
std::optional<std::string> AuditStatementText(std::string_view sql);

}  // namespace pgtenant::policy
