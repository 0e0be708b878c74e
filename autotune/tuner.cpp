// The tune loop.
#include "autotune/tuner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <future>
#include <limits>
#include <numeric>
#include <set>
#include <thread>

#include "autotune/family_space.h"
#include "autotune/searcher.h"
#include "autotune/stop.h"
#include "autotune/shard.h"
#include "core/interrupt.h"
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
  std::string text;  // the candidate's canonical config: rows, bookkeeping, messages
  bool is_default = false;
  std::optional<MeasurementRecord> stored;  // reused instead of compiled and measured
};

/// The gate/timing seed of one measurement: fixed by the sweep's seed and the kernel, so a
/// resumed sweep measures a variant with the inputs the uninterrupted one would have used.
uint64_t measure_seed(uint64_t seed, const std::string& purpose, const std::string& kernel_key) {
  return shard_hash(fmt::format("{} {} {}", seed, purpose, kernel_key)) >> 1;
}

/// Ok rows first, fastest first; ties by kernel key.
bool faster(const MeasurementRecord& a, const MeasurementRecord& b) {
  return a.median_us != b.median_us ? a.median_us < b.median_us : a.kernel_key < b.kernel_key;
}

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
  void reuse_try(const Pending& p);
  /// Claims the try's variant; false when its result came from another tuner (reused) or the
  /// sweep is stopping.
  bool claimed(const Pending& p);
  void account(const Pending& p, const MeasurementRecord& row, double cost);
  MeasurementRecord base_row(const Pending& p) const;
  void remeasure_winners();
  /// Re-reads what the sink holds for the problem (earlier runs, concurrent tuners).
  void refresh_stored();
  /// A stored row that stands for a try instead of measuring it.
  const MeasurementRecord* reusable(const std::string& kernel_key) const;
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
  std::map<std::string, MeasurementRecord> stored_;   // by kernel key: what the sink holds
  std::map<std::string, double> cost_by_config_;      // this run
  std::map<std::string, MeasurementRecord> ok_rows_;  // this run (measured or reused), by kernel key
  std::set<std::string> in_flight_;                   // configs pulled, not finished
  std::map<std::string, std::vector<Point>> deferred_;  // proposals waiting for an in-flight twin
  bool config_sharding_ = false;
  bool default_pending_ = true;
};

MeasurementRecord ProblemRun::base_row(const Pending& p) const {
  MeasurementRecord r;
  r.run_id = run_id_;
  r.env_key = info_.environment.key();
  r.problem = record_;
  r.kernel_key = p.candidate.kernel_key;
  r.config = p.text;
  return r;
}

void ProblemRun::refresh_stored() {
  std::vector<MeasurementRecord> rows = sink_.stored_rows(info_.environment.key(), record_);
  stored_.clear();
  for (MeasurementRecord& r : rows) {
    std::string key = r.kernel_key;
    stored_.emplace(std::move(key), std::move(r));
  }
}

const MeasurementRecord* ProblemRun::reusable(const std::string& kernel_key) const {
  auto it = stored_.find(kernel_key);
  if (it == stored_.end()) return nullptr;
  const MeasureStatus s = it->second.status;
  if (options_.retry_failed && (s == MeasureStatus::kLaunchFailed || s == MeasureStatus::kTimeout)) return nullptr;
  return &it->second;
}

std::vector<Pending> ProblemRun::pull(size_t max_items) {
  std::vector<Pending> batch;
  if (aborted()) return batch;
  while (batch.size() < max_items) {
    if (stopped_after(batch.size())) break;
    Pending p;
    p.candidate.problem = out_.problem;
    p.candidate.family = space_.family;
    if (default_pending_) {
      default_pending_ = false;
      p.is_default = true;
      p.candidate.config = space_.default_config;
      p.point = space_.point_of(p.candidate.config);
      p.text = p.candidate.config_text();
      if (config_sharding_ &&
          !options_.shard.owns(out_.problem.static_key() + "|" + out_.problem.name() + "|" + p.text)) {
        continue;
      }
    } else {
      std::optional<Point> point = searcher_->next();
      if (!point) break;
      p.point = point;
      p.candidate.config = space_.config(*point);
      p.text = p.candidate.config_text();
    }
    const Status valid = space_.family->validate(out_.problem, p.candidate.config, info_.limits);
    // A config already tried in this run (the default proposed again) reports its cost; one
    // still in flight reports it when its try finishes.
    if (auto it = cost_by_config_.find(p.text); it != cost_by_config_.end()) {
      if (p.point && !p.is_default) searcher_->report(*p.point, it->second);
      continue;
    }
    if (in_flight_.count(p.text) != 0) {
      if (p.point && !p.is_default) deferred_[p.text].push_back(*p.point);
      continue;
    }
    auto key = backend_.kernel_key(out_.problem, *space_.family, p.candidate.config);
    p.candidate.kernel_key = key.ok() ? *key : "";
    if (!valid.ok() || !key.ok()) {
      MeasurementRecord row = base_row(p);
      row.status = MeasureStatus::kRejected;
      row.message = !valid.ok() ? valid.message() : key.status().message();
      if (row.kernel_key.empty()) row.kernel_key = "invalid:" + p.text;
      p.candidate.kernel_key = row.kernel_key;
      if (const MeasurementRecord* stored = reusable(row.kernel_key)) {
        p.stored = *stored;
        reuse_try(p);
      } else {
        finish_try(p, row, kInf);
      }
      continue;
    }
    // A stored result takes the place of the try in the pipeline, so the searcher receives
    // it at the moment the measurement would have arrived.
    if (const MeasurementRecord* stored = reusable(p.candidate.kernel_key)) p.stored = *stored;
    in_flight_.insert(p.text);
    batch.push_back(std::move(p));
  }
  return batch;
}

void ProblemRun::account(const Pending& p, const MeasurementRecord& row, double cost) {
  ++out_.by_status[measure_status_name(row.status)];
  cost_by_config_[p.text] = cost;
  if (row.status == MeasureStatus::kOk) ok_rows_[row.kernel_key] = row;
  if (p.is_default) out_.default_row = row;
  tracker_.add(cost);
  tracker_.set_elapsed(std::chrono::duration<double>(Clock::now() - sweep_start_).count());
  if (p.point && !p.is_default) searcher_->report(*p.point, cost);
  in_flight_.erase(p.text);
  if (auto it = deferred_.find(p.text); it != deferred_.end()) {
    for (const Point& q : it->second) searcher_->report(q, cost);
    deferred_.erase(it);
  }
}

void ProblemRun::finish_try(const Pending& p, MeasurementRecord& row, double cost) {
  row.measured_at = utc_timestamp();
  sink_.record(row);
  ++out_.tried;
  account(p, row, cost);
  progress_.advance(1, fmt::format("{} {}", measure_status_name(row.status), p.text));
}

void ProblemRun::reuse_try(const Pending& p) {
  const MeasurementRecord& row = *p.stored;
  ++out_.skipped;
  account(p, row, row.status == MeasureStatus::kOk ? row.median_us : kInf);
  progress_.advance(1, fmt::format("reused {} {}", measure_status_name(row.status), p.text));
}

bool ProblemRun::claimed(const Pending& p) {
  for (int polls = 0;; ++polls) {
    MeasurementRecord row;
    const Claim c = sink_.claim(info_.environment.key(), record_, p.candidate.kernel_key, &row);
    if (c == Claim::kGranted) return true;
    if (c == Claim::kDone) {
      stored_.insert_or_assign(row.kernel_key, row);
      if (const MeasurementRecord* stored = reusable(p.candidate.kernel_key)) {
        Pending reused = p;
        reused.stored = *stored;
        reuse_try(reused);
        return false;
      }
      return true;  // a failed row --retry-failed measures again
    }
    if (aborted()) {
      in_flight_.erase(p.text);
      return false;
    }
    if (polls == 0) ++out_.waited;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void ProblemRun::process(const Pending& p, const CompileResult& compiled) {
  if (p.stored) {
    reuse_try(p);
    return;
  }
  MeasurementRecord row = base_row(p);
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
  // Another tuner writing the same database may be measuring this variant, or may have just
  // stored it: wait for its row rather than measuring it twice.
  if (!claimed(p)) return;
  MeasureOptions mo = options_.measure;
  mo.seed = measure_seed(options_.seed, "try", p.candidate.kernel_key);
  MeasureResult m = timed_measure(p.candidate, mo);
  if (m.interrupted) {  // abandoned: nothing to record, the resumed sweep measures it
    in_flight_.erase(p.text);
    sink_.release_claims();
    return;
  }
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

ProblemOutcome ProblemRun::run(const AttentionProblem& problem, bool* time_budget_hit) {
  out_.problem = problem;
  out_.family = family_for(problem).name();
  record_ = to_problem_record(problem);
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
        if (options_.shard.owns(problem.static_key() + "|" + problem.name() + "|" + space_.config_text(p))) {
          mine.push_back(std::move(p));
        }
      }
      valid = std::move(mine);
    }
  }
  out_.valid_points = static_cast<int64_t>(valid.size());
  progress_.set_item(problem.name());
  // What earlier runs stored, read once: a variant another tuner stores later is found when
  // this one claims it.
  refresh_stored();

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
  // Compiles the batch's tries that have no stored result; results line up with the batch
  // (a reused try gets an empty result it never reads).
  auto compile_async = [this](const std::vector<Pending>& batch) {
    std::vector<Candidate> candidates;
    std::vector<size_t> index;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].stored) continue;
      candidates.push_back(batch[i].candidate);
      index.push_back(i);
    }
    const size_t n = batch.size();
    return std::async(std::launch::async, [this, n, candidates = std::move(candidates), index = std::move(index)]() {
      std::vector<CompileResult> out(n);
      if (candidates.empty()) return out;
      std::vector<CompileResult> compiled = backend_.compile(candidates);
      for (size_t j = 0; j < index.size(); ++j) {
        out[index[j]] = j < compiled.size() ? compiled[j]
                                            : CompileResult{MeasureStatus::kCompileFailed, "the backend returned no result"};
      }
      return out;
    });
  };
  auto stopped = [this]() { return stopped_after(0); };

  std::vector<Pending> current;
  std::future<std::vector<CompileResult>> current_compiled;
  while (true) {
    if (stopped()) {
      out_.stop_reason = interrupted() ? "interrupted" : aborted() ? "" : stop_.reason();
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
      process(current[i], compiled[i]);
    }
    current = std::move(next);
    current_compiled = std::move(next_compiled);
  }
  if (current_compiled.valid()) current_compiled.wait();
  sink_.release_claims();
  if (out_.stop_reason.find("time budget") != std::string::npos) {
    // The search was cut short, not finished: like an interrupt, leave the winners to the
    // resumed sweep (re-measuring a partial top list now would leave rows that an
    // uninterrupted sweep does not have).
    *time_budget_hit = true;
    return out_;
  }
  remeasure_winners();
  return out_;
}

}  // namespace

ProblemRecord to_problem_record(const AttentionProblem& p) {
  ProblemRecord r;
  r.family = family_for(p).name();
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
  if (family_for(p).memory_bound()) {
    const double kv_bytes =
        2.0 * double(p.batch) * double(p.kv_len) * p.n_kv_heads * p.head_dim * dtype_bytes(p.dtype);
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
  GQF_RETURN_IF_ERROR(sink_.sink_status());

  // Planned tries for the progress bar (guided: an estimate, corrected after every problem).
  std::vector<int64_t> planned;
  for (const AttentionProblem& p : problems) {
    auto fs = make_family_space(p, info.limits);
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
                                          "same command again to resume)", s.message()));
    }
  }
  progress.finish();
  report.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  report.interrupted = interrupted();
  // An interrupted run stays unfinished (finished_at empty), as after a kill.
  if (!report.interrupted) sink_.end_run(report.run_id);
  return report;
}

}  // namespace gqaforge::tune
