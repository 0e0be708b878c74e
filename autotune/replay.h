// Searcher comparison on measured landscapes: the rows of an exhaustive tune of one problem
// give the cost of every valid config; a strategy is then replayed against that table exactly
// as the tune loop drives it (the heuristic default measured first, a config measured once),
// counting evaluations. This answers "how close does guided/random get to the exhaustive
// best, and with how many measurements" without spending GPU time per strategy and seed.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "autotune/family_space.h"
#include "records/records.h"

namespace gqaforge::autotune {

/// The measured cost of every valid point of one problem's space.
struct Landscape {
  FamilySpace space;
  std::vector<Point> valid;      // valid points that have a measurement
  std::map<Point, double> cost;  // median microseconds; +inf for a failed variant
  int64_t unmeasured = 0;        // valid points without a row (a partial exhaustive run)
  double best_us = 0;            // exhaustive optimum
  std::string best_config;
  double default_us = 0;  // the heuristic default's cost (+inf when it failed or is missing)
};

/// Builds the landscape of `problem` from its measurement rows (any status; rows of other
/// problems are ignored). Fails when no row is ok.
Result<Landscape> landscape_from_rows(const codegen::AttentionProblem& problem,
                                      const std::vector<MeasurementRecord>& rows, const codegen::DeviceLimits& limits);

/// One replayed search.
struct ReplayRun {
  int64_t evaluations = 0;       // distinct configs measured (the default included)
  double best_us = 0;            // best cost found
  int64_t evals_to_target = -1;  // evaluations until within the target of the optimum; -1 = never
};

/// Replays `strategy` ("exhaustive", "random" or "guided") on the landscape: evaluation 1 is
/// the heuristic default (unless `with_default` is false), then the searcher's proposals until
/// it finishes or `budget` evaluations (0 = none) are spent. `target` is the allowed ratio to
/// the optimum (1.03 = 3 %).
Result<ReplayRun> replay(const Landscape& landscape, const std::string& strategy, int64_t budget, uint64_t seed,
                         double target, bool with_default = true);

/// The database problem back as an AttentionProblem (decode or prefill rows).
Result<codegen::AttentionProblem> problem_from_record(const ProblemRecord& record);

}  // namespace gqaforge::autotune
