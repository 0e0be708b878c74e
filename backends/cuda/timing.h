// The timing protocol, written once: warm-up, calls per repetition grown until a repetition
// lasts at least `min_rep_ms`, the repetition captured as a CUDA graph (launch gaps out of the
// numbers for microsecond kernels), repetitions timed with events, median/min/stddev per call.
// The caller rotates input buffers (the enqueue callback gets the call index) so that the
// working set exceeds the L2 cache.
#pragma once

#include <functional>

#include "runtime/handles.h"

namespace gqaforge::backends::cuda {

struct TimingOptions {
  int warmup_calls = 3;     // untimed calls first (module load, caches, clocks)
  double min_rep_ms = 2.0;  // a repetition lasts at least this long
  int max_calls_per_rep = 200;
  int repetitions = 15;   // timed repetitions; the median is reported
  bool use_graph = true;  // capture each repetition as a CUDA graph
};

struct TimingStats {
  double median_us = 0;  // per call
  double min_us = 0;
  double max_us = 0;
  double stddev_us = 0;
  int repetitions = 0;
  int calls_per_rep = 0;
};

/// Times `enqueue(i)` (which launches call number i on `stream`).
Result<TimingStats> time_calls(const std::function<Status(int)>& enqueue, CUstream stream,
                               const TimingOptions& options = {});

}  // namespace gqaforge::backends::cuda
