// EnumName: one table of {value, spelling} per enum, read both ways (value -> name for ToString,
// name -> value for parsers), so an enum's spellings are written once.
//
// Here in protocol/ because every layer above spells enums (config's YAML values, policy's audit
// event types). A table lists each enumerator once, in declaration order; tests/config and
// tests/policy check that it names every enumerator and that the names are unique.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace pgtenant {

template <typename E>
struct EnumName {
  E value;
  std::string_view name;
};

// The name `names` gives `value`, or "?" for a value the table does not list (an out-of-range cast).
template <typename E, size_t N>
constexpr std::string_view NameOf(const std::array<EnumName<E>, N>& names, E value) {
  for (const EnumName<E>& entry : names) {
    if (entry.value == value) return entry.name;
  }
  return "?";
}

// The value `names` spells as `name` (exact, case-sensitive), or nullopt.
template <typename E, size_t N>
constexpr std::optional<E> ValueNamed(const std::array<EnumName<E>, N>& names, std::string_view name) {
  for (const EnumName<E>& entry : names) {
    if (entry.name == name) return entry.value;
  }
  return std::nullopt;
}

}  // namespace pgtenant
