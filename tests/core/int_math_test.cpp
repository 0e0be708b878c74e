// core/int_math.h: ceil_div in the types host code mixes.
#include "core/int_math.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <type_traits>

namespace gqaforge {
namespace {

static_assert(ceil_div(0, 16) == 0);
static_assert(ceil_div(1, 16) == 1);
static_assert(ceil_div(16, 16) == 1);
static_assert(ceil_div(17, 16) == 2);
static_assert(std::is_same_v<decltype(ceil_div(1, 2)), int>);
static_assert(std::is_same_v<decltype(ceil_div(int64_t{1}, 2)), int64_t>);

TEST(IntMath, CeilDivWidensToTheWiderType) {
  // 2^40 keys in tiles of 128 does not fit an int: the result is int64_t.
  const int64_t keys = int64_t{1} << 40;
  EXPECT_EQ(ceil_div(keys, 128), int64_t{1} << 33);
  EXPECT_EQ(ceil_div(keys + 1, 128), (int64_t{1} << 33) + 1);
}

}  // namespace
}  // namespace gqaforge
