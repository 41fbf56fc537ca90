// ParseTree: decoding libpg_query's serialized tree into protobuf-c's structs, in a bump arena.
#include "policy/parse_tree.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

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
  // pg_query.proto numbers most messages' fields 1..n (Node's 238 among them): then it is an index.
  if (id >= 1 && id <= message.n_fields && message.fields[id - 1].id == id) return &message.fields[id - 1];
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

namespace {

// Decodes the serialized ParseResult into protobuf-c's structs, as protobuf_c_message_unpack would,
// but in one pass per message, without recursion and into the arena: an explicit stack of open
// messages, whose depth is the limit. Each message's own fields are counted first (nested bodies are
// skipped by their length), so repeated fields get arrays of the right size.
class Decoder {
 public:
  using Arena = ParseTree::Arena;

  Decoder(const uint8_t* data, size_t size, Arena& arena) : data_(data), size_(size), arena_(arena) {}

  enum class Outcome { kDone, kTooDeep, kMalformed };

  Outcome Decode(const ProtobufCMessageDescriptor& top, size_t max_depth, ProtobufCMessage*& out) {
    out = NewMessage(top);
    if (!Prepare(*out, 0, size_)) return Outcome::kMalformed;
    open_.push_back({out, size_});
    size_t pos = 0;
    while (!open_.empty()) {
      if (pos == open_.back().end) {
        open_.pop_back();
        continue;
      }
      ProtobufCMessage& message = *open_.back().message;
      const size_t end = open_.back().end;
      uint64_t tag = 0;
      if (!ReadVarint(data_, end, pos, tag)) return Outcome::kMalformed;
      const ProtobufCFieldDescriptor* field = FieldById(*message.descriptor, tag >> 3);
      if (field == nullptr) return Outcome::kMalformed;  // a field the descriptor does not know
      const auto wire = static_cast<uint32_t>(tag & 7);
      if (field->type == PROTOBUF_C_TYPE_MESSAGE) {
        uint64_t length = 0;
        if (wire != kWireLengthDelimited || !ReadVarint(data_, end, pos, length) || length > end - pos) {
          return Outcome::kMalformed;
        }
        const auto& type = *static_cast<const ProtobufCMessageDescriptor*>(field->descriptor);
        ProtobufCMessage* child = NewMessage(type);
        Store(message, *field, &child, sizeof child);
        if (!Prepare(*child, pos, pos + length)) return Outcome::kMalformed;
        open_.push_back({child, pos + length});
        if (open_.size() > max_depth) return Outcome::kTooDeep;
        continue;
      }
      if (!Scalar(message, *field, wire, end, pos)) return Outcome::kMalformed;
    }
    return pos == size_ ? Outcome::kDone : Outcome::kMalformed;
  }

 private:
  struct Open {
    ProtobufCMessage* message;
    size_t end;
  };

  ProtobufCMessage* NewMessage(const ProtobufCMessageDescriptor& type) {
    auto* message = static_cast<ProtobufCMessage*>(arena_.Allocate(type.sizeof_message));
    type.message_init(message);  // the descriptor's defaults: 0, "", NULL, the enum's default
    return message;
  }

  // Counts the repeated fields of the message in [begin, end) and gives each its array.
  bool Prepare(ProtobufCMessage& message, size_t begin, size_t end) {
    const ProtobufCMessageDescriptor& type = *message.descriptor;
    size_t pos = begin;
    bool repeated = false;
    while (pos < end) {
      uint64_t tag = 0;
      if (!ReadVarint(data_, end, pos, tag)) return false;
      const ProtobufCFieldDescriptor* field = FieldById(type, tag >> 3);
      if (field == nullptr) return false;
      if (field->label == PROTOBUF_C_LABEL_REPEATED) {
        if (field->type != PROTOBUF_C_TYPE_MESSAGE) return false;  // packed scalars: analysed trees only
        // Counted only in messages that have a repeated field: a Node (half of all messages, 238
        // fields, one set) never does.
        if (!repeated) counts_.assign(type.n_fields, 0);
        ++counts_[static_cast<size_t>(field - type.fields)];
        repeated = true;
      }
      if (!Skip(static_cast<uint32_t>(tag & 7), end, pos)) return false;
    }
    if (!repeated) return true;
    for (unsigned i = 0; i < type.n_fields; ++i) {
      if (counts_[i] == 0) continue;
      const ProtobufCFieldDescriptor& field = type.fields[i];
      void* items = arena_.Allocate(counts_[i] * sizeof(void*));
      std::memcpy(reinterpret_cast<char*>(&message) + field.offset, &items, sizeof items);
      const size_t none = 0;  // Store counts them in again
      std::memcpy(reinterpret_cast<char*>(&message) + field.quantifier_offset, &none, sizeof none);
    }
    return true;
  }

  bool Skip(uint32_t wire, size_t end, size_t& pos) const {
    uint64_t length = 0;
    switch (wire) {
      case kWireVarint: return ReadVarint(data_, end, pos, length);
      case kWireFixed64: length = 8; break;
      case kWireFixed32: length = 4; break;
      case kWireLengthDelimited:
        if (!ReadVarint(data_, end, pos, length)) return false;
        break;
      default: return false;
    }
    if (length > end - pos) return false;
    pos += length;
    return true;
  }

  bool Scalar(ProtobufCMessage& message, const ProtobufCFieldDescriptor& field, uint32_t wire, size_t end,
              size_t& pos) {
    if (field.label == PROTOBUF_C_LABEL_REPEATED) return false;
    uint64_t value = 0;
    switch (field.type) {
      case PROTOBUF_C_TYPE_STRING: {
        if (wire != kWireLengthDelimited || !ReadVarint(data_, end, pos, value) || value > end - pos) return false;
        auto* text = static_cast<char*>(arena_.Allocate(value + 1));
        std::memcpy(text, data_ + pos, value);
        text[value] = '\0';
        pos += value;
        Store(message, field, &text, sizeof text);
        return true;
      }
      case PROTOBUF_C_TYPE_INT32:
      case PROTOBUF_C_TYPE_UINT32:
      case PROTOBUF_C_TYPE_ENUM: {
        if (wire != kWireVarint || !ReadVarint(data_, end, pos, value)) return false;
        const auto word = static_cast<uint32_t>(value);  // int32 is sign-extended on the wire: its low half
        Store(message, field, &word, sizeof word);
        return true;
      }
      case PROTOBUF_C_TYPE_BOOL: {
        if (wire != kWireVarint || !ReadVarint(data_, end, pos, value)) return false;
        const protobuf_c_boolean flag = value != 0;
        Store(message, field, &flag, sizeof flag);
        return true;
      }
      case PROTOBUF_C_TYPE_INT64:
      case PROTOBUF_C_TYPE_UINT64:
        if (wire != kWireVarint || !ReadVarint(data_, end, pos, value)) return false;
        Store(message, field, &value, sizeof value);
        return true;
      case PROTOBUF_C_TYPE_DOUBLE:
        if (wire != kWireFixed64 || end - pos < 8) return false;
        Store(message, field, data_ + pos, 8);
        pos += 8;
        return true;
      default:
        return false;  // no other type occurs in pg_query.proto (node_catalog_test)
    }
  }

  // Writes a field's value (`size` bytes at `value`), appending to a repeated field, and marks a
  // oneof's case.
  void Store(ProtobufCMessage& message, const ProtobufCFieldDescriptor& field, const void* value, size_t size) {
    char* const base = reinterpret_cast<char*>(&message);
    if (field.label == PROTOBUF_C_LABEL_REPEATED) {
      size_t count = 0;
      char* items = nullptr;
      std::memcpy(&count, base + field.quantifier_offset, sizeof count);
      std::memcpy(&items, base + field.offset, sizeof items);
      std::memcpy(items + count * size, value, size);
      ++count;
      std::memcpy(base + field.quantifier_offset, &count, sizeof count);
      return;
    }
    std::memcpy(base + field.offset, value, size);
    if ((field.flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0) {
      const uint32_t which = field.id;
      std::memcpy(base + field.quantifier_offset, &which, sizeof which);
    }
  }

  const uint8_t* const data_;
  const size_t size_;
  Arena& arena_;
  std::vector<Open> open_;
  std::vector<uint32_t> counts_;
};

}  // namespace

ParseTree ParseTree::Unpack(const void* data, size_t size, size_t max_depth) {
  ParseTree tree;
  tree.arena_ = std::make_unique<Arena>();
  Decoder decoder(static_cast<const uint8_t*>(data), size, *tree.arena_);
  ProtobufCMessage* result = nullptr;
  switch (decoder.Decode(pg_query__parse_result__descriptor, max_depth, result)) {
    case Decoder::Outcome::kDone:
      tree.result_ = reinterpret_cast<const PgQuery__ParseResult*>(result);
      tree.state_ = State::kTree;
      return tree;
    case Decoder::Outcome::kTooDeep:
      tree.state_ = State::kTooDeep;
      break;
    case Decoder::Outcome::kMalformed:
      tree.state_ = State::kUnreadable;
      break;
  }
  tree.arena_.reset();
  return tree;
}

}  // namespace pgtenant::policy
