// The recipe search: candidates, ranking, Pareto front, refusals, and the bundled default's
// reproduction of the paper's Table 4 and Sec. 5.2 headline.
#include "costmodel/search.h"

#include <cmath>
#include <cstdio>

#include <gtest/gtest.h>

#include "costmodel/table4.h"

namespace gqaforge::costmodel {
namespace {

struct Fixture {
  LossModel loss = *LossModel::bundled_default();
  std::vector<AspectPoint> table = Presets::bundled()->aspect_table();
};

// The defaults `gqaforge search` uses.
SearchSettings defaults(double target, double context) {
  SearchSettings s;
  s.target_loss = target;
  s.context = context;
  return s;
}

TEST(Search, CandidateSetHas21PairsUpTo32) {
  auto c = candidate_heads(32);
  EXPECT_EQ(c.size(), 21u);
  for (const HeadConfig& h : c) EXPECT_LE(h.n_kv_heads, h.n_heads);
  EXPECT_EQ(candidate_heads(20).size(), 21u);  // rounded up to 32
  EXPECT_EQ(candidate_heads(8).size(), 10u);
}

TEST(Search, RanksAllCandidatesAndMarksTheParetoFront) {
  Fixture f;
  auto r = run_search(f.loss, f.table, defaults(2.615, 131072), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->ranked.size(), 21u);
  for (size_t i = 1; i < r->ranked.size(); ++i) EXPECT_LE(r->ranked[i - 1].objective, r->ranked[i].objective);
  int front = 0;
  for (const CandidateResult& c : r->ranked) {
    // Each candidate reaches the target loss with its real-valued size.
    EXPECT_NEAR(c.law.predict(c.shape.params), 2.615, 1e-9);
    EXPECT_NEAR(formula_params(c.shape.layers, c.shape.hidden, static_cast<double>(c.heads.n_heads),
                               static_cast<double>(c.heads.n_kv_heads), 64),
                c.shape.params, 1e-6 * c.shape.params);
    bool dominated = false;
    for (const CandidateResult& o : r->ranked) {
      dominated |= o.memory_bytes <= c.memory_bytes && o.flops <= c.flops &&
                   (o.memory_bytes < c.memory_bytes || o.flops < c.flops);
    }
    EXPECT_EQ(c.pareto, !dominated) << c.heads.to_string();
    front += c.pareto ? 1 : 0;
  }
  EXPECT_GE(front, 1);
  // The best Z is on the front: Z is increasing in both memory and FLOPs.
  EXPECT_TRUE(r->ranked.front().pareto);
  ASSERT_TRUE(r->baseline.has_value());
  EXPECT_EQ(r->baseline->heads.n_kv_heads, 8);
  EXPECT_EQ(r->baseline->heads.n_heads % 8, 0);
}

TEST(Search, MemoryAndFlopsObjectivesPickTheirMinimum) {
  Fixture f;
  for (Objective o : {Objective::kMemory, Objective::kFlops}) {
    SearchSettings s = defaults(2.7, 65536);
    s.objective = o;
    auto r = run_search(f.loss, f.table, s, nullptr);
    ASSERT_TRUE(r.ok());
    for (const CandidateResult& c : r->ranked) {
      if (o == Objective::kMemory) {
        EXPECT_LE(r->ranked.front().memory_bytes, c.memory_bytes);
      } else {
        EXPECT_LE(r->ranked.front().flops, c.flops);
      }
    }
  }
}

TEST(Search, TargetBelowTheIrreducibleLossIsRefused) {
  Fixture f;
  double e = f.loss.irreducible_loss();
  auto r = run_search(f.loss, f.table, defaults(e - 0.1, 131072), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(fmt::format("target loss {}", e - 0.1)), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find(fmt::format("E = {}", e)), std::string::npos) << r.status().message();
}

TEST(Search, MeasuredObjectivesNeedMeasurements) {
  Fixture f;
  SearchSettings s = defaults(2.6, 32768);
  s.objective = Objective::kLatency;
  auto r = run_search(f.loss, f.table, s, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("objective 'latency' needs measured costs"), std::string::npos);
}

TEST(Search, TableModelsSkipMissingConfigurations) {
  LossModel t = LossModel::from_table(
      {{{8, 1}, PowerLaw{2e8, 0.4, 2.0, {}, {}, {}}}, {{32, 8}, PowerLaw{1e8, 0.45, 2.0, {}, {}, {}}}}, true);
  auto r = run_search(t, Presets::bundled()->aspect_table(), defaults(2.6, 131072), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->ranked.size(), 2u);
  EXPECT_EQ(r->skipped.size(), 19u);
  ASSERT_TRUE(r->baseline.has_value());
  EXPECT_EQ(r->baseline->heads, (HeadConfig{32, 8}));
}

// THE baseline rule: n_kv = 8, n_h = d / d_h with Llama-3's own hidden size at the baseline's N*.
// A test-local loss model puts N* of every H at a (the target is E + 1), so the rule is exercised
// without the bundled loss model: Llama-3.2-1B's N gives d = 2048 and (32,8), Llama-3.1-8B's
// d = 4096 and (64,8); the aspect table's width (1574 at 973M) would have given (24,8).
TEST(Search, LlamaBaselineTakesLlamasWidth) {
  auto flat = [](double a) {
    std::vector<std::pair<HeadConfig, PowerLaw>> laws;
    for (int64_t h : {8, 16, 24, 32, 40, 48, 56, 64, 72}) laws.push_back({{h, 8}, PowerLaw{a, 0.5, 2.0, {}, {}, {}}});
    laws.push_back({{8, 1}, PowerLaw{a, 0.5, 2.0, {}, {}, {}}});
    return LossModel::from_table(laws, true);
  };
  const auto table = Presets::bundled()->aspect_table();
  const double llama_1b = static_cast<double>(Presets::bundled()->find("llama-3.2-1b")->non_embedding_params());
  const double llama_8b = static_cast<double>(Presets::bundled()->find("llama-3.1-8b")->non_embedding_params());
  auto r = run_search(flat(llama_1b), table, defaults(3.0, 131072), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_TRUE(r->baseline.has_value());
  EXPECT_EQ(r->baseline->heads, (HeadConfig{32, 8}));
  EXPECT_NEAR(r->baseline->shape.params, llama_1b, 1);
  EXPECT_NEAR(r->baseline->shape.layers, 34.9, 0.1);  // shaped by the aspect table, like the candidates
  EXPECT_TRUE(r->baseline_in_candidates);
  EXPECT_TRUE(r->baseline_note.empty());
  auto big = run_search(flat(llama_8b), table, defaults(3.0, 131072), nullptr);
  ASSERT_TRUE(big.ok()) << big.status().to_string();
  EXPECT_EQ(big->baseline->heads, (HeadConfig{64, 8}));
  EXPECT_FALSE(big->baseline_in_candidates);  // 64 > max heads 32
  EXPECT_EQ(big->baseline_note, "baseline (64,8) is not among the candidates: n_h = 64 exceeds max heads 32");
}

// A baseline outside the candidates is flagged, and when it beats the winner a warning says so.
TEST(Search, BaselineOutsideTheCandidatesIsFlagged) {
  LossModel t = LossModel::from_table(
      {{{8, 1}, PowerLaw{5e9, 0.4, 2.0, {}, {}, {}}}, {{48, 8}, PowerLaw{1e7, 0.4, 2.0, {}, {}, {}}}}, true);
  SearchSettings s = defaults(2.6, 131072);
  s.baseline = HeadConfig{48, 8};
  auto r = run_search(t, Presets::bundled()->aspect_table(), s, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->ranked.front().heads, (HeadConfig{8, 1}));
  EXPECT_FALSE(r->baseline_in_candidates);
  EXPECT_EQ(r->baseline_note, "baseline (48,8) is not among the candidates: n_h = 48 is not a power of two");
  ASSERT_LT(r->baseline->objective, r->ranked.front().objective);
  bool warned = false;
  for (const std::string& w : r->warnings) {
    warned |= w.find("the baseline (48,8) would be better than the best candidate (8,1) under objective z") == 0 &&
              w.find("n_h = 48 is not a power of two") != std::string::npos;
  }
  EXPECT_TRUE(warned);
}

// The number of Table 4 cells the bundled default reproduces under the default settings, in
// sample (Table 4 is one of its calibration targets; docs/loss-model.md lists the mismatches,
// why, and the held-out figure).
constexpr int kTable4Reproduced = 16;

TEST(Search, BundledDefaultReproducesTable4) {
  Fixture f;
  auto check = check_table4(f.loss, f.table, defaults(0, 0));
  ASSERT_TRUE(check.ok()) << check.status().to_string();
  std::string misses;
  for (const Table4Outcome& o : check->cells) {
    if (!o.match) {
      misses += fmt::format("  L*={} T={}: paper {}, model {} (gap {:.2f}%)\n", o.cell.target_loss, o.cell.context,
                            o.cell.expected.to_string(), o.got.to_string(), 100 * o.gap);
    }
  }
  EXPECT_EQ(check->matches, kTable4Reproduced) << misses;
}

TEST(Search, BundledDefaultMatchesTheLlamaReferenceLoss) {
  Fixture f;
  // Llama-3.2-1B's non-embedding parameters with its (32, 8) heads: the paper's 2.615. The fit
  // trades these anchors against the head-count laws and Table 4 (docs/loss-model.md gives
  // the residuals: -0.035, +0.014, +0.037).
  EXPECT_NEAR(*f.loss.predict(973146112.0, {32, 8}), 2.615, 0.04);
  // Llama-3.2-3B and Llama-3.1-8B with d / d_h query heads at d_h = 64.
  EXPECT_NEAR(*f.loss.predict(2818747392.0, {48, 8}), 2.448, 0.04);
  EXPECT_NEAR(*f.loss.predict(6979588096.0, {64, 8}), 2.362, 0.04);
}

// Sec. 5.2: at T = 128K and L* = 2.615, (8,1) grown to ~1.8B needs 50.8% less memory and
// 57.8% fewer FLOPs than Llama-3.2-1B's (32,8) configuration at the same loss.
TEST(Search, HeadlineReductionAt128k) {
  Fixture f;
  SearchSettings s = defaults(2.615, 131072);
  s.baseline = HeadConfig{32, 8};
  auto r = run_search(f.loss, f.table, s, nullptr);
  ASSERT_TRUE(r.ok());
  const CandidateResult* mqa = nullptr;
  for (const CandidateResult& c : r->ranked) {
    if (c.heads == HeadConfig{8, 1}) mqa = &c;
  }
  ASSERT_NE(mqa, nullptr);
  // The default ranks (16,1), (32,1), then (8,1) within 1% of the best Z (docs/loss-model.md).
  EXPECT_LT(mqa->objective / r->ranked.front().objective, 1.01);
  EXPECT_EQ(r->ranked.front().heads.n_kv_heads, 1);
  const CandidateResult& base = *r->baseline;
  double mem = reduction(mqa->memory_bytes, base.memory_bytes);
  double flops = reduction(mqa->flops, base.flops);
  // We get 51.5% and 55.4% with (8,1) at 1.40B against (32,8) at 0.76B.
  EXPECT_NEAR(mem, 0.508, 0.03) << "memory reduction " << mem;
  EXPECT_NEAR(flops, 0.578, 0.03) << "FLOPs reduction " << flops;
  EXPECT_GT(mem, 0.5);
  EXPECT_GT(flops, 0.5);  // "more than 50%" on both, the paper's claim
  EXPECT_NEAR(mqa->shape.params, 1.4e9, 0.1e9);
  std::printf("headline end to end: (8,1) N = %.3g, memory -%.1f%%, FLOPs -%.1f%% vs (32,8) N = %.3g\n",
              mqa->shape.params, 100 * mem, 100 * flops, base.shape.params);
}

// The cost model alone, given the paper's sizes: (8,1) at 1.8B against (32,8) at Llama-3.2-1B's
// 973M non-embedding parameters, both shaped by the aspect table.
TEST(Search, HeadlineCostsAtThePapersSizes) {
  Fixture f;
  SearchSettings s = defaults(2.615, 131072);
  auto cost_at = [&](double n, HeadConfig h) {
    RealShape shape =
        *solve_shape(f.table, n, static_cast<double>(h.n_heads), static_cast<double>(h.n_kv_heads), 64, s.shape);
    return inference_cost(shape.cost_shape(), 131072, s.cost);
  };
  for (bool embedding : {true, false}) {
    s.cost.count_embedding = embedding;
    InferenceCost ours = cost_at(1.8e9, {8, 1});
    InferenceCost llama = cost_at(973146112.0, {32, 8});
    double mem = reduction(ours.memory_values(), llama.memory_values());
    double flops = reduction(ours.flops(), llama.flops());
    // We get 54.8% / 62.9% (embedding counted) and 56.2% / 63.4% (excluded). The paper does not
    // publish the two models' shapes; the aspect-table shapes used here make the baseline
    // deeper than a 16-layer Llama-3.2-1B, and "about 1.8B" is itself rounded (5% in N moves
    // the reductions by ~1.5 points). Bound: 6 points.
    EXPECT_NEAR(mem, 0.508, 0.06) << "embedding " << embedding << ": memory reduction " << mem;
    EXPECT_NEAR(flops, 0.578, 0.06) << "embedding " << embedding << ": FLOPs reduction " << flops;
    std::printf("headline at the paper's sizes (embedding %s): memory -%.1f%%, FLOPs -%.1f%%\n",
                embedding ? "counted" : "excluded", 100 * mem, 100 * flops);
  }
}

}  // namespace
}  // namespace gqaforge::costmodel
