// Tests for Status, Result and the propagation macros.
#include "core/status.h"

#include <gtest/gtest.h>

namespace gqaforge {
namespace {

Result<int> half(int x) {
  if (x % 2 != 0) return invalid_argument("{} is odd", x);
  return x / 2;
}

Result<int> quarter(int x) {
  GQF_ASSIGN_OR_RETURN(int h, half(x));
  GQF_ASSIGN_OR_RETURN(int q, half(h));
  return q;
}

Status check_positive(int x) {
  if (x <= 0) return invalid_argument("{} is not positive", x);
  return ok_status();
}

Status check_all(int a, int b) {
  GQF_RETURN_IF_ERROR_CTX(check_positive(a), "first");
  GQF_RETURN_IF_ERROR(check_positive(b));
  return ok_status();
}

TEST(Status, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.to_string(), "ok");
}

TEST(Status, CarriesCodeAndMessage) {
  Status s = resource_exhausted("needs {} bytes of shared memory", 300000);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s.to_string(), "resource_exhausted: needs 300000 bytes of shared memory");
  EXPECT_EQ(s.with_context("decode").message(), "decode: needs 300000 bytes of shared memory");
}

TEST(Result, PropagatesValuesAndErrors) {
  ASSERT_TRUE(quarter(8).ok());
  EXPECT_EQ(*quarter(8), 2);
  Result<int> r = quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "3 is odd");
}

TEST(Status, ReturnIfErrorAddsContext) {
  EXPECT_TRUE(check_all(1, 2).ok());
  EXPECT_EQ(check_all(-1, 2).message(), "first: -1 is not positive");
  EXPECT_EQ(check_all(1, 0).message(), "0 is not positive");
}

}  // namespace
}  // namespace gqaforge
