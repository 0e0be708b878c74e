// Integer arithmetic shared by host code: tiles, waves and splits. (The kernel templates in
// codegen/kernels keep their own device-side helpers.)
#pragma once

#include <concepts>
#include <type_traits>

namespace gqaforge {

/// a / b rounded up, for a >= 0 and b > 0, in the wider of the two types.
template <std::integral A, std::integral B>
requires(std::is_signed_v<A> == std::is_signed_v<B>) constexpr std::common_type_t<A, B> ceil_div(A a, B b) {
  return (a + b - 1) / b;
}

}  // namespace gqaforge
