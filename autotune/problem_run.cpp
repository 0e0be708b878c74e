// The tune loop on one problem: the family's space, the searcher's proposals (the heuristic
// default first), and the pipeline that compiles the next batch while the current one is
// measured, classifying and recording every try.
#include <algorithm>
#include <chrono>
#include <future>

#include "autotune/problem_run.h"
#include "autotune/tune_rows.h"
#include "core/time.h"

namespace gqaforge::autotune::detail {

MeasurementRecord ProblemRun::base_row(const Pending& p) const {
  MeasurementRecord r;
  r.run_id = run_id_;
  r.env_key = info_.environment.key();
  r.problem = record_;
  r.kernel_key = p.candidate.kernel_key;
  r.config = p.text;
  return r;
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
    row.message =
        fmt::format("uses {} registers per thread, over the limit {}", compiled.registers, options_.max_registers);
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

ProblemOutcome ProblemRun::run(const codegen::AttentionProblem& problem, bool* time_budget_hit) {
  out_.problem = problem;
  out_.family = codegen::family_for(problem, backend_.target()).name();
  record_ = to_problem_record(problem, backend_.target());
  auto space = make_family_space(problem, info_.limits, backend_.target());
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
  auto made = make_searcher(
      options_.strategy, space_.space, std::move(valid), [fs](const Point& p) { return fs->predict_us(p); },
      options_.budget, options_.seed);
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
        out[index[j]] = j < compiled.size()
                            ? compiled[j]
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

}  // namespace gqaforge::autotune::detail
