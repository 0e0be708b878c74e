// Exact parameter counts of real models (checked against their published totals) and shape
// validation.
#include "costmodel/model_shape.h"

#include <gtest/gtest.h>

#include "costmodel/presets.h"

namespace gqaforge::costmodel {
namespace {

ModelShape preset(const char* name) {
  auto p = Presets::bundled();
  EXPECT_TRUE(p.ok()) << p.status().to_string();
  auto s = p->find(name);
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  return *s;
}

TEST(ModelShape, Llama32_1bHandCount) {
  ModelShape s = preset("llama-3.2-1b");
  // Per layer: q 2048*2048 + k,v 2*2048*512 + o 2048*2048 + MLP 3*2048*8192 + 2 norms of 2048.
  EXPECT_EQ(s.params_per_layer(), 4194304 + 2097152 + 4194304 + 50331648 + 4096);
  EXPECT_EQ(s.non_embedding_params(), 16 * 60821504 + 2048);
  EXPECT_EQ(s.embedding_params(), 128256LL * 2048);
  EXPECT_EQ(s.total_params(), 1235814400LL);  // the published 1.24B
}

TEST(ModelShape, RealModelsMatchPublishedTotals) {
  EXPECT_EQ(preset("llama-3.2-3b").total_params(), 3212749824LL);
  EXPECT_EQ(preset("llama-3.1-8b").total_params(), 8030261248LL);
  EXPECT_EQ(preset("llama-3.1-70b").total_params(), 70553706496LL);
  EXPECT_EQ(preset("qwen2.5-7b").total_params(), 7615616512LL);  // with QKV biases
  EXPECT_EQ(preset("mistral-7b").total_params(), 7241732096LL);
}

TEST(ModelShape, PaperShapesMatchTheirLabels) {
  // The paper's labels are 12 L d^2 (MHA, SwiGLU); the exact count adds norms and rounding of d_ff.
  ModelShape s = preset("paper-1.8b");
  EXPECT_EQ(s.n_heads, 32);
  EXPECT_EQ(s.ffn, 5472);  // 8 * 2048 / 3 = 5461.3 -> the closest multiple of 32
  EXPECT_NEAR(static_cast<double>(s.non_embedding_params()) / (12.0 * 36 * 2048 * 2048), 1.0, 0.01);
}

TEST(ModelShape, TwoMatrixFfnAndUntiedEmbeddings) {
  ModelShape s;
  s.layers = 2;
  s.hidden = 128;
  s.n_heads = 4;
  s.n_kv_heads = 2;
  s.head_dim = 32;
  s.ffn = 512;
  s.vocab = 1000;
  s.ffn_matrices = 2;
  s.tied_embeddings = false;
  s.count_norms = false;
  ASSERT_TRUE(s.validate().ok());
  // q 128*128, kv 2*128*64, o 128*128, mlp 2*128*512.
  EXPECT_EQ(s.non_embedding_params(), 2 * (16384 + 16384 + 16384 + 131072));
  EXPECT_EQ(s.embedding_params(), 2 * 1000 * 128);
}

TEST(ModelShape, ValidationNamesTheBadField) {
  ModelShape s = preset("llama-3.2-1b");
  s.n_kv_heads = 3;
  EXPECT_EQ(s.validate().message(), "kv heads 3 must divide query heads 32");
  s = preset("llama-3.2-1b");
  s.layers = 0;
  EXPECT_EQ(s.validate().message(), "layers must be positive, got 0");
  s = preset("llama-3.2-1b");
  s.ffn_matrices = 4;
  EXPECT_EQ(s.validate().message(), "ffn matrix count must be 2 or 3, got 4");
}

TEST(ModelShape, ParsesHeadPairs) {
  int64_t h = 0, kv = 0;
  ASSERT_TRUE(parse_head_pair("32:8", h, kv).ok());
  EXPECT_EQ(h, 32);
  EXPECT_EQ(kv, 8);
  EXPECT_NE(parse_head_pair("32", h, kv).message().find("'32'"), std::string::npos);
  EXPECT_NE(parse_head_pair("32:x", h, kv).message().find("'32:x'"), std::string::npos);
  EXPECT_NE(parse_head_pair("8:3", h, kv).message().find("kv heads 3 must divide query heads 8"), std::string::npos);
  EXPECT_FALSE(parse_head_pair("0:0", h, kv).ok());
}

TEST(ModelShape, PaperFfnSize) {
  // App. D: the multiple of 32 closest to 8d/3.
  EXPECT_EQ(paper_ffn_size(2048), 5472);  // 5461.3: 5472 is 10.7 away, 5440 21.3
  EXPECT_EQ(paper_ffn_size(768), 2048);   // exactly 8d/3
  EXPECT_EQ(paper_ffn_size(1536), 4096);
  EXPECT_EQ(paper_ffn_size(1024), 2720);   // 2730.7: down (rounding up gave 2752)
  EXPECT_EQ(paper_ffn_size(4096), 10912);  // 10922.7: down (rounding up gave 10944)
  EXPECT_EQ(paper_ffn_size(6), 32);        // 16 is exactly half a multiple: rounds up
  EXPECT_EQ(paper_ffn_size(3), 32);        // 8 is closer to 0, but d_ff is at least one multiple
}

// Presets that state d_ff keep the real model's; the paper's shapes take App. D's rounding.
TEST(ModelShape, PresetFfnSizes) {
  EXPECT_EQ(preset("llama-3.2-1b").ffn, 8192);
  EXPECT_EQ(preset("llama-3.1-8b").ffn, 14336);
  EXPECT_EQ(preset("paper-200m").ffn, 2720);
  EXPECT_EQ(preset("paper-4b").ffn, 6816);  // 6826.7
}

}  // namespace
}  // namespace gqaforge::costmodel
