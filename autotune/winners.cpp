// The end of a problem: the winners (and the heuristic default) re-measured with the full
// timing protocol among every ok row stored for the problem, the fastest recorded last as best.
#include <algorithm>

#include "autotune/problem_run.h"
#include "autotune/tune_rows.h"
#include "core/time.h"

namespace gqaforge::autotune::detail {
namespace {

/// Ok rows first, fastest first; ties by kernel key.
bool faster(const MeasurementRecord& a, const MeasurementRecord& b) {
  return a.median_us != b.median_us ? a.median_us < b.median_us : a.kernel_key < b.kernel_key;
}

}  // namespace

void ProblemRun::remeasure_winners() {
  if (aborted()) return;
  // The candidates are every ok row of the problem: this run's and everything stored, so a
  // resumed (or concurrent) sweep never demotes a faster variant measured earlier.
  refresh_stored();
  std::map<std::string, MeasurementRecord> candidates = ok_rows_;
  const MeasurementRecord* stored_best = nullptr;
  for (const auto& [key, row] : stored_) {
    if (row.status != MeasureStatus::kOk) continue;
    candidates.insert_or_assign(key, row);
    if (row.is_best) stored_best = &row;
  }
  // Nothing new was measured: the problem stands as stored. A best is kept; without one (an
  // interruption between the last try and the re-measure) the winners are re-measured now.
  // Config shards never mark a best (no shard sees the whole space), so for them a stored
  // re-measure counts as done.
  if (out_.tried == 0) {
    if (stored_best != nullptr) {
      out_.best = *stored_best;
      return;
    }
    if (config_sharding_) return;
  }
  std::vector<MeasurementRecord> ranked;
  for (const auto& [key, row] : candidates) ranked.push_back(row);
  std::sort(ranked.begin(), ranked.end(), faster);
  const size_t top = static_cast<size_t>(std::max(1, options_.remeasure_top));
  if (ranked.size() > top) ranked.resize(top);
  // The heuristic default is re-measured too, so that the reported speedup over it compares
  // two timings of the same protocol.
  const size_t winners = ranked.size();
  if (out_.default_row && out_.default_row->status == MeasureStatus::kOk) {
    const bool listed = std::any_of(ranked.begin(), ranked.end(), [&](const MeasurementRecord& r) {
      return r.kernel_key == out_.default_row->kernel_key;
    });
    if (!listed) {
      if (auto it = candidates.find(out_.default_row->kernel_key); it != candidates.end()) ranked.push_back(it->second);
    }
  }
  if (ranked.empty()) return;
  std::vector<MeasurementRecord> again;
  for (size_t i = 0; i < ranked.size(); ++i) {
    if (aborted()) return;  // nothing marked: the resumed sweep re-measures
    MeasurementRecord row = ranked[i];
    row.run_id = run_id_;
    Candidate c;
    c.problem = out_.problem;
    c.family = space_.family;
    c.kernel_key = row.kernel_key;
    MeasureOptions mo = options_.winner_measure;
    mo.seed = measure_seed(options_.seed, "winner", row.kernel_key);
    // A stored row's text, over the heuristic default where it lacks a key.
    auto config = space_.family->parse(row.config, space_.default_config);
    MeasureResult m;
    if (config.ok()) {
      c.config = *config;
      m = timed_measure(c, mo);
    } else {
      m.status = MeasureStatus::kRejected;
      m.message = config.status().message();
    }
    if (m.interrupted) return;
    row.status = m.status;
    row.message = m.status != MeasureStatus::kOk ? m.message
                  : i < winners                  ? "re-measured winner"
                                                 : "re-measured heuristic default";
    row.max_error = m.max_error;
    row.error_bound = m.error_bound;
    row.median_us = m.status == MeasureStatus::kOk ? m.median_us : 0;
    row.min_us = m.status == MeasureStatus::kOk ? m.min_us : 0;
    row.stddev_us = m.status == MeasureStatus::kOk ? m.stddev_us : 0;
    row.repetitions = m.status == MeasureStatus::kOk ? m.repetitions : 0;
    row.tbps = row.tflops = 0;
    row.is_best = false;
    if (m.status == MeasureStatus::kOk) fill_throughput(out_.problem, row);
    row.measured_at = utc_timestamp();
    again.push_back(row);
  }
  const MeasurementRecord* best = nullptr;
  for (const MeasurementRecord& row : again) {
    if (row.status == MeasureStatus::kOk && (best == nullptr || faster(row, *best))) best = &row;
  }
  // With config-level shards no process sees the whole space: the best is chosen after merging.
  const bool may_mark = !config_sharding_;
  // The best row is recorded last, so a stored best means every re-measure before it landed.
  for (MeasurementRecord& row : again) {
    if (&row == best) continue;
    sink_.record(row);
    if (aborted()) return;
    if (out_.default_row && out_.default_row->kernel_key == row.kernel_key) out_.default_row = row;
  }
  if (best != nullptr) {
    if (out_.default_row && out_.default_row->kernel_key == best->kernel_key) out_.default_row = *best;
    MeasurementRecord row = *best;
    row.is_best = may_mark;
    sink_.record(row);
    out_.best = row;
  }
}

}  // namespace gqaforge::autotune::detail
