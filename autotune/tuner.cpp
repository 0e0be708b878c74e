// The tune loop.
#include "autotune/tuner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <future>
#include <limits>
#include <set>

#include "autotune/family_space.h"
#include "autotune/searcher.h"
#include "autotune/stop.h"
#include "core/log.h"
#include "core/progress.h"

namespace gqaforge::tune {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

using Clock = std::chrono::steady_clock;

/// One proposal on its way through compile and measurement.
struct Pending {
  std::optional<Point> point;  // none for the heuristic default when it is outside the space
  Candidate candidate;
  bool is_default = false;
};

/// Everything the loop keeps about one problem while it runs.
class ProblemRun {
 public:
  ProblemRun(Backend& backend, MeasurementSink& sink, const TuneOptions& options, const BackendInfo& info,
             int64_t run_id, Progress& progress, Clock::time_point sweep_start, TuneReport& report)
      : backend_(backend), sink_(sink), options_(options), info_(info), run_id_(run_id), progress_(progress),
        sweep_start_(sweep_start), report_(report) {}

  ProblemOutcome run(const AttentionProblem& problem, bool* time_budget_hit);

 private:
  std::vector<Pending> pull(size_t max_items);
  void process(const Pending& p, const CompileResult& compiled);
  void finish_try(const Pending& p, MeasurementRecord& row, double cost);
  MeasurementRecord base_row(const Candidate& c) const;
  void remeasure_winners();
  /// True when a stop condition holds, counting `pending` pulled but unfinished tries.
  bool stopped_after(size_t pending) const {
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
  ProblemOutcome out_;
  std::unique_ptr<Searcher> searcher_;
  SearchTracker tracker_;
  AnyStop stop_;
  std::set<std::string> measured_keys_;       // from earlier runs
  std::map<std::string, double> cost_by_config_;  // this run
  std::map<std::string, MeasurementRecord> ok_rows_;  // this run, by config
  std::set<std::string> in_flight_;           // configs pulled, not finished
  std::map<std::string, std::vector<Point>> deferred_;  // proposals waiting for an in-flight twin
  bool config_sharding_ = false;
  bool default_pending_ = true;
  uint64_t try_counter_ = 0;
};

MeasurementRecord ProblemRun::base_row(const Candidate& c) const {
  MeasurementRecord r;
  r.run_id = run_id_;
  r.env_key = info_.environment.key();
  r.problem = to_problem_record(c.problem);
  r.kernel_key = c.kernel_key;
  r.config = c.config;
  return r;
}

std::vector<Pending> ProblemRun::pull(size_t max_items) {
  std::vector<Pending> batch;
  while (batch.size() < max_items) {
    // Skipped tries count against the budget: stop pulling once it is spent.
    if (stopped_after(batch.size())) break;
    Pending p;
    std::string text;
    if (default_pending_) {
      default_pending_ = false;
      p.is_default = true;
      text = space_.default_config;
      p.point = space_.space.point_from_text(text);
      if (config_sharding_ && !options_.shard.owns(out_.problem.static_key() + "|" + out_.problem.name() + "|" + text)) {
        continue;
      }
    } else {
      std::optional<Point> point = searcher_->next();
      if (!point) break;
      p.point = point;
      text = space_.config_of(*point);
    }
    p.candidate.problem = out_.problem;
    p.candidate.family = space_.family;
    auto canonical = canonical_config(out_.problem, space_.family, text, info_.limits);
    p.candidate.config = canonical.ok() ? *canonical : text;
    // A config already tried in this run (the default proposed again) reports its cost; one
    // still in flight reports it when its try finishes.
    if (auto it = cost_by_config_.find(p.candidate.config); it != cost_by_config_.end()) {
      if (p.point && !p.is_default) searcher_->report(*p.point, it->second);
      continue;
    }
    if (in_flight_.count(p.candidate.config) != 0) {
      if (p.point && !p.is_default) deferred_[p.candidate.config].push_back(*p.point);
      continue;
    }
    auto key = backend_.kernel_key(out_.problem, space_.family, p.candidate.config);
    p.candidate.kernel_key = key.ok() ? *key : "";
    if (measured_keys_.count(p.candidate.kernel_key) != 0) {
      ++out_.skipped;
      tracker_.add_skipped();
      cost_by_config_[p.candidate.config] = std::numeric_limits<double>::quiet_NaN();
      if (p.point && !p.is_default) searcher_->report(*p.point, std::numeric_limits<double>::quiet_NaN());
      progress_.advance(1, "skipped (measured before)");
      continue;
    }
    if (!canonical.ok() || !key.ok()) {
      MeasurementRecord row = base_row(p.candidate);
      row.status = MeasureStatus::kRejected;
      row.message = !canonical.ok() ? canonical.status().message() : key.status().message();
      if (row.kernel_key.empty()) row.kernel_key = "invalid:" + p.candidate.config;
      finish_try(p, row, kInf);
      continue;
    }
    in_flight_.insert(p.candidate.config);
    batch.push_back(std::move(p));
  }
  return batch;
}

void ProblemRun::finish_try(const Pending& p, MeasurementRecord& row, double cost) {
  row.measured_at = utc_timestamp();
  sink_.record(row);
  ++out_.tried;
  ++out_.by_status[measure_status_name(row.status)];
  cost_by_config_[p.candidate.config] = cost;
  if (row.status == MeasureStatus::kOk) ok_rows_[p.candidate.config] = row;
  if (p.is_default) out_.default_row = row;
  tracker_.add(cost);
  tracker_.set_elapsed(std::chrono::duration<double>(Clock::now() - sweep_start_).count());
  if (p.point && !p.is_default) searcher_->report(*p.point, cost);
  in_flight_.erase(p.candidate.config);
  if (auto it = deferred_.find(p.candidate.config); it != deferred_.end()) {
    for (const Point& q : it->second) searcher_->report(q, cost);
    deferred_.erase(it);
  }
  progress_.advance(1, fmt::format("{} {}", measure_status_name(row.status), p.candidate.config));
}

void ProblemRun::process(const Pending& p, const CompileResult& compiled) {
  MeasurementRecord row = base_row(p.candidate);
  row.compile_ms = compiled.compile_ms;
  if (compiled.status == MeasureStatus::kOk) {
    if (compiled.cache_hit) {
      ++report_.compile_cache_hits;
    } else {
      ++report_.kernels_compiled;
      report_.compile_cpu_s += compiled.compile_ms / 1e3;
    }
  }
  row.registers = compiled.registers;
  row.shared_bytes = compiled.shared_bytes;
  row.spill_bytes = compiled.spill_bytes;
  if (compiled.status != MeasureStatus::kOk) {
    row.status = compiled.status;
    row.message = compiled.message;
    finish_try(p, row, kInf);
    return;
  }
  if (compiled.spill_bytes > 0) {
    row.status = MeasureStatus::kRejected;
    row.message = fmt::format("spills {} bytes to local memory", compiled.spill_bytes);
    finish_try(p, row, kInf);
    return;
  }
  if (compiled.registers > options_.max_registers) {
    row.status = MeasureStatus::kRejected;
    row.message = fmt::format("uses {} registers per thread, over the limit {}", compiled.registers,
                              options_.max_registers);
    finish_try(p, row, kInf);
    return;
  }
  MeasureOptions mo = options_.measure;
  mo.seed = options_.seed * 1000003ULL + ++try_counter_;
  MeasureResult m = timed_measure(p.candidate, mo);
  row.status = m.status;
  row.message = m.message;
  row.max_error = m.max_error;
  row.error_bound = m.error_bound;
  if (m.status == MeasureStatus::kOk) {
    row.median_us = m.median_us;
    row.min_us = m.min_us;
    row.stddev_us = m.stddev_us;
    row.repetitions = m.repetitions;
    fill_throughput(p.candidate.problem, row);
  }
  finish_try(p, row, m.status == MeasureStatus::kOk ? m.median_us : kInf);
}

void ProblemRun::remeasure_winners() {
  std::vector<MeasurementRecord> ranked;
  for (const auto& [config, row] : ok_rows_) ranked.push_back(row);
  std::sort(ranked.begin(), ranked.end(), [](const MeasurementRecord& a, const MeasurementRecord& b) {
    return a.median_us != b.median_us ? a.median_us < b.median_us : a.kernel_key < b.kernel_key;
  });
  if (ranked.size() > static_cast<size_t>(std::max(1, options_.remeasure_top))) {
    ranked.resize(static_cast<size_t>(std::max(1, options_.remeasure_top)));
  }
  // The heuristic default is re-measured too, so that the reported speedup over it compares
  // two timings of the same protocol.
  const size_t winners = ranked.size();
  if (out_.default_row && out_.default_row->status == MeasureStatus::kOk) {
    const bool listed = std::any_of(ranked.begin(), ranked.end(),
                                    [&](const MeasurementRecord& r) { return r.config == out_.default_row->config; });
    if (!listed) {
      if (auto it = ok_rows_.find(out_.default_row->config); it != ok_rows_.end()) ranked.push_back(it->second);
    }
  }
  if (ranked.empty()) return;
  std::vector<MeasurementRecord> again;
  for (size_t i = 0; i < ranked.size(); ++i) {
    MeasurementRecord row = ranked[i];
    Candidate c;
    c.problem = out_.problem;
    c.family = space_.family;
    c.config = row.config;
    c.kernel_key = row.kernel_key;
    MeasureOptions mo = options_.winner_measure;
    mo.seed = options_.seed * 1000003ULL + ++try_counter_;
    MeasureResult m = timed_measure(c, mo);
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
    if (m.status == MeasureStatus::kOk) fill_throughput(out_.problem, row);
    row.measured_at = utc_timestamp();
    again.push_back(row);
  }
  const MeasurementRecord* best = nullptr;
  for (const MeasurementRecord& row : again) {
    if (row.status == MeasureStatus::kOk && (best == nullptr || row.median_us < best->median_us)) best = &row;
  }
  // With config-level shards no process sees the whole space: the best is chosen after merging.
  const bool may_mark = !config_sharding_;
  for (MeasurementRecord& row : again) {
    row.is_best = may_mark && best == &row;
    sink_.record(row);
    if (out_.default_row && out_.default_row->config == row.config) out_.default_row = row;
  }
  if (best != nullptr) out_.best = *best;
}

ProblemOutcome ProblemRun::run(const AttentionProblem& problem, bool* time_budget_hit) {
  out_.problem = problem;
  out_.family = family_of(problem);
  auto space = make_family_space(problem, info_.limits);
  if (!space.ok()) {
    out_.stop_reason = space.status().message();
    return out_;
  }
  space_ = std::move(*space);
  out_.space_points = space_.space.cartesian_size();
  std::vector<Point> valid = space_.space.valid_points(&out_.constraint_rejections);
  // Sharding: exhaustive and random split each problem's configs; guided climbs need the whole
  // space, so a guided problem belongs to one shard as a whole.
  if (options_.shard.count > 1) {
    if (options_.strategy == "guided") {
      if (!options_.shard.owns(problem.static_key() + "|" + problem.name())) {
        out_.skipped_by_shard = true;
        return out_;
      }
    } else {
      config_sharding_ = true;
      std::vector<Point> mine;
      for (Point& p : valid) {
        if (options_.shard.owns(problem.static_key() + "|" + problem.name() + "|" + space_.config_of(p))) {
          mine.push_back(std::move(p));
        }
      }
      valid = std::move(mine);
    }
  }
  out_.valid_points = static_cast<int64_t>(valid.size());
  const ProblemRecord record = to_problem_record(problem);
  for (std::string& k : sink_.measured_keys(info_.environment.key(), record)) measured_keys_.insert(std::move(k));

  const FamilySpace* fs = &space_;
  auto made = make_searcher(options_.strategy, space_.space, std::move(valid),
                            [fs](const Point& p) { return fs->predict_us(p); }, options_.budget, options_.seed);
  if (!made.ok()) {
    out_.stop_reason = made.status().message();
    return out_;
  }
  searcher_ = std::move(*made);
  if (options_.budget > 0) stop_.add(std::make_unique<EvaluationBudget>(options_.budget));
  if (options_.patience > 0) stop_.add(std::make_unique<Patience>(options_.patience));
  if (options_.time_budget_s > 0) stop_.add(std::make_unique<TimeBudget>(options_.time_budget_s));
  tracker_.set_elapsed(std::chrono::duration<double>(Clock::now() - sweep_start_).count());

  const size_t batch_size = static_cast<size_t>(std::max(1, options_.batch_size));
  auto compile_async = [this](std::vector<Pending> batch) {
    return std::async(std::launch::async, [this, batch = std::move(batch)]() {
      std::vector<Candidate> candidates;
      for (const Pending& p : batch) candidates.push_back(p.candidate);
      return backend_.compile(candidates);
    });
  };
  auto stopped = [this]() { return stopped_after(0); };

  std::vector<Pending> current;
  std::future<std::vector<CompileResult>> current_compiled;
  while (true) {
    if (stopped()) {
      out_.stop_reason = stop_.reason();
      break;
    }
    if (current.empty()) {
      current = pull(batch_size);
      if (current.empty()) break;  // the searcher has finished
      current_compiled = compile_async(current);
    }
    std::vector<CompileResult> compiled = current_compiled.get();
    // Producer/consumer: the next batch compiles while this one is measured.
    std::vector<Pending> next = stopped() ? std::vector<Pending>{} : pull(batch_size);
    std::future<std::vector<CompileResult>> next_compiled;
    if (!next.empty()) next_compiled = compile_async(next);
    for (size_t i = 0; i < current.size(); ++i) {
      if (i > 0 && stopped()) break;
      process(current[i], i < compiled.size() ? compiled[i] : CompileResult{MeasureStatus::kCompileFailed,
                                                                             "the backend returned no result"});
    }
    current = std::move(next);
    current_compiled = std::move(next_compiled);
  }
  if (current_compiled.valid()) current_compiled.wait();
  if (out_.stop_reason.find("time budget") != std::string::npos) *time_budget_hit = true;
  remeasure_winners();
  return out_;
}

}  // namespace

ProblemRecord to_problem_record(const AttentionProblem& p) {
  ProblemRecord r;
  r.family = phase_name(p.phase);
  r.n_q_heads = p.n_q_heads;
  r.n_kv_heads = p.n_kv_heads;
  r.head_dim = p.head_dim;
  r.dtype = dtype_name(p.dtype);
  r.causal = p.causal;
  r.batch = p.batch;
  r.q_len = p.q_len;
  r.kv_len = p.kv_len;
  return r;
}

void fill_throughput(const AttentionProblem& p, MeasurementRecord& row) {
  if (row.median_us <= 0) return;
  const double seconds = row.median_us * 1e-6;
  row.tflops = p.flops() / seconds / 1e12;
  if (p.phase == Phase::kDecode) {
    const double kv_bytes = 2.0 * p.batch * p.kv_len * p.n_kv_heads * p.head_dim * dtype_bytes(p.dtype);
    row.tbps = kv_bytes / seconds / 1e12;
  }
}

std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Tuner::Tuner(Backend& backend, MeasurementSink& sink, TuneOptions options)
    : backend_(backend), sink_(sink), options_(std::move(options)) {}

Result<TuneReport> Tuner::run(const std::vector<AttentionProblem>& problems) {
  bool known = false;
  for (const char* s : kStrategies) known = known || options_.strategy == s;
  if (!known) return invalid_argument("unknown strategy '{}' (expected exhaustive, random or guided)", options_.strategy);
  GQF_ASSIGN_OR_RETURN(BackendInfo info, backend_.info());
  TuneReport report;
  report.env_key = info.environment.key();
  TuneRunRecord run;
  run.env_key = report.env_key;
  run.command_line = options_.command_line;
  run.strategy = options_.strategy;
  run.started_at = utc_timestamp();
  report.run_id = sink_.begin_run(info.environment, run);

  // Planned tries for the progress bar (guided: an estimate, corrected as it goes).
  int64_t planned = 0;
  for (const AttentionProblem& p : problems) {
    auto fs = make_family_space(p, info.limits);
    if (!fs.ok()) continue;
    const int64_t valid = static_cast<int64_t>(fs->space.valid_points().size());
    int64_t n = options_.strategy == "guided" ? std::min<int64_t>(valid, 6 + valid * 3 / 100 + 60) : valid;
    if (options_.budget > 0) n = std::min(n, options_.budget);
    planned += n + 1;
  }
  Progress progress("tuning", planned, options_.show_progress);
  const Clock::time_point start = Clock::now();
  for (const AttentionProblem& p : problems) {
    if (report.time_budget_hit) break;
    ProblemRun pr(backend_, sink_, options_, info, report.run_id, progress, start, report);
    report.problems.push_back(pr.run(p, &report.time_budget_hit));
  }
  progress.finish();
  report.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  sink_.end_run(report.run_id);
  return report;
}

}  // namespace gqaforge::tune
