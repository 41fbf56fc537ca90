// ParseTree: libpg_query's typed parse tree of one text (its protobuf message, unpacked), owned.
//
// The tree is libpg_query's own structs (pg_query/pg_query.pb-c.h): a PgQuery__ParseResult whose
// statements are PgQuery__Node oneofs. Its memory comes from one arena that the ParseTree frees
// whole: unpacking allocates a struct per node, and a bump arena makes that a pointer increment.
//
// The bytes are decoded into protobuf-c's structs with libpg_query's descriptors, like
// protobuf_c_message_unpack but without recursion (protobuf-c's takes about 1 KB of stack per level:
// 'SELECT 1+1+...' with 5000 terms exhausted an 8 MB stack) and in one pass per message; a tree nested
// deeper than `max_depth` messages is refused, so no client text can exhaust the stack here or in the
// walks over the tree.
// Thread-safety: a plain value; nothing is shared between trees.
#pragma once

#include <pg_query/pg_query.pb-c.h>

#include <cstddef>
#include <memory>
#include <vector>

namespace pgtenant::policy {

// Deep enough for any statement a person or an ORM writes (a Node and its struct are two levels:
// about 1000 nested expressions); deeper trees are refused, not recursed into.
inline constexpr size_t kMaxTreeDepth = 2000;

class ParseTree {
 public:
  enum class State { kEmpty, kTree, kTooDeep, kUnreadable };

  ParseTree() = default;
  ParseTree(ParseTree&&) noexcept = default;
  ParseTree& operator=(ParseTree&&) noexcept = default;

  // Unpacks libpg_query's serialized tree (pg_query_parse_protobuf): kTree, or kTooDeep when messages
  // nest deeper than `max_depth`, or kUnreadable when the bytes are not a ParseResult.
  static ParseTree Unpack(const void* data, size_t size, size_t max_depth);

  State state() const { return state_; }
  bool ok() const { return state_ == State::kTree; }
  // REQUIRES: ok().
  const PgQuery__ParseResult& result() const { return *result_; }

 public:
  // The arena: blocks that only grow; freed with the tree.
  struct Arena {
    std::vector<std::unique_ptr<std::byte[]>> blocks;
    std::byte* next = nullptr;
    size_t left = 0;
    size_t next_block_size = 4096;
    void* Allocate(size_t size);
  };

 private:
  State state_ = State::kEmpty;
  std::unique_ptr<Arena> arena_;  // its address is the allocator's data: it must not move
  const PgQuery__ParseResult* result_ = nullptr;
};

}  // namespace pgtenant::policy
