// The tune grid: the Cartesian product of the lists in order and without repeats, bucket
// representatives instead of the values, and the first invalid problem named.
#include <gtest/gtest.h>

#include "autotune/grid.h"

namespace gqaforge::autotune {

using codegen::Phase;

namespace {

std::vector<std::string> names(const std::vector<codegen::AttentionProblem>& problems) {
  std::vector<std::string> out;
  for (const codegen::AttentionProblem& p : problems) out.push_back(p.name());
  return out;
}

/// Decode 32:8 d128 at batch 1, kv 1k: one problem, for the tests to vary.
ProblemGrid one_decode() {
  ProblemGrid g;
  g.phases = {Phase::kDecode};
  g.heads = {{32, 8}};
  g.head_dims = {128};
  g.batches = {1};
  g.kv_lens = {1024};
  return g;
}

TEST(Grid, CartesianProductInOrderEachOnce) {
  ProblemGrid g = one_decode();
  g.phases = {Phase::kDecode, Phase::kPrefill};
  g.batches = {1, 4};
  g.kv_lens = {1024, 4096};
  g.causal = {true, false};  // decode is causal either way: its problems come once
  auto problems = grid_problems(g);
  ASSERT_TRUE(problems.ok()) << problems.status().message();
  EXPECT_EQ(names(*problems), (std::vector<std::string>{
                                  "decode 32:8 d128 bf16 causal b1 q1 kv1k",
                                  "decode 32:8 d128 bf16 causal b1 q1 kv4k",
                                  "decode 32:8 d128 bf16 causal b4 q1 kv1k",
                                  "decode 32:8 d128 bf16 causal b4 q1 kv4k",
                                  "prefill 32:8 d128 bf16 causal b1 q1k kv1k",
                                  "prefill 32:8 d128 bf16 causal b1 q4k kv4k",
                                  "prefill 32:8 d128 bf16 causal b4 q1k kv1k",
                                  "prefill 32:8 d128 bf16 causal b4 q4k kv4k",
                                  "prefill 32:8 d128 bf16 b1 q1k kv1k",
                                  "prefill 32:8 d128 bf16 b1 q4k kv4k",
                                  "prefill 32:8 d128 bf16 b4 q1k kv1k",
                                  "prefill 32:8 d128 bf16 b4 q4k kv4k",
                              }));
}

TEST(Grid, ExplicitQueryLengths) {
  ProblemGrid g = one_decode();
  g.batches = {2};
  g.kv_lens = {4096};
  g.q_lens = std::vector<int64_t>{1, 4};
  auto problems = grid_problems(g);
  ASSERT_TRUE(problems.ok());
  EXPECT_EQ(names(*problems), (std::vector<std::string>{"decode 32:8 d128 bf16 causal b2 q1 kv4k",
                                                        "decode 32:8 d128 bf16 causal b2 q4 kv4k"}));
}

TEST(Grid, BucketsTuneTheRepresentatives) {
  ProblemGrid g = one_decode();
  g.batches = {3};     // bucket 2-4
  g.kv_lens = {3000};  // its length bucket's upper edge is the representative
  g.buckets = true;
  auto problems = grid_problems(g);
  ASSERT_TRUE(problems.ok());
  ASSERT_EQ(problems->size(), 1u);
  EXPECT_EQ((*problems)[0].batch, 4);
  EXPECT_GE((*problems)[0].kv_len, 3000);
}

TEST(Grid, NamesTheFirstInvalidProblem) {
  ProblemGrid g = one_decode();
  g.head_dims = {100};
  auto problems = grid_problems(g);
  ASSERT_FALSE(problems.ok());
  EXPECT_NE(problems.status().message().find("problem 'decode 32:8 d100 bf16 causal b1 q1 kv1k'"), std::string::npos)
      << problems.status().message();
}

}  // namespace
}  // namespace gqaforge::autotune
