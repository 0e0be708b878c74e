// Codegen: emitted source against golden files (a change to emitted code must bump
// kCodegenVersion and update the goldens), problem validation and naming, work counts.
#include <gtest/gtest.h>

#include "codegen/emit_families.h"
#include "codegen/emitter.h"
#include "core/fs.h"

namespace gqaforge {
namespace {

AttentionProblem decode_problem() {
  return make_problem(Phase::kDecode, 28, 4, 128, DType::kBF16, true, 1, 4, 131072);
}

AttentionProblem prefill_problem() {
  return make_problem(Phase::kPrefill, 10, 2, 96, DType::kFP16, true, 1, 8192, 8192);
}

void expect_golden(const std::string& name, const std::string& text) {
  std::string path = std::string(GQAFORGE_SOURCE_DIR) + "/tests/codegen/golden/" + name;
  auto golden = read_file(path);
  ASSERT_TRUE(golden.ok()) << golden.status().message() << "\n--- emitted ---\n" << text;
  EXPECT_EQ(*golden, text) << "emitted code changed: bump kCodegenVersion and update " << path;
}

TEST(Golden, Reference) { expect_golden("reference.cu", emit_reference(prefill_problem()).code); }

TEST(Golden, Decode) {
  DecodeConfig c;
  c.block_n = 64;
  c.warps = 4;
  c.stages = 3;
  expect_golden("decode.cu", emit_decode(decode_problem(), c).code);
}

TEST(Golden, Prefill) {
  PrefillConfig c;
  expect_golden("prefill.cu", emit_prefill(prefill_problem(), c).code);
}

TEST(Emit, Deterministic) {
  DecodeConfig c;
  EXPECT_EQ(emit_decode(decode_problem(), c).code, emit_decode(decode_problem(), c).code);
  // The split count is a launch parameter: it must not change the source.
  DecodeConfig split = c;
  split.num_splits = 17;
  EXPECT_EQ(emit_decode(decode_problem(), c).code, emit_decode(decode_problem(), split).code);
}

TEST(Problem, ValidationNamesTheValue) {
  AttentionProblem p = decode_problem();
  EXPECT_TRUE(p.validate().ok());
  p.n_kv_heads = 5;
  EXPECT_NE(p.validate().message().find("28:5"), std::string::npos);
  p = decode_problem();
  p.head_dim = 80;
  EXPECT_NE(p.validate().message().find("80"), std::string::npos);
  p = decode_problem();
  p.kv_len = 0;
  EXPECT_NE(p.validate().message().find("kv_len 0"), std::string::npos);
  p = decode_problem();
  p.q_len = 17;
  EXPECT_FALSE(p.validate().ok());
  int q = 0, kv = 0;
  EXPECT_TRUE(parse_heads("40:8", &q, &kv).ok());
  EXPECT_EQ(q, 40);
  EXPECT_EQ(kv, 8);
  EXPECT_FALSE(parse_heads("8:0", &q, &kv).ok());
  EXPECT_FALSE(parse_heads("a:b", &q, &kv).ok());
}

TEST(Problem, VisiblePairsBottomRightCausal) {
  AttentionProblem p = prefill_problem();
  p.q_len = 4;
  p.kv_len = 6;  // rows see 3, 4, 5, 6 keys
  EXPECT_DOUBLE_EQ(p.visible_pairs(), 18);
  p.q_len = 6;
  p.kv_len = 4;  // rows see 0, 0, 1, 2, 3, 4 keys
  EXPECT_DOUBLE_EQ(p.visible_pairs(), 10);
  p.causal = false;
  EXPECT_DOUBLE_EQ(p.visible_pairs(), 24);
  EXPECT_DOUBLE_EQ(p.flops(), 4.0 * 10 * 96 * 24);
}

TEST(Arch, Normalisation) {
  EXPECT_EQ(*normalize_arch("SM_90A"), "sm_90a");
  EXPECT_FALSE(normalize_arch("sm_70").ok());
  EXPECT_FALSE(normalize_arch("90").ok());
  EXPECT_EQ(DeviceLimits::for_arch("sm_80")->sm_count, 108);
}

}  // namespace
}  // namespace gqaforge
