// The cost-optimal GQA recipe (Sec. 4.1, App. B.1): for each candidate head configuration H,
// N*(H) from the loss model at the target loss, a shape from the aspect table, its cost
// under the chosen objective; then the ranked list, the argmin, the Pareto front (memory vs
// FLOPs) and the reduction against the Llama-3 GQA configuration at the same loss.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "costmodel/costs.h"
#include "costmodel/head_config.h"
#include "costmodel/loss_model.h"
#include "costmodel/measured_costs.h"
#include "costmodel/objectives.h"
#include "costmodel/presets.h"
#include "costmodel/shape_solver.h"

namespace gqaforge::costmodel {

struct SearchSettings {
  double target_loss = 0;   // L*
  double context = 131072;  // expected context length T (costs are affine in T)
  int64_t head_dim = 64;    // d_h
  int64_t max_heads = 32;   // candidates n_h, n_kv in {1, 2, 4, ..., max_heads}
  Objective objective = Objective::kZ;
  ZSettings z;
  /// Embeddings are counted in the search's costs by default: with them the recipe reproduces
  /// more of the paper's Table 4 (docs/costmodel.md).
  CostSettings cost = {2.0, true};
  ShapeSettings shape;
  int64_t batch = 1;  // for the latency and prompt objectives and measured columns
  /// Baseline to compare against; unset = Llama-3 GQA (THE rule, docs/costmodel.md): n_kv = 8
  /// and n_h = d / d_h rounded to a multiple of 8, with d Llama-3's own hidden size at the
  /// baseline's N* (a fixed point), sized and shaped like the candidates. (32,8) at L* = 2.615.
  std::optional<HeadConfig> baseline;
};

/// One evaluated head configuration.
struct CandidateResult {
  HeadConfig heads;
  PowerLaw law;               // L(N; H)
  RealShape shape;            // solved, real-valued: what is costed
  ModelShape rounded;         // integer model
  double rounded_params = 0;  // exact non-embedding count of `rounded`
  double rounded_loss = 0;    // predicted loss of `rounded`
  InferenceCost cost;         // per token at T (real-valued shape)
  double memory_bytes = 0;    // M_infer(T) * bytes_per_value
  double flops = 0;           // C_infer(T)
  double z = 0;
  std::optional<LatencyBreakdown> latency;       // measured, at (batch, T), rounded model
  std::optional<ThroughputEstimate> throughput;  // measured, at T, rounded model
  std::optional<PromptEstimate> prompt;          // measured, a T-token prompt for `batch` sequences, rounded model
  double objective = 0;                          // the value minimised (negated tokens/s for the throughputs)
  bool pareto = false;                           // on the memory-vs-FLOPs Pareto front of the candidates
};

/// A candidate the search could not evaluate.
struct SkippedCandidate {
  HeadConfig heads;
  bool no_law = false;  // the loss model has no law for it (else: its law cannot reach L*)
  std::string reason;   // the message, as in SearchResult::skipped
};

struct SearchResult {
  SearchSettings settings;
  std::vector<CandidateResult> ranked;               // best first
  std::vector<std::string> skipped;                  // candidates that could not be evaluated, and why
  std::vector<SkippedCandidate> skipped_candidates;  // the same, by head configuration
  std::optional<CandidateResult> baseline;           // Llama-3 GQA (or the requested baseline)
  /// Whether the baseline's heads are among the candidates (n_h, n_kv powers of two up to
  /// max_heads); when not, baseline_note says why ("baseline (48,8) is not among the
  /// candidates: n_h = 48 is not a power of two") and the baseline may beat the winner.
  bool baseline_in_candidates = true;
  std::string baseline_note;
  std::vector<std::string> warnings;  // e.g. measured costs extrapolated under a measured objective
};

/// Evaluates one head configuration at the settings' target loss and context.
Result<CandidateResult> evaluate_candidate(const LossModel& loss, const std::vector<AspectPoint>& table,
                                           const HeadConfig& heads, const SearchSettings& settings,
                                           const MeasuredCosts* measured);

/// Runs the recipe. `measured` may be null for the analytical objectives; the measured
/// objectives need it. Fails when no candidate can reach the target loss (naming the target
/// and the lowest reachable E) or the objective needs measurements that are absent.
Result<SearchResult> run_search(const LossModel& loss, const std::vector<AspectPoint>& table,
                                const SearchSettings& settings, const MeasuredCosts* measured);

/// One line per reason for the skipped candidates: "19 of 21 head configurations have no law in
/// the loss model (it has (8,1) (32,8))", "3 cannot reach L* = 2.3: (1,1) (2,1) (2,2)". Empty
/// when none was skipped.
std::vector<std::string> summarize_skipped(const SearchResult& result, const LossModel& loss);

/// Relative reduction (1 - value / baseline), as a fraction.
double reduction(double value, double baseline);

}  // namespace gqaforge::costmodel
