// The tune loop: one ProblemRun (problem_run.h) per problem, the run recorded around them.
#include "autotune/tuner.h"

#include <algorithm>
#include <chrono>
#include <numeric>

#include "autotune/family_space.h"
#include "autotune/problem_run.h"
#include "autotune/searcher.h"
#include "core/interrupt.h"
#include "core/progress.h"
#include "core/time.h"

namespace gqaforge::autotune {

using detail::Clock;
using detail::ProblemRun;

Tuner::Tuner(Backend& backend, MeasurementSink& sink, TuneOptions options)
    : backend_(backend), sink_(sink), options_(std::move(options)) {}

Result<TuneReport> Tuner::run(const std::vector<codegen::AttentionProblem>& problems) {
  bool known = false;
  for (const char* s : kStrategies) known = known || options_.strategy == s;
  if (!known)
    return invalid_argument("unknown strategy '{}' (expected exhaustive, random or guided)", options_.strategy);
  GQF_ASSIGN_OR_RETURN(BackendInfo info, backend_.info());
  TuneReport report;
  report.env_key = info.environment.key();
  TuneRunRecord run;
  run.env_key = report.env_key;
  run.command_line = options_.command_line;
  run.strategy = options_.strategy;
  run.started_at = utc_timestamp();
  report.run_id = sink_.begin_run(info.environment, run);
  GQF_RETURN_IF_ERROR(sink_.sink_status());

  // Planned tries for the progress bar (guided: an estimate, corrected after every problem).
  std::vector<int64_t> planned;
  for (const codegen::AttentionProblem& p : problems) {
    auto fs = make_family_space(p, info.limits, backend_.target());
    if (!fs.ok()) {
      planned.push_back(0);
      continue;
    }
    const int64_t valid = static_cast<int64_t>(fs->space.valid_points().size());
    int64_t n = options_.strategy == "guided" ? std::min<int64_t>(valid, 6 + valid * 3 / 100 + 60) : valid;
    if (options_.budget > 0) n = std::min(n, options_.budget);
    planned.push_back(n + 1);
  }
  int64_t still_planned = std::accumulate(planned.begin(), planned.end(), int64_t{0});
  Progress progress("tuning", still_planned, options_.show_progress);
  const Clock::time_point start = Clock::now();
  for (size_t i = 0; i < problems.size(); ++i) {
    if (report.time_budget_hit || interrupted()) break;
    ProblemRun pr(backend_, sink_, options_, info, report.run_id, progress, start, report);
    report.problems.push_back(pr.run(problems[i], &report.time_budget_hit));
    still_planned -= planned[i];
    progress.set_total(progress.done() + still_planned);
    if (Status s = sink_.sink_status(); !s.ok()) {
      progress.finish();
      return Status(s.code(), fmt::format("stopped the sweep: {} (the rows stored before it are kept; run the "
                                          "same command again to resume)",
                                          s.message()));
    }
  }
  progress.finish();
  report.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  report.interrupted = interrupted();
  // An interrupted run stays unfinished (finished_at empty), as after a kill.
  if (!report.interrupted) sink_.end_run(report.run_id);
  return report;
}

}  // namespace gqaforge::autotune