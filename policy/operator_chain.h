// OperatorChain: how long a chain of left-associative operators a SQL text can hold, read from the
// text alone, before it goes to the parser.
//
// PostgreSQL's grammar reads `1+1+1+...`, `a||b||...`, `x::t::t...` or `s COLLATE c COLLATE c ...`
// without growing its own stack, into a tree as deep as the chain is long; libpg_query's output
// functions then recurse once per level and overflow the thread's stack long before max_query_size
// (about 70,000 `1+` on an 8 MB stack). Right-nesting (parentheses, NOT, function calls) is bounded by
// the grammar's own stack (it refuses 10,000 levels with "memory exhausted"). The count is an upper
// bound: every operator of an expression counts, each level of brackets (and CASE ... END) counts one,
// and chains inside them add to the chain around them; a comma, a semicolon, AND, OR, WHEN, THEN and ELSE end one (the grammar makes a flat list of a
// run of ANDs, ORs, CASE branches). Strings, quoted names, dollar quotes and comments are skipped as
// PostgreSQL's scanner skips them.
#pragma once

#include <cstddef>
#include <string_view>

namespace pgtenant::policy {

// The longest operator chain of `sql`, as defined above.
size_t OperatorChainLength(std::string_view sql);

}  // namespace pgtenant::policy
