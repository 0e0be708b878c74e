// Timing protocol implementation.
#include "backends/cuda/timing.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/stats.h"

namespace gqaforge::backends::cuda {

Result<TimingStats> time_calls(const std::function<Status(int)>& enqueue, CUstream stream,
                               const TimingOptions& options) {
  GQF_ASSIGN_OR_RETURN(runtime::Event start, runtime::Event::create());
  GQF_ASSIGN_OR_RETURN(runtime::Event stop, runtime::Event::create());
  int call = 0;
  for (int i = 0; i < options.warmup_calls; ++i) GQF_RETURN_IF_ERROR(enqueue(call++));
  // One call, timed, to size the repetitions.
  GQF_RETURN_IF_ERROR(start.record(stream));
  GQF_RETURN_IF_ERROR(enqueue(call++));
  GQF_RETURN_IF_ERROR(stop.record(stream));
  GQF_RETURN_IF_ERROR(stop.synchronize());
  GQF_ASSIGN_OR_RETURN(float single_ms, stop.elapsed_ms_since(start));
  int calls = static_cast<int>(std::ceil(options.min_rep_ms / std::max(single_ms, 1e-4f)));
  calls = std::clamp(calls, 1, options.max_calls_per_rep);

  auto run_rep = [&]() -> Status {
    for (int i = 0; i < calls; ++i) GQF_RETURN_IF_ERROR(enqueue(call++));
    return ok_status();
  };
  runtime::GraphExec graph;
  if (options.use_graph) {
    // The graph replays the same call indices each time; buffers rotate within it.
    GQF_ASSIGN_OR_RETURN(graph, runtime::GraphExec::capture(stream, run_rep));
    GQF_RETURN_IF_ERROR(graph.launch(stream));  // warm replay
  }
  std::vector<double> per_call_us;
  for (int r = 0; r < options.repetitions; ++r) {
    GQF_RETURN_IF_ERROR(start.record(stream));
    if (options.use_graph) {
      GQF_RETURN_IF_ERROR(graph.launch(stream));
    } else {
      GQF_RETURN_IF_ERROR(run_rep());
    }
    GQF_RETURN_IF_ERROR(stop.record(stream));
    GQF_RETURN_IF_ERROR(stop.synchronize());
    GQF_ASSIGN_OR_RETURN(float ms, stop.elapsed_ms_since(start));
    per_call_us.push_back(ms * 1e3 / calls);
  }
  const SampleStats stats = sample_stats(std::move(per_call_us));
  TimingStats s;
  s.repetitions = options.repetitions;
  s.calls_per_rep = calls;
  s.min_us = stats.min;
  s.max_us = stats.max;
  s.median_us = stats.median;
  s.stddev_us = stats.stddev;
  return s;
}

}  // namespace gqaforge::backends::cuda
