// Replaying stored rows: a try whose kernel the sink already holds (an interrupted run, or
// another tuner writing the same database) is not measured again; its row takes the try's
// place in the loop. Claims share the work between tuners on one sink.
#include <chrono>
#include <thread>

#include "autotune/problem_run.h"

namespace gqaforge::autotune::detail {

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

}  // namespace gqaforge::autotune::detail
