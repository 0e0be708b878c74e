// The tune loop: for each problem, build the family's search space, let a searcher propose
// configs (the heuristic default first, always), compile the next batch while the current
// one is measured, classify every try (rejected, compile_failed, wrong_result, launch_failed,
// timeout, ok), record every try through the MeasurementSink, and finally re-measure the
// winners and record the best as is_best.
//
// Resuming is replaying: a proposal whose kernel the sink already holds (from an interrupted
// run, read when the problem starts, or from another tuner writing the same database, found
// when the variant is claimed) is not measured again, but its stored result travels through the loop exactly where a
// measurement would have, so the searcher, the stop conditions and the winners see what an uninterrupted run sees. The
// winner is chosen among all ok rows stored for the problem; a problem that measured nothing new and already has a best
// is left as it is. Gate seeds derive from the kernel, not from the order of tries. A sink error stops the sweep at
// once; SIGINT/SIGTERM (core/interrupt.h) stop it between tries, leaving the run unfinished for a later resume.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "autotune/backend.h"
#include "autotune/shard.h"

namespace gqaforge::autotune {

struct TuneOptions {
  std::string strategy = "guided";  // exhaustive | random | guided
  int64_t budget = 0;               // evaluations per problem (0 = unbounded; random: sample size)
  double time_budget_s = 0;         // wall time of the whole sweep (0 = unbounded)
  int64_t patience = 0;             // stop a problem after this many tries without improvement (0 = off)
  uint64_t seed = 1;                // random sampling and correctness-gate inputs
  int batch_size = 8;               // candidates compiled together while the previous batch is measured
  int remeasure_top = 3;            // winners re-measured (with the default) before the best is marked
  int max_registers = 255;          // per thread; more is rejected after compiling
  Shard shard;                      // this process's slice of the sweep
  // Tries are timed briefly (enough to rank them); the winners again with the full protocol
  // before one is marked best. The seed is set per measurement.
  MeasureOptions measure{.seed = 1, .repetitions = 7, .min_rep_ms = 1.0};
  MeasureOptions winner_measure;  // 0 = the timing protocol's defaults
  // Resuming measures launch_failed and timeout rows again instead of reusing them: those can
  // come from outside the kernel (a worker killed by the OOM killer, a GPU shared with another
  // job). Compile failures, rejections and wrong results are properties of the kernel and are
  // always reused.
  bool retry_failed = false;
  bool show_progress = true;
  std::string command_line;  // recorded with the run
};

/// What happened for one problem.
struct ProblemOutcome {
  codegen::AttentionProblem problem;
  std::string family;
  int64_t space_points = 0;                              // Cartesian size of the family's space
  int64_t valid_points = 0;                              // after the named constraints (and the shard)
  std::map<std::string, int64_t> constraint_rejections;  // constraint name -> points it removed
  int64_t tried = 0;                                     // tries measured and recorded this run
  int64_t skipped = 0;                                   // tries whose stored result was reused (resume)
  int64_t waited = 0;                                    // tries another tuner was measuring: waited for, then reused
  std::map<std::string, int64_t> by_status;              // status name -> tries of the search, reused included
  std::optional<MeasurementRecord> best;                 // the winner: re-measured now, or stored
  std::optional<MeasurementRecord> default_row;          // the heuristic default's (latest) row
  std::string stop_reason;                               // "" when the searcher finished
  bool skipped_by_shard = false;                         // the whole problem belongs to another shard
};

struct TuneReport {
  int64_t run_id = 0;
  std::string env_key;
  std::vector<ProblemOutcome> problems;
  bool time_budget_hit = false;
  bool interrupted = false;  // SIGINT/SIGTERM stopped the sweep; the run stays unfinished
  // Where the sweep's time went (compiles overlap measurement, so the parts exceed the wall).
  double wall_s = 0;
  double measure_s = 0;      // inside the backend's measure (gate + timing), winners included
  double compile_cpu_s = 0;  // summed NVRTC time of the kernels compiled (cache misses)
  int64_t kernels_compiled = 0;
  int64_t compile_cache_hits = 0;
};

class Tuner {
 public:
  /// `backend` and `sink` must outlive the Tuner.
  Tuner(Backend& backend, MeasurementSink& sink, TuneOptions options);

  /// Tunes every problem; a failure of one variant never stops the sweep. Fails for bad
  /// options, when the backend cannot start, and at the first error of the sink (the rows
  /// stored until then stay; the same command resumes after the cause is fixed).
  Result<TuneReport> run(const std::vector<codegen::AttentionProblem>& problems);

 private:
  Backend& backend_;
  MeasurementSink& sink_;
  TuneOptions options_;
};

}  // namespace gqaforge::autotune
