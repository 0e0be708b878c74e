// The headline accountings (Sec. 5.2) by hand, and the cost-only reductions at the paper's sizes,
// which do not depend on the loss model: pinned to 0.1 percentage point.
#include "costmodel/headline.h"

#include <cmath>

#include <gtest/gtest.h>

#include "costmodel/presets.h"

namespace gqaforge::costmodel {
namespace {

TEST(Headline, AccountingsByHand) {
  // L=2, d=64, H=(4,2), d_h=16, N=1000, V=100 (embeddings 6400), T=10.
  CostShape s;
  s.layers = 2;
  s.hidden = 64;
  s.n_heads = 4;
  s.n_kv_heads = 2;
  s.head_dim = 16;
  s.non_embedding_params = 1000;
  s.embedding_params = 6400;
  s.vocab = 100;
  const double kv = 2.0 * 10 * 2 * 16 * 2;  // 1280
  EXPECT_DOUBLE_EQ(accounted_cost(Accounting::kMemoryWeightsKv, s, 10), 1000 + kv);
  EXPECT_DOUBLE_EQ(accounted_cost(Accounting::kMemoryAllWeightsKv, s, 10), 1000 + 6400 + kv);
  EXPECT_DOUBLE_EQ(accounted_cost(Accounting::kMemoryKvOnly, s, 10), kv);
  EXPECT_DOUBLE_EQ(accounted_cost(Accounting::kFlopsPerToken, s, 10), 2000 + 4.0 * 10 * 2 * 16 * 4);
  EXPECT_DOUBLE_EQ(accounted_cost(Accounting::kFlopsPerTokenLmHead, s, 10), 2000 + 2.0 * 64 * 100 + 5120);
  // A sequence: T·C(T/2) = 10 * (2000 + 512 * 5), the integral of C(t) = 2000 + 512 t over [0, T];
  // the sum over the positions t = 0..T-1 (20000 + 512 * 45) differs by T/2 tokens' attention,
  // a relative 1/T of the attention term: 1e-5 at 128K.
  EXPECT_DOUBLE_EQ(accounted_cost(Accounting::kFlopsPerSequence, s, 10), 20000 + 512.0 * 50);
  // Per token matches eq. 3 of inference_cost.
  EXPECT_DOUBLE_EQ(accounted_cost(Accounting::kFlopsPerToken, s, 10), inference_cost(s, 10, CostSettings{}).flops());
  EXPECT_EQ(all_accountings().size(), kAccountingCount);
  EXPECT_TRUE(is_memory(Accounting::kMemoryKvOnly));
  EXPECT_FALSE(is_memory(Accounting::kFlopsPerSequence));
  EXPECT_DOUBLE_EQ(paper_reduction(Accounting::kMemoryAllWeightsKv), 0.508);
  EXPECT_DOUBLE_EQ(paper_reduction(Accounting::kFlopsPerSequence), 0.578);
}

struct PaperSizes {
  HeadlineReport report;
  const HeadlineComparison& aspect() const { return report.comparisons[0]; }
  const HeadlineComparison& llama() const { return report.comparisons[1]; }
};

PaperSizes paper_sizes() {
  auto presets = Presets::bundled();
  EXPECT_TRUE(presets.ok());
  auto llama = presets->find("llama-3.2-1b");
  EXPECT_TRUE(llama.ok());
  auto r = headline_report(nullptr, presets->aspect_table(), *llama, ShapeSettings{});
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return {*r};
}

double reduction_of(const HeadlineComparison& c, Accounting a) {
  return c.reductions[static_cast<size_t>(a)];
}

// (8,1) at 1.8B against (32,8) at Llama-3.2-1B's 973,146,112 non-embedding parameters shaped by
// the aspect table (L = 34.9, d = 1574), at 128K, V = 50304 on both sides.
TEST(Headline, PaperSizesAgainstTheAspectTableBaseline) {
  PaperSizes p = paper_sizes();
  ASSERT_EQ(p.report.comparisons.size(), 2u);
  const HeadlineComparison& a = p.aspect();
  EXPECT_EQ(a.key, "paper-sizes-aspect");
  EXPECT_EQ(a.winner.heads, (HeadConfig{8, 1}));
  EXPECT_EQ(a.baseline.heads, (HeadConfig{32, 8}));
  EXPECT_NEAR(a.baseline.shape.layers, 34.90, 0.01);
  EXPECT_NEAR(a.winner.shape.layers, 40.37, 0.01);
  EXPECT_NEAR(reduction_of(a, Accounting::kMemoryWeightsKv), 0.5621, 0.001);
  EXPECT_NEAR(reduction_of(a, Accounting::kMemoryAllWeightsKv), 0.5481, 0.001);
  EXPECT_NEAR(reduction_of(a, Accounting::kMemoryKvOnly), 0.8554, 0.001);
  EXPECT_NEAR(reduction_of(a, Accounting::kFlopsPerToken), 0.6338, 0.001);
  EXPECT_NEAR(reduction_of(a, Accounting::kFlopsPerTokenLmHead), 0.6294, 0.001);
  EXPECT_NEAR(reduction_of(a, Accounting::kFlopsPerSequence), 0.5640, 0.001);
}

// The same (8,1) against the real Llama-3.2-1B shape, 16 x 2048: half the layers, so half the
// KV cache of the aspect-table baseline, and far smaller reductions.
TEST(Headline, PaperSizesAgainstTheRealLlamaShape) {
  PaperSizes p = paper_sizes();
  const HeadlineComparison& r = p.llama();
  EXPECT_EQ(r.key, "paper-sizes-llama");
  EXPECT_DOUBLE_EQ(r.baseline.shape.layers, 16);
  EXPECT_DOUBLE_EQ(r.baseline.shape.hidden, 2048);
  EXPECT_DOUBLE_EQ(r.baseline.shape.vocab, 50304);  // the search's tokenizer, as the winner's
  EXPECT_NEAR(reduction_of(r, Accounting::kMemoryWeightsKv), 0.2062, 0.001);
  EXPECT_NEAR(reduction_of(r, Accounting::kMemoryAllWeightsKv), 0.1958, 0.001);
  EXPECT_NEAR(reduction_of(r, Accounting::kMemoryKvOnly), 0.6846, 0.001);
  EXPECT_NEAR(reduction_of(r, Accounting::kFlopsPerToken), 0.2452, 0.001);
  EXPECT_NEAR(reduction_of(r, Accounting::kFlopsPerTokenLmHead), 0.2413, 0.001);
  EXPECT_NEAR(reduction_of(r, Accounting::kFlopsPerSequence), 0.1441, 0.001);
}

// The (8,1) size at which an accounting gives the paper's number: weights with embeddings + KV
// give 50.8% at 2.0B, per-sequence FLOPs 57.8% near 1.7B; the KV cache alone never gets that low.
TEST(Headline, SizesThatReproduceThePapersNumbers) {
  PaperSizes p = paper_sizes();
  const auto& m = p.report.matching_params;
  ASSERT_TRUE(m[static_cast<size_t>(Accounting::kMemoryAllWeightsKv)].has_value());
  EXPECT_NEAR(*m[static_cast<size_t>(Accounting::kMemoryAllWeightsKv)], 2.0e9, 0.02e9);
  ASSERT_TRUE(m[static_cast<size_t>(Accounting::kFlopsPerSequence)].has_value());
  EXPECT_NEAR(*m[static_cast<size_t>(Accounting::kFlopsPerSequence)], 1.7e9, 0.1e9);
  EXPECT_FALSE(m[static_cast<size_t>(Accounting::kMemoryKvOnly)].has_value());
  for (const std::string& reason : p.report.reasons) {
    EXPECT_FALSE(reason.empty());
    EXPECT_EQ(reason.find('\n'), std::string::npos) << "one line each: " << reason;
  }
  EXPECT_NE(p.report.reasons[0].find("L = 34.9"), std::string::npos) << p.report.reasons[0];
}

// With a search, its winner against its baseline comes first; the numbers depend on the loss
// model, so only the structure is checked here (search_test.cpp bounds them loosely).
TEST(Headline, SearchComparisonComesFirst) {
  auto presets = Presets::bundled();
  auto loss = LossModel::bundled_default();
  ASSERT_TRUE(presets.ok() && loss.ok());
  SearchSettings s;
  s.target_loss = 2.615;
  s.context = 131072;
  auto search = run_search(*loss, presets->aspect_table(), s, nullptr);
  ASSERT_TRUE(search.ok());
  auto r = headline_report(&*search, presets->aspect_table(), *presets->find("llama-3.2-1b"), s.shape);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->comparisons.size(), 3u);
  EXPECT_EQ(r->comparisons[0].key, "search");
  EXPECT_EQ(r->comparisons[0].winner.heads, search->ranked.front().heads);
  EXPECT_EQ(r->comparisons[0].baseline.heads, search->baseline->heads);
  EXPECT_TRUE(r->notes.empty());
  s.context = 65536;
  auto other = run_search(*loss, presets->aspect_table(), s, nullptr);
  ASSERT_TRUE(other.ok());
  auto r2 = headline_report(&*other, presets->aspect_table(), *presets->find("llama-3.2-1b"), s.shape);
  ASSERT_TRUE(r2.ok());
  ASSERT_EQ(r2->notes.size(), 1u);
  EXPECT_NE(r2->notes[0].find("T = 64K"), std::string::npos) << r2->notes[0];
}

}  // namespace
}  // namespace gqaforge::costmodel
