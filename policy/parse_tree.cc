// ParseTree: the depth of the serialized tree, then unpacking into a bump arena.
#include "policy/parse_tree.h"

#include <algorithm>
#include <cstdint>

namespace pgtenant::policy {

namespace {

// Protocol Buffers wire types (encoding.md).
constexpr uint32_t kWireVarint = 0;
constexpr uint32_t kWireFixed64 = 1;
constexpr uint32_t kWireLengthDelimited = 2;
constexpr uint32_t kWireFixed32 = 5;

bool ReadVarint(const uint8_t* data, size_t end, size_t& pos, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64 && pos < end; shift += 7) {
    const uint8_t byte = data[pos++];
    value |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

// The field numbered `id` (fields are sorted by number), or nullptr.
const ProtobufCFieldDescriptor* FieldById(const ProtobufCMessageDescriptor& message, uint64_t id) {
  size_t low = 0;
  size_t high = message.n_fields;
  while (low < high) {
    const size_t mid = (low + high) / 2;
    if (message.fields[mid].id < id) {
      low = mid + 1;
    } else {
      high = mid;
    }
  }
  return low < message.n_fields && message.fields[low].id == id ? &message.fields[low] : nullptr;
}

}  // namespace

size_t SerializedDepth(const uint8_t* data, size_t size, const ProtobufCMessageDescriptor& message, size_t limit) {
  struct Open {
    const ProtobufCMessageDescriptor* message;
    size_t end;
  };
  std::vector<Open> open{{&message, size}};
  size_t deepest = 1;
  size_t pos = 0;
  while (!open.empty()) {
    if (pos == open.back().end) {
      open.pop_back();
      continue;
    }
    uint64_t tag = 0;
    if (!ReadVarint(data, open.back().end, pos, tag)) return 0;
    uint64_t skip = 0;
    switch (static_cast<uint32_t>(tag & 7)) {
      case kWireVarint:
        if (!ReadVarint(data, open.back().end, pos, skip)) return 0;
        skip = 0;
        break;
      case kWireFixed64: skip = 8; break;
      case kWireFixed32: skip = 4; break;
      case kWireLengthDelimited: {
        if (!ReadVarint(data, open.back().end, pos, skip)) return 0;
        if (skip > open.back().end - pos) return 0;
        const ProtobufCFieldDescriptor* field = FieldById(*open.back().message, tag >> 3);
        if (field != nullptr && field->type == PROTOBUF_C_TYPE_MESSAGE) {
          open.push_back({static_cast<const ProtobufCMessageDescriptor*>(field->descriptor), pos + skip});
          deepest = std::max(deepest, open.size());
          if (deepest > limit) return limit + 1;
          continue;
        }
        break;
      }
      default:
        return 0;
    }
    if (skip > open.back().end - pos) return 0;
    pos += skip;
  }
  return pos == size ? deepest : 0;
}

void* ParseTree::Arena::Allocate(size_t size) {
  constexpr size_t kAlignment = alignof(std::max_align_t);
  size = (size + kAlignment - 1) & ~(kAlignment - 1);
  if (size > left) {
    while (next_block_size < size) next_block_size *= 2;
    blocks.emplace_back(new std::byte[next_block_size]);  // not zeroed; new[] aligns to max_align_t
    next = blocks.back().get();
    left = next_block_size;
    if (next_block_size < (size_t{1} << 20)) next_block_size *= 2;
  }
  void* out = next;
  next += size;
  left -= size;
  return out;
}

ParseTree ParseTree::Unpack(const void* data, size_t size, size_t max_depth) {
  ParseTree tree;
  const auto* bytes = static_cast<const uint8_t*>(data);
  const size_t depth = size == 0 ? 1 : SerializedDepth(bytes, size, pg_query__parse_result__descriptor, max_depth);
  if (depth == 0) {
    tree.state_ = State::kUnreadable;
    return tree;
  }
  if (depth > max_depth) {
    tree.state_ = State::kTooDeep;
    return tree;
  }
  tree.arena_ = std::make_unique<Arena>();
  ProtobufCAllocator allocator{
      [](void* arena, size_t bytes_wanted) { return static_cast<Arena*>(arena)->Allocate(bytes_wanted); },
      [](void*, void*) {},  // freed with the arena
      tree.arena_.get()};
  tree.result_ = pg_query__parse_result__unpack(&allocator, size, bytes);
  if (tree.result_ == nullptr) {
    tree.arena_.reset();
    tree.state_ = State::kUnreadable;
    return tree;
  }
  tree.state_ = State::kTree;
  return tree;
}

}  // namespace pgtenant::policy
