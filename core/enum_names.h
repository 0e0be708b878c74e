// The names of an enum in one table that both directions read (value -> name for output,
// name -> value for parsing), so an enumerator and its spelling are written once.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace gqaforge {

template <typename E>
struct EnumName {
  E value;
  const char* name;
};

/// The name of `value` in `table`, or "unknown" for a value the table lacks.
template <typename E, std::size_t N>
constexpr const char* enum_name(const EnumName<E> (&table)[N], E value) {
  for (const EnumName<E>& e : table) {
    if (e.value == value) return e.name;
  }
  return "unknown";
}

/// The value named `name` (exactly) in `table`.
template <typename E, std::size_t N>
constexpr std::optional<E> enum_value(const EnumName<E> (&table)[N], std::string_view name) {
  for (const EnumName<E>& e : table) {
    if (name == e.name) return e.value;
  }
  return std::nullopt;
}

}  // namespace gqaforge
