// Enumerators<E>(): the declared enumerators of an enum with values in [0, 64), in value order, found
// without a hand-written list, so a test can check that a table names each of them (protocol/enum_names.h).
//
// How: GCC and Clang spell a template argument that is an enumerator by its name
// ("[with auto V = ns::E::kName]") and any other value as a cast ("[with auto V = (ns::E)5]").
#pragma once

#include <cstddef>
#include <string_view>
#include <utility>
#include <vector>

namespace pgtenant::testing {

template <auto V>
constexpr bool IsEnumerator() {
  constexpr std::string_view signature = __PRETTY_FUNCTION__;
  constexpr std::string_view marker = "V = ";
  constexpr size_t at = signature.find(marker);
  static_assert(at != std::string_view::npos, "unexpected __PRETTY_FUNCTION__ format");
  return signature[at + marker.size()] != '(';
}

template <typename E, size_t... I>
std::vector<E> EnumeratorsAmong(std::index_sequence<I...>) {
  std::vector<E> found;
  ((IsEnumerator<static_cast<E>(I)>() ? found.push_back(static_cast<E>(I)) : void()), ...);
  return found;
}

template <typename E>
std::vector<E> Enumerators() {
  return EnumeratorsAmong<E>(std::make_index_sequence<64>());
}

}  // namespace pgtenant::testing
