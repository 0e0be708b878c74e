// WorkerBackend: fault isolation for measurements. A kernel that faults (illegal address) or
// hangs leaves its CUDA context unusable, so measurements run in a child process (the gqaforge
// binary re-executed as `gqaforge tune-worker`, protocol in worker_protocol.h). When the
// child dies, the variant it was measuring is recorded as launch_failed; when it does not
// answer in time, it is killed and the variant is recorded as timeout; either way the next
// measurement starts a fresh child. Compiling and kernel keys stay in this process, with a
// local backend built from the device description the worker reports.
//
// The child never outlives its parent: it gets SIGKILL when the thread that started it dies
// (PR_SET_PDEATHSIG; start it from the thread that lives as long as the backend, as the tune
// loop does), so a tuner killed while its worker hangs in a kernel leaves no process holding
// the GPU. It ignores SIGINT; when the parent is interrupted (core/interrupt.h) the try in
// flight is abandoned (MeasureResult::interrupted) and the child is killed.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "autotune/backend.h"

namespace gqaforge::autotune {

struct WorkerOptions {
  std::vector<std::string> command;  // argv of the worker, e.g. {"/path/gqaforge", "tune-worker", "--device", "0"}
  double start_timeout_s = 120;      // answer to "hello" (context creation, driver start)
  double measure_timeout_s = 120;    // one gate + timing
  codegen::Target target = codegen::Target::kCuda;  // what the worker's backend runs kernels on
};

class WorkerBackend final : public Backend {
 public:
  /// `make_local` builds the in-process backend used for kernel keys and compiling, from the
  /// device description the worker reports.
  using LocalFactory = std::function<Result<std::unique_ptr<Backend>>(const BackendInfo&)>;
  WorkerBackend(WorkerOptions options, LocalFactory make_local);
  ~WorkerBackend() override;
  WorkerBackend(const WorkerBackend&) = delete;
  WorkerBackend& operator=(const WorkerBackend&) = delete;

  std::string name() const override { return "worker"; }
  codegen::Target target() const override { return options_.target; }
  Result<BackendInfo> info() override;
  Result<std::string> kernel_key(const codegen::AttentionProblem& problem, const codegen::KernelFamily& family,
                                 const codegen::KernelConfig& config) override;
  std::vector<CompileResult> compile(const std::vector<Candidate>& candidates) override;
  MeasureResult measure(const Candidate& candidate, const MeasureOptions& options) override;

  /// Workers started so far (1 + restarts).
  int starts() const { return starts_; }

 private:
  Status start();
  void stop(bool kill_first);
  /// Sends one line and reads one line back within `timeout_s`; status unavailable when the
  /// worker died (message says how), resource_exhausted on timeout.
  Result<std::string> exchange(const std::string& line, double timeout_s);
  std::string exit_description();

  WorkerOptions options_;
  LocalFactory make_local_;
  std::unique_ptr<Backend> local_;
  std::optional<BackendInfo> info_;
  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  std::string buffer_;  // bytes read past the last line
  int starts_ = 0;
  int64_t next_id_ = 1;
  int last_wait_status_ = 0;
};

}  // namespace gqaforge::autotune
