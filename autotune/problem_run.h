// The tune loop's work on one problem, internal to autotune/ and shared by the files that do
// its parts: problem_run.cpp (the space, the searcher and the compile/measure pipeline),
// stored_rows.cpp (the rows the sink already holds standing in for tries, and claims) and
// winners.cpp (the re-measure of the winners and the best row). tuner.cpp runs one per problem.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "autotune/backend.h"
#include "autotune/family_space.h"
#include "autotune/searcher.h"
#include "autotune/shard.h"
#include "autotune/stop.h"
#include "autotune/tuner.h"
#include "core/interrupt.h"
#include "core/progress.h"

namespace gqaforge::autotune::detail {

constexpr double kInf = std::numeric_limits<double>::infinity();

using Clock = std::chrono::steady_clock;

/// One proposal on its way through compile and measurement.
struct Pending {
  std::optional<Point> point;  // none for the heuristic default when it is outside the space
  Candidate candidate;
  std::string text;  // the candidate's canonical config: rows, bookkeeping, messages
  bool is_default = false;
  std::optional<MeasurementRecord> stored;  // reused instead of compiled and measured
};

/// The gate/timing seed of one measurement: fixed by the sweep's seed and the kernel, so a
/// resumed sweep measures a variant with the inputs the uninterrupted one would have used.
inline uint64_t measure_seed(uint64_t seed, const std::string& purpose, const std::string& kernel_key) {
  return shard_hash(fmt::format("{} {} {}", seed, purpose, kernel_key)) >> 1;
}

/// Everything the loop keeps about one problem while it runs.
class ProblemRun {
 public:
  ProblemRun(Backend& backend, MeasurementSink& sink, const TuneOptions& options, const BackendInfo& info,
             int64_t run_id, Progress& progress, Clock::time_point sweep_start, TuneReport& report)
      : backend_(backend),
        sink_(sink),
        options_(options),
        info_(info),
        run_id_(run_id),
        progress_(progress),
        sweep_start_(sweep_start),
        report_(report) {}

  ProblemOutcome run(const codegen::AttentionProblem& problem, bool* time_budget_hit);

 private:
  // problem_run.cpp: proposals, compiles and measurements.
  std::vector<Pending> pull(size_t max_items);
  void process(const Pending& p, const CompileResult& compiled);
  void finish_try(const Pending& p, MeasurementRecord& row, double cost);
  void account(const Pending& p, const MeasurementRecord& row, double cost);
  MeasurementRecord base_row(const Pending& p) const;
  // stored_rows.cpp: what the sink already holds.
  void reuse_try(const Pending& p);
  /// Claims the try's variant; false when its result came from another tuner (reused) or the
  /// sweep is stopping.
  bool claimed(const Pending& p);
  /// Re-reads what the sink holds for the problem (earlier runs, concurrent tuners).
  void refresh_stored();
  /// A stored row that stands for a try instead of measuring it.
  const MeasurementRecord* reusable(const std::string& kernel_key) const;
  // winners.cpp.
  void remeasure_winners();
  /// True once the sink failed or the process is being interrupted: stop now.
  bool aborted() const { return !sink_.sink_status().ok() || interrupted(); }
  /// True when a stop condition holds, counting `pending` pulled but unfinished tries.
  bool stopped_after(size_t pending) const {
    if (aborted()) return true;
    if (stop_.empty()) return false;
    SearchProgress p = tracker_.progress();
    p.evaluations += static_cast<int64_t>(pending);
    return stop_.done(p);
  }

  Backend& backend_;
  MeasurementSink& sink_;
  const TuneOptions& options_;
  const BackendInfo& info_;
  int64_t run_id_;
  Progress& progress_;
  Clock::time_point sweep_start_;
  TuneReport& report_;  // time accounting

  /// backend_.measure, timed into the report.
  MeasureResult timed_measure(const Candidate& c, const MeasureOptions& mo) {
    const Clock::time_point t0 = Clock::now();
    MeasureResult m = backend_.measure(c, mo);
    report_.measure_s += std::chrono::duration<double>(Clock::now() - t0).count();
    return m;
  }

  FamilySpace space_;
  ProblemRecord record_;
  ProblemOutcome out_;
  std::unique_ptr<Searcher> searcher_;
  SearchTracker tracker_;
  AnyStop stop_;
  std::map<std::string, MeasurementRecord> stored_;     // by kernel key: what the sink holds
  std::map<std::string, double> cost_by_config_;        // this run
  std::map<std::string, MeasurementRecord> ok_rows_;    // this run (measured or reused), by kernel key
  std::set<std::string> in_flight_;                     // configs pulled, not finished
  std::map<std::string, std::vector<Point>> deferred_;  // proposals waiting for an in-flight twin
  bool config_sharding_ = false;
  bool default_pending_ = true;
};

}  // namespace gqaforge::autotune::detail
